/**
 * Proxy cost (issue 8): the gateway over loopback against a local upstream called directly and against a trivial
 * pass-through Worker in the same workerd, with autocannon at a fixed concurrency; plus the read path (KV reads
 * per 10,000 warm requests), the bundle's gzip size and the Worker's start-up time.
 *
 * It builds the Workers as they deploy (`wrangler deploy --dry-run --outdir`: the gateway, bench/proxy/trivial.js,
 * and bench/proxy/counted.ts for the KV count) and runs each bundle in Miniflare's own HTTP server, with the
 * bindings of wrangler.toml: no wrangler proxy layer in front. It starts its own upstream (a plain JSON answer)
 * and an OpenAI-style SSE provider, seeds the gateway through the admin API, and stops everything at the end.
 * Bounded (~2.5 min at the defaults), so `npm run bench` runs it. Writes bench/proxy/results.json.
 *
 *   node bench/proxy/run.mjs                 BENCH_ROUNDS=3 (default), BENCH_SECONDS=4 per autocannon run
 *   node bench/proxy/run.mjs --profile       instead: a CPU profile of the gateway's isolate (workerd's inspector)
 *                                            under each route's load; top functions to bench/proxy/profile.json
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { OUT } from "../build.mjs";
import { figure, machine, median, table, workerdVersion, writeJson } from "../report.mjs";
import {
  CONNECTIONS,
  cannon,
  chatBody,
  compatibilityDate,
  cpuMs,
  dryRun,
  gatewayOptions,
  json,
  SECONDS,
  seed,
  served,
  startServers,
  startTimed,
  trivialOptions,
  workerdPid,
} from "./support.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const KV_REQUESTS = 10_000;
const log = (s) => process.stderr.write(`${s}\n`);
const DIST = join(OUT, "proxy");
const KB = 1024;
const PROFILE = process.argv.includes("--profile");
const INSPECTOR_PORT = 9331;

log("building the bundles (wrangler deploy --dry-run) …");
mkdirSync(DIST, { recursive: true });
const gatewayDist = join(DIST, "gateway");
// A profile needs names: that build is not minified (the figures below are taken from the minified one).
const gatewayBundle = dryRun(gatewayDist, PROFILE ? ["--minify=false"] : []);
const countedDist = join(DIST, "counted");
dryRun(countedDist, ["bench/proxy/counted.ts"]);
const trivialDir = join(DIST, "trivial-src");
mkdirSync(trivialDir, { recursive: true });
writeFileSync(
  join(trivialDir, "wrangler.toml"),
  `name = "trivial"\nmain = "${join(HERE, "trivial.js")}"\ncompatibility_date = "${compatibilityDate}"\n`,
);
const trivialDist = join(DIST, "trivial");
dryRun(trivialDist, ["--config", join(trivialDir, "wrangler.toml")]);
const trivialScript = join(trivialDist, "trivial.js");
const { upstreamUrl, providerUrl, close } = await startServers();

/** CPU profiles of the gateway's isolate via workerd's DevTools inspector, one per route under load. */
async function profile(subjects) {
  const targets = await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json`)).json();
  const target = targets.find((t) => /core:user/.test(t.title ?? "")) ?? targets[0];
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((r, j) => ws.once("open", r).once("error", j));
  let id = 0;
  const pending = new Map();
  ws.on("message", (m) => {
    const msg = JSON.parse(m.toString());
    if (msg.id && pending.has(msg.id)) pending.get(msg.id)(msg.result);
  });
  const send = (method, params = {}) =>
    new Promise((r) => {
      pending.set(++id, r);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 200 });
  const out = {};
  for (const name of ["agent", "model"]) {
    await cannon({ ...subjects[name], duration: 1 });
    await send("Profiler.start");
    await cannon({ ...subjects[name], duration: SECONDS });
    const { profile: p } = await send("Profiler.stop");
    const self = new Map();
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    let total = 0;
    for (const s of p.samples) {
      const cf = byId.get(s).callFrame;
      const where = cf.url ? `${cf.url.split("/").slice(-1)[0]}:${cf.lineNumber + 1}` : "";
      const k = `${cf.functionName || "(anonymous)"} ${where}`.trim();
      self.set(k, (self.get(k) ?? 0) + 1);
      total++;
    }
    out[name] = [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([fn, n]) => ({ fn, selfPercent: Math.round((n / total) * 1000) / 10 }));
    log(`\n${name} route, top self time in the gateway's isolate (${total} samples):`);
    for (const r of out[name]) log(`${String(r.selfPercent).padStart(6)} %  ${r.fn}`);
  }
  ws.close();
  writeJson(join(HERE, "profile.json"), { date: new Date().toISOString(), machine: machine(), routes: out });
}

