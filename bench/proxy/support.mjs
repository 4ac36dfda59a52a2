/**
 * What bench/proxy/run.mjs and bench/proxy/ab.mjs share: building a Worker as it deploys, the local upstream and
 * model provider, the Workers in Miniflare's own HTTP server, seeding the gateway, and the load and CPU meters.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import autocannon from "autocannon";
import { Miniflare } from "miniflare";
import { ROOT } from "../build.mjs";
import { oneWorker } from "../miniflare-options.mjs";

export const CONNECTIONS = 32;
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
export const TOKEN = "bench-admin-token";
export const compatibilityDate = /compatibility_date\s*=\s*"([^"]+)"/.exec(
  readFileSync(join(ROOT, "wrangler.toml"), "utf8"),
)[1];

// ---- build, as deployed --------------------------------------------------------------------------------------
/** `wrangler deploy --dry-run --outdir`, with the bundle's size as wrangler and as zlib see it. */
export function dryRun(outdir, args = []) {
  const out = execFileSync("npx", ["wrangler", "deploy", ...args, "--dry-run", "--outdir", outdir], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" },
  });
  const m = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(out);
  // Our own measure too: gzip (default level) of every module file wrangler wrote, maps excluded.
  const files = readdirSync(outdir).filter((f) => /\.(m?js|wasm)$/.test(f));
  const raw = files.reduce((n, f) => n + statSync(join(outdir, f)).size, 0);
  const gz = files.reduce((n, f) => n + gzipSync(readFileSync(join(outdir, f))).length, 0);
  return { wranglerKiB: m ? Number(m[1]) : null, wranglerGzipKiB: m ? Number(m[2]) : null, raw, gz };
}

// ---- the upstream and the model provider (plain Node, loopback) ----------------------------------------------
/** A streamed chat completion as OpenAI sends it: 6 events (the last says `[DONE]`), ending with `last`. */
export function chatSse(last) {
  const chunk = (delta, finish = null) =>
    `data: ${JSON.stringify({
      id: "chatcmpl-bench",
      object: "chat.completion.chunk",
      created: 1_700_000_000,
      model: "gpt-bench",
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    })}\n\n`;
  return [
    chunk({ role: "assistant", content: "" }),
    chunk({ content: "Hello" }),
    chunk({ content: " from" }),
    chunk({ content: ` ${last}` }),
    chunk({}, "stop"),
    "data: [DONE]\n\n",
  ];
}

/** A JSON upstream (declared length) and an OpenAI-style SSE provider (6 events, one write each). */
export async function startServers() {
  const UPSTREAM_BODY = JSON.stringify({ ok: true, answer: "hello from the upstream", n: 42 });
  const upstream = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(UPSTREAM_BODY) });
      res.end(UPSTREAM_BODY);
    });
  });
  const SSE = chatSse("the provider.");
  const provider = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      for (const e of SSE) res.write(e); // one write per event: a streamed answer, not one buffer
      res.end();
    });
  });
  const listen = (s) => new Promise((r) => s.listen(0, "127.0.0.1", () => r(`http://127.0.0.1:${s.address().port}`)));
  const upstreamUrl = await listen(upstream);
  const providerUrl = await listen(provider);
  return {
    upstreamUrl,
    providerUrl,
    close: () => {
      upstream.close();
      provider.close();
    },
  };
}

// ---- the Workers in Miniflare's own HTTP server --------------------------------------------------------------
const sha256 = createHash("sha256").update(TOKEN).digest("hex");
const ADMIN_TOKENS = JSON.stringify([{ name: "bench", role: "admin", sha256 }]);
const quiet = {
  handleRuntimeStdio(stdout, stderr) {
    stdout.resume();
    stderr.resume();
  },
};
/** The gateway with the bindings of wrangler.toml ([vars], STATE, CONTROL, GUARD) and the admin token secret. */
export const gatewayOptions = (scriptPath, extra = {}) => ({
  scriptPath,
  modules: true,
  modulesRoot: dirname(scriptPath),
  compatibilityDate,
  host: "127.0.0.1",
  port: 0,
  kvNamespaces: ["STATE"],
  durableObjects: {
    CONTROL: { className: "ControlPlane", useSQLite: true },
    GUARD: { className: "Guard", useSQLite: true },
  },
  bindings: { REFRESH_INTERVAL_MS: "1000", ADMIN_TOKENS },
  ...extra,
  ...quiet,
});
/** The trivial pass-through Worker (bench/proxy/trivial.js, as built) in front of `target`. */
export const trivialOptions = (scriptPath, target) => ({
  scriptPath,
  modules: true,
  compatibilityDate,
  host: "127.0.0.1",
  port: 0,
  bindings: { UPSTREAM: target },
  ...quiet,
});

