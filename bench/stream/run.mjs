/**
 * Model-stream benchmark (issue 5): what the gateway's stream enforcement costs.
 * @bench needs-server — it starts its own gateway (the production bundle in Miniflare) and mock provider.
 *
 *   node bench/stream/run.mjs [--events 100000] [--rounds 5] [--ttfb 60] [--no-build]
 *
 * 1. Builds the Worker as it deploys (`wrangler deploy --dry-run --outdir bench/out/stream-dist`), runs that
 *    bundle in Miniflare with a local KV seeded like test/helpers/fixtures.ts (head + snapshot keys,
 *    src/state/kv-layout.ts) and `FRESHNESS=kv`, and starts the mock provider (test/setup/mock-provider.ts).
 * 2. Time to first byte of a streamed chat completion: the mock provider called directly vs through
 *    `POST /models/support-bot/v1/chat/completions` (decide, rewrite, forward, filter). Interleaved pairs;
 *    "added" is the median of the per-pair differences.
 * 3. Long-stream throughput: `--events` text deltas plus two tool calls (one withheld), read to the end, directly
 *    and through the gateway, in MB/s of what the client receives.
 *    Reference for 2 and 3: the same stream through the agent route (`/agents/...`, workflow upstream = the mock
 *    provider), the gateway's plain streaming proxy with no rewrite and no filter (src/proxy/pump.ts, chunks
 *    unchanged); and for 3, a bare Worker that pipes the provider's stream through an identity JavaScript
 *    `TransformStream`, which is what the gateway's filter used before the pump.
 * 4. The pure filter in Node (esbuild bundle of src/proxy/models): the same long streams of each API, fed in
 *    16 KiB chunks through `sseRelay` (parse, filter, encode), in MB/s of input.
 * Loopback only; everything it starts is stopped at the end. Writes bench/stream/results.json.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import { build, load, OUT, ROOT } from "../build.mjs";
import { oneWorker } from "../miniflare-options.mjs";
import { figure, machine, median, table, workerdVersion } from "../report.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: opt } = parseArgs({
  options: {
    events: { type: "string", default: "100000" },
    rounds: { type: "string", default: "5" },
    ttfb: { type: "string", default: "60" },
    "no-build": { type: "boolean", default: false },
  },
});
const EVENTS = Number(opt.events);
const ROUNDS = Number(opt.rounds);
const TTFB_PAIRS = Number(opt.ttfb);
const MB = 1e6;
const log = (s) => process.stderr.write(`${s}\n`);

const [supportPath] = await build(["bench/stream/support.ts"]);
const S = await load(supportPath);
const dist = join(OUT, "stream-dist");
if (!opt["no-build"]) {
  log("building the Worker bundle (wrangler deploy --dry-run)...");
  execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", dist], { cwd: ROOT, stdio: "ignore" });
}

const provider = await S.startMockProvider();
const compatibilityDate = /compatibility_date\s*=\s*"([^"]+)"/.exec(
  readFileSync(join(ROOT, "wrangler.toml"), "utf8"),
)[1];
const mf = new Miniflare(
  oneWorker({
    scriptPath: join(dist, "index.js"),
    modules: true,
    compatibilityDate,
    kvNamespaces: ["STATE"],
    durableObjects: { CONTROL: { className: "ControlPlane", useSQLite: true } },
    bindings: { REFRESH_INTERVAL_MS: "60000", FRESHNESS: "kv" },
    // The Worker logs one JSON line per request; drained here so the terminal shows only the figures.
    handleRuntimeStdio(stdout, stderr) {
      stdout.resume();
      stderr.resume();
    },
  }),
);

// The floor of any JS stream transform in workerd: a Worker that pipes the provider's stream through an identity
// TransformStream, with no parsing at all. The filter cannot be cheaper than this.
const floor = new Miniflare(
  oneWorker({
    modules: true,
    compatibilityDate,
    bindings: { PROVIDER: provider.url },
    script: `export default {
    async fetch(req, env) {
      const up = await fetch(env.PROVIDER + "/v1/chat/completions", { method: "POST", headers: req.headers, body: req.body });
      return new Response(up.body.pipeThrough(new TransformStream()), up);
    },
  };`,
  }),
);

try {
  const gateway = await mf.ready;
  const floorUrl = await floor.ready;
  const release = S.manifest("support-bot", "v1", provider.url, {
    model: { provider: "openai", name: "gpt-bench", baseUrl: `${provider.url}/v1`, params: { temperature: 0.2 } },
    // The agent route to the same provider: the gateway's plain streaming proxy, no rewrite and no filter.
    workflows: { default: { upstream: `${provider.url}/v1` } },
  });
  const snap = await S.snapshot(1, {
    "support-bot": { releases: [release], pointers: { active: "v1", fallback: "off" } },
  });
  const kv = await mf.getKVNamespace("STATE");
  await kv.put(S.snapshotKey(1), JSON.stringify(snap));
  await kv.put(S.HEAD_KEY, JSON.stringify({ revision: 1, key: S.snapshotKey(1), publishedAt: snap.publishedAt }));

  const chatBody = JSON.stringify({ model: "x", stream: true, messages: [{ role: "user", content: "hi" }] });
  const direct = new URL("/v1/chat/completions", provider.url);
  const viaGateway = new URL("/models/support-bot/v1/chat/completions", gateway);
  const viaProxy = new URL("/agents/support-bot/chat/completions", gateway);
  /** One streamed request: ms to the first body byte, ms to the end, bytes received. */
  async function timed(url, headers) {
    const t0 = performance.now();
    const res = await fetch(url, {
      method: "POST",
      body: chatBody,
      headers: { "content-type": "application/json", ...headers },
    });
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
    const reader = res.body.getReader();
    let first = null;
    let bytes = 0;
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      first ??= performance.now() - t0;
      bytes += r.value.byteLength;
    }
    return { first, total: performance.now() - t0, bytes };
  }

  log("warming up...");
  for (let i = 0; i < 20; i++) await timed(viaGateway, { "x-mock-tools": "search_kb,drop_db" });

  log(`time to first byte: ${TTFB_PAIRS} interleaved pairs...`);
  const short = { "x-mock-text": "Hello", "x-mock-tools": "search_kb" };
  const ttfbDirect = [];
  const ttfbGateway = [];
  const ttfbProxy = [];
  const added = [];
  for (let i = 0; i < TTFB_PAIRS; i++) {
    const d = (await timed(direct, short)).first;
    const g = (await timed(viaGateway, short)).first;
    ttfbProxy.push((await timed(viaProxy, short)).first);
    ttfbDirect.push(d);
    ttfbGateway.push(g);
    added.push(g - d);
  }

  log(`long stream: ${EVENTS} events × ${ROUNDS} rounds...`);
  const long = {
    "x-mock-text": "lorem ipsum dolor ",
    "x-mock-repeat": String(EVENTS),
    "x-mock-tools": "search_kb,drop_db",
  };
  const mbpsDirect = [];
  const mbpsGateway = [];
  const mbpsProxy = [];
  const mbpsFloor = [];
  let streamBytes = 0;
  const mbps = (t) => t.bytes / MB / (t.total / 1000);
  for (let r = 0; r < ROUNDS; r++) {
    const d = await timed(direct, long);
    streamBytes = d.bytes;
    mbpsDirect.push(mbps(d));
    mbpsGateway.push(mbps(await timed(viaGateway, long)));
    mbpsProxy.push(mbps(await timed(viaProxy, long)));
    mbpsFloor.push(mbps(await timed(floorUrl, long)));
  }

  log("pure filter in Node...");
  const policy = { allowed: new Set(["search_kb", "send_email", "issue_refund"]), approval: new Set() };
  const pure = {};
  for (const [api, path, filter] of [
    ["chat", "/v1/chat/completions", S.chatStreamFilter],
    ["responses", "/v1/responses", S.responsesStreamFilter],
    ["messages", "/v1/messages", S.messagesStreamFilter],
  ]) {
    // Once more if the first try meets a kept-alive connection the provider has closed (ECONNRESET under load).
    const get = () =>
      fetch(new URL(path, provider.url), {
        method: "POST",
        body: JSON.stringify({ model: "x", stream: true, max_tokens: 5, input: "hi", messages: [] }),
        headers: { "content-type": "application/json", ...long },
      });
    const res = await get().catch(() => get());
    const bytes = new Uint8Array(await res.arrayBuffer());
    const chunks = [];
    for (let i = 0; i < bytes.length; i += 16_384) chunks.push(bytes.subarray(i, i + 16_384));
    pure[api] = [];
    for (let r = 0; r < ROUNDS + 1; r++) {
      const gate = new S.ToolGate(policy);
      // The relay the gateway's pump drives (Node has no IdentityTransformStream): parse, filter, encode.
      const relay = S.sseRelay(filter(gate));
      const enc = new TextEncoder();
      let out = 0;
      const t0 = performance.now();
      for (const chunk of chunks) out += enc.encode(relay.chunk(chunk)).length;
      out += enc.encode(relay.end()).length;
      const s = (performance.now() - t0) / 1000;
      if (out === 0) throw new Error(`${api}: the filter sent nothing`);
      if (gate.blocked.length !== 1) throw new Error(`${api}: expected one withheld call, got ${gate.blocked}`);
      if (r > 0) pure[api].push(bytes.length / MB / s); // round 0 warms the JIT
    }
    pure[api].bytes = bytes.length;
  }

  const figures = [
    figure("TTFB direct to mock provider", ttfbDirect, "ms"),
    figure("TTFB through the gateway", ttfbGateway, "ms"),
    figure("TTFB added by the gateway (per pair)", added, "ms"),
    figure("TTFB through the plain agent proxy (reference)", ttfbProxy, "ms"),
    figure(`long stream direct (${(streamBytes / MB).toFixed(1)} MB)`, mbpsDirect, "MB/s"),
    figure("long stream through the gateway", mbpsGateway, "MB/s"),
    figure("long stream through the plain agent proxy (reference)", mbpsProxy, "MB/s"),
    figure("long stream through an identity JS TransformStream in workerd (floor)", mbpsFloor, "MB/s"),
    ...Object.entries(pure).map(([api, v]) =>
      figure(`pure ${api} filter in Node (${(v.bytes / MB).toFixed(1)} MB)`, v, "MB/s"),
    ),
  ];
  const results = {
    machine: machine(),
    node: process.version,
    workerd: workerdVersion(),
    date: new Date().toISOString(),
    events: EVENTS,
    rounds: ROUNDS,
    figures,
  };
  writeFileSync(join(HERE, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log(table(figures));
  console.log(`median TTFB added: ${median(added).toFixed(2)} ms; wrote bench/stream/results.json`);
} finally {
  await mf.dispose();
  await floor.dispose();
  provider.server.closeAllConnections?.();
  await new Promise((resolve) => provider.server.close(resolve));
}