const rows = {};
const put = (k, v) => {
  rows[k] ??= [];
  rows[k].push(v);
};

const servers = [];
try {
  log("starting the Workers …");
  const trivialUp = await startTimed(trivialOptions(trivialScript, upstreamUrl), "/anything");
  servers.push(trivialUp.mf);
  const trivialModel = await startTimed(trivialOptions(trivialScript, providerUrl), "/anything");
  servers.push(trivialModel.mf);
  const gw = await startTimed(
    gatewayOptions(join(gatewayDist, "index.js"), PROFILE ? { inspectorPort: INSPECTOR_PORT } : {}),
    "/admin/v1/state",
    401,
  );
  servers.push(gw.mf);
  put("startup.trivial", trivialUp.ms);
  put("startup.gateway", gw.ms);
  await seed(gw.url, { upstreamUrl, providerUrl });
  await served(gw.url);

  const subjects = {
    direct: { url: `${upstreamUrl}/support/chat` },
    trivial: { url: `${trivialUp.url}/support/chat` },
    agent: { url: `${gw.url}/agents/support-bot/chat`, headers: { "x-agent-key": "user-0042" } },
    providerDirect: { url: `${providerUrl}/v1/chat/completions`, method: "POST", headers: json, body: chatBody },
    trivialModel: { url: `${trivialModel.url}/v1/chat/completions`, method: "POST", headers: json, body: chatBody },
    model: { url: `${gw.url}/models/support-bot/v1/chat/completions`, method: "POST", headers: json, body: chatBody },
  };
  // The model stream must really be a stream through the gateway: check once.
  const probe = await fetch(subjects.model.url, { method: "POST", headers: json, body: chatBody });
  const probeText = await probe.text();
  if (probe.status !== 200 || !probeText.includes("[DONE]"))
    throw new Error(`model route: ${probe.status} ${probeText}`);

  if (PROFILE) {
    await profile(subjects);
    process.exit(0);
  }

  const pids = {
    trivial: workerdPid(trivialUp.url),
    agent: workerdPid(gw.url),
    trivialModel: workerdPid(trivialModel.url),
    model: workerdPid(gw.url),
  };
  log("warming up …");
  for (const s of Object.values(subjects)) await cannon({ ...s, duration: 1 });

  for (let round = 1; round <= ROUNDS; round++) {
    log(`round ${round}/${ROUNDS} …`);
    const r = {};
    const order = Object.keys(subjects);
    for (let k = 0; k < (round - 1) % order.length; k++) order.push(order.shift());
    for (const name of order) {
      const pid = pids[name];
      const cpu0 = pid ? cpuMs(pid) : 0;
      r[name] = await cannon(subjects[name]);
      if (pid) put(`${name}.cpu`, ((cpuMs(pid) - cpu0) * 1000) / r[name].total);
      put(`${name}.rps`, r[name].rps);
      put(`${name}.p50`, r[name].p50);
      put(`${name}.p99`, r[name].p99);
    }
    if (pids.agent && pids.trivial) {
      put("ratio.agent.cpu", rows["agent.cpu"].at(-1) / rows["trivial.cpu"].at(-1));
      put("ratio.model.cpu", rows["model.cpu"].at(-1) / rows["trivialModel.cpu"].at(-1));
    }
    put("ratio.agent.rps", r.agent.rps / r.trivial.rps);
    put("ratio.agent.p50", r.agent.p50 / r.trivial.p50);
    put("ratio.agent.p99", r.agent.p99 / r.trivial.p99);
    put("ratio.model.rps", r.model.rps / r.trivialModel.rps);
    put("ratio.model.p50", r.model.p50 / r.trivialModel.p50);
    put("ratio.model.p99", r.model.p99 / r.trivialModel.p99);
    put("ratio.trivial.rps", r.trivial.rps / r.direct.rps);

    // Latency at a fixed load: half the trivial Worker's max throughput of this round, for both.
    const rate = Math.max(50, Math.round(r.trivial.rps / 2));
    put("halfRate", rate);
    const t = await cannon({ ...subjects.trivial, overallRate: rate });
    const g = await cannon({ ...subjects.agent, overallRate: rate });
    put("half.trivial.p50", t.p50);
    put("half.trivial.p99", t.p99);
    put("half.agent.p50", g.p50);
    put("half.agent.p99", g.p99);
    put("half.added.p50", g.p50 - t.p50);
    put("half.added.p99", g.p99 - t.p99);
  }

  // ---- KV reads per 10,000 warm requests (the counted build of the same code) ----------------------------------
  log("KV reads per 10,000 warm requests …");
  for (const m of servers.splice(0)) await m.dispose();
  for (const freshness of ["control", "kv"]) {
    const opts = gatewayOptions(join(countedDist, "counted.js"));
    if (freshness === "kv") opts.bindings = { ...opts.bindings, FRESHNESS: "kv" };
    const c = await startTimed(opts, "/admin/v1/state", 401);
    servers.push(c.mf);
    await seed(c.url, { upstreamUrl, providerUrl });
    await served(c.url);
    await cannon({ ...subjects.agent, url: `${c.url}/agents/support-bot/chat`, duration: 1 }); // warm
    await (await fetch(`${c.url}/__bench/kv?reset=1`)).arrayBuffer();
    const t0 = performance.now();
    const done = await cannon({ ...subjects.agent, url: `${c.url}/agents/support-bot/chat`, amount: KV_REQUESTS });
    const seconds = (performance.now() - t0) / 1000;
    const counts = await (await fetch(`${c.url}/__bench/kv`)).json();
    const reads = Object.values(counts).reduce((a, b) => a + b, 0);
    put(`kv.${freshness}.reads`, (reads * KV_REQUESTS) / done.total);
    put(`kv.${freshness}.seconds`, seconds);
    rows[`kv.${freshness}.keys`] = counts;
    for (const m of servers.splice(0)) await m.dispose();
  }
} finally {
  for (const m of servers) await m.dispose().catch(() => undefined);
  close();
}