/** ms from `new Miniflare` to the first answer with `status` at `path`. */
export async function startTimed(options, path, want = 200) {
  const t0 = performance.now();
  const mf = new Miniflare(oneWorker(options));
  const url = await mf.ready;
  for (;;) {
    const res = await fetch(new URL(path, url)).catch(() => null);
    if (res) await res.arrayBuffer();
    if (res?.status === want) return { mf, url: url.href.replace(/\/$/, ""), ms: performance.now() - t0 };
    if (performance.now() - t0 > 60_000) throw new Error(`${path} never answered ${want}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function admin(base, method, path, body) {
  const res = await fetch(`${base}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return JSON.parse(text);
}

/** One agent, two releases, 10 % canary, as the demo seeds it: a realistic decision on every request. */
export async function seed(base, { upstreamUrl, providerUrl }) {
  const release = (version, tools) => ({
    agent: "support-bot",
    version,
    instructions: { system: `You are the support assistant (release ${version}). Be brief and kind.` },
    model: { provider: "openai", name: "gpt-bench", baseUrl: `${providerUrl}/v1`, params: { temperature: 0.2 } },
    tools,
    workflows: { default: { upstream: `${upstreamUrl}/support`, timeoutMs: 30_000 } },
    approval: { require: ["destructive"] },
    rollout: {
      fallback: "off",
      owners: ["bench"],
      triggers: [
        { failureClass: "upstream_error", maxRate: 0.05, minRequests: 50, windowSeconds: 120, action: "rollback" },
      ],
      userFallback: { status: 503, body: { message: "paused" } },
    },
  });
  const read = { name: "search_kb", risk: "read" };
  await admin(base, "PUT", "/agents/support-bot/releases/v1", release("v1", [read]));
  await admin(
    base,
    "PUT",
    "/agents/support-bot/releases/v2",
    release("v2", [read, { name: "send_email", risk: "write" }]),
  );
  await admin(base, "POST", "/agents/support-bot/promote", { version: "v1", reason: "bench" });
  await admin(base, "POST", "/agents/support-bot/canary", { version: "v2", percent: 10, reason: "bench" });
}

/** Waits until the Worker's isolate serves the seeded agent (its snapshot refreshed). */
export async function served(base) {
  for (let i = 0; i < 400; i++) {
    const res = await fetch(`${base}/agents/support-bot/ping`);
    await res.arrayBuffer();
    if (res.status === 200) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("the gateway never served the seeded agent");
}

export const chatBody = JSON.stringify({ model: "x", stream: true, messages: [{ role: "user", content: "hi" }] });
export const json = { "content-type": "application/json" };

/**
 * The workerd process serving a Miniflare URL (Linux: the listening socket's owner, from `ss`), or null. Its CPU
 * time per request is steadier than req/s on a shared box: it does not count the time a neighbour held the core.
 */
export function workerdPid(url) {
  try {
    const out = execFileSync("ss", ["-ltnpH", `sport = :${new URL(url).port}`], { encoding: "utf8" });
    const m = /pid=(\d+)/.exec(out);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
/** User + system CPU time of a process so far, in ms (clock ticks of 10 ms). */
export function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** autocannon, 32 connections; `overallRate` for the fixed-rate latency runs. */
export function cannon(opts) {
  return new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, duration: SECONDS, pipelining: 1, timeout: 10, ...opts }, (err, r) => {
      if (err) return reject(err);
      const bad = r.non2xx + r.errors + r.timeouts;
      if (bad > r.requests.total * 0.001) reject(new Error(`${opts.url}: ${bad} failed of ${r.requests.total}`));
      resolve({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total });
    });
  });
}