const f = (name, key, unit, extra) => figure(name, rows[key], unit, extra);
const figures = [
  f("upstream direct, req/s", "direct.rps", "req/s"),
  f("trivial Worker → upstream, req/s", "trivial.rps", "req/s"),
  f("gateway agent route, req/s", "agent.rps", "req/s"),
  f("ratio gateway agent / trivial Worker, req/s", "ratio.agent.rps", "x", { goal: ">= 0.8" }),
  f("ratio gateway agent / trivial Worker, p50 latency", "ratio.agent.p50", "x"),
  f("ratio gateway agent / trivial Worker, p99 latency", "ratio.agent.p99", "x"),
  f("provider direct (SSE), req/s", "providerDirect.rps", "req/s"),
  f("trivial Worker → provider (SSE), req/s", "trivialModel.rps", "req/s"),
  f("gateway model route (SSE), req/s", "model.rps", "req/s"),
  f("ratio gateway model / trivial Worker, req/s", "ratio.model.rps", "x", { goal: ">= 0.6" }),
  f("ratio gateway model / trivial Worker, p50 latency", "ratio.model.p50", "x"),
  f("ratio gateway model / trivial Worker, p99 latency", "ratio.model.p99", "x"),
  f("ratio trivial Worker / upstream direct, req/s", "ratio.trivial.rps", "x"),
  ...(rows["agent.cpu"]
    ? [
        f("workerd CPU per request, trivial Worker → upstream", "trivial.cpu", "µs"),
        f("workerd CPU per request, gateway agent route", "agent.cpu", "µs"),
        f("ratio gateway agent / trivial Worker, CPU per request", "ratio.agent.cpu", "x"),
        f("workerd CPU per request, trivial Worker → provider (SSE)", "trivialModel.cpu", "µs"),
        f("workerd CPU per request, gateway model route (SSE)", "model.cpu", "µs"),
        f("ratio gateway model / trivial Worker, CPU per request", "ratio.model.cpu", "x"),
      ]
    : []),
  f("trivial Worker p50 / p99 at c=32", "trivial.p50", "ms"),
  f("  p99", "trivial.p99", "ms"),
  f("gateway agent p50 at c=32", "agent.p50", "ms"),
  f("  p99", "agent.p99", "ms"),
  f("half-max rate (trivial Worker's req/s ÷ 2)", "halfRate", "req/s"),
  f("latency added at half-max rate, p50", "half.added.p50", "ms", { goal: "<= 1" }),
  f("latency added at half-max rate, p99", "half.added.p99", "ms", { goal: "<= 5" }),
  f("  trivial Worker at half-max rate, p50", "half.trivial.p50", "ms"),
  f("  gateway agent at half-max rate, p50", "half.agent.p50", "ms"),
  f("KV reads per 10,000 warm requests (default: control plane)", "kv.control.reads", "reads", { goal: "0" }),
  f("KV reads per 10,000 warm requests (FRESHNESS=kv)", "kv.kv.reads", "reads"),
  f("  seconds the 10,000 requests took (FRESHNESS=kv)", "kv.kv.seconds", "s"),
  figure("bundle, gzip (wrangler's figure)", [gatewayBundle.wranglerGzipKiB ?? Number.NaN], "KiB", { goal: "<= 150" }),
  figure("bundle, gzip (zlib default of the modules)", [gatewayBundle.gz / KB], "KiB"),
  figure("bundle, raw", [gatewayBundle.raw / KB], "KiB"),
  f("start-up: new Miniflare → first 200, trivial Worker", "startup.trivial", "ms"),
  f("start-up: new Miniflare → first 200, gateway", "startup.gateway", "ms"),
];

const results = {
  name: "proxy",
  machine: machine(),
  node: process.version,
  workerd: workerdVersion(),
  date: new Date().toISOString(),
  rounds: ROUNDS,
  setup: {
    connections: CONNECTIONS,
    secondsPerRun: SECONDS,
    bundles: "wrangler deploy --dry-run --outdir bench/out/proxy/{gateway,trivial,counted}",
    runtime:
      "Miniflare's own HTTP server (new Miniflare({ port })), bindings of wrangler.toml, REFRESH_INTERVAL_MS 1000",
    agent: "GET /agents/support-bot/chat with x-agent-key (10 % canary set: one hash per request)",
    model: "POST /models/support-bot/v1/chat/completions, stream: true; provider answers 6 SSE events, one write each",
    kvCounting:
      "bench/proxy/counted.ts: the same app with env.STATE wrapped in a counting Proxy; reads over 10,000 warm requests",
    kvKeys: { control: rows["kv.control.keys"], kv: rows["kv.kv.keys"] },
  },
  figures,
  raw: rows,
};
writeJson(join(HERE, "results.json"), results);
console.log(`\nproxy benchmark — ${results.machine.cpu}, ${results.machine.cores} cores, ${ROUNDS} rounds`);
console.log(table(figures));
console.log(`\nwrote bench/proxy/results.json; agent/trivial req/s ${median(rows["ratio.agent.rps"]).toFixed(2)}`);
