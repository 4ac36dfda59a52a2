/**
 * The one-command comparison of issue 19: a bare forwarding Worker, the agent route, the model route with a JSON
 * answer and with an SSE answer, all sent the same small JSON POST, against the same local upstream, in
 * interleaved rounds. Production bundles (`wrangler deploy --dry-run`) in workerd via Miniflare's own HTTP
 * server, autocannon at c=32. It reports req/s, the ratio of each gateway route to the bare Worker, workerd CPU
 * per request (and its ratio), and the latency the agent and model JSON routes add at half the bare Worker's max
 * rate (p50 and p99, in the same run, timed by an evenly paced open-loop client). Writes bench/proxy/compare.json.
 *
 *   node bench/proxy/compare.mjs                 BENCH_ROUNDS=3 (default), BENCH_SECONDS=4 per autocannon run
 *   node bench/proxy/compare.mjs --no-latency    only the max-rate rounds
 *   node bench/proxy/compare.mjs --out <file>    write the results elsewhere (a "before" run, say)
 *   node bench/proxy/compare.mjs --baseline <git ref>
 *        also builds src/ as of that commit into a second gateway and measures its three routes in the same
 *        rounds (subjects `agent@base`, …): a before/after from one run, whatever the neighbours do meanwhile
 *
 * The upstream is one Node server. Every path answers a chat completion: SSE (6 events, one write each) when
 * the request body asks for `"stream":true`, else JSON of declared length. The bare Worker is sent the SSE
 * request for the SSE comparison, so each route is compared with the same answer forwarded bare.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http, { createServer } from "node:http";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { OUT, ROOT } from "../build.mjs";
import { figure, machine, median, table, workerdVersion, writeJson } from "../report.mjs";
import {
  CONNECTIONS,
  cannon,
  chatSse,
  compatibilityDate,
  cpuMs,
  dryRun,
  gatewayOptions,
  json,
  SECONDS,
  seed,
  served,
  startTimed,
  trivialOptions,
  workerdPid,
} from "./support.mjs";

const { values } = parseArgs({
  options: {
    "no-latency": { type: "boolean", default: false },
    out: { type: "string", default: join(ROOT, "bench", "proxy", "compare.json") },
    baseline: { type: "string" },
  },
});
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const log = (s) => process.stderr.write(`${s}\n`);
const DIST = join(OUT, "proxy-compare");

// ---- the one upstream ----------------------------------------------------------------------------------------
const completion = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-bench",
  choices: [
    {
      index: 0,
      message: { role: "assistant", content: "Hello from the upstream." },
      logprobs: null,
      finish_reason: "stop",
    },
  ],
  usage: { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 },
});
const SSE = chatSse("the upstream.");
const upstream = createServer((req, res) => {
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (d) => {
    body += d;
  });
  req.on("end", () => {
    if (body.includes('"stream":true')) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      for (const e of SSE) res.write(e); // one write per event: a streamed answer, not one buffer
      res.end();
    } else {
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(completion) });
      res.end(completion);
    }
  });
});
const upstreamUrl = await new Promise((r) =>
  upstream.listen(0, "127.0.0.1", () => r(`http://127.0.0.1:${upstream.address().port}`)),
);

// ---- latency at a fixed rate -----------------------------------------------------------------------------------
/**
 * Requests at evenly spaced times (open loop: a slow answer does not delay the next request), over keep-alive
 * connections; each latency timed to the microsecond. autocannon's `overallRate` sends each second's requests
 * in a burst at its start, so its latencies at a fixed rate are mostly queueing in that burst (and whole ms).
 */
async function paced(s, rate, seconds) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS * 2 });
  const u = new URL(s.url);
  const headers = { ...s.headers, ...(s.body ? { "content-length": Buffer.byteLength(s.body) } : {}) };
  // The first half second opens the connections: sent, not timed.
  const warm = Math.round(rate / 2);
  const total = warm + Math.round(rate * seconds);
  const latencies = [];
  let failed = 0;
  await new Promise((resolve) => {
    let sent = 0;
    let done = 0;
    const finished = () => {
      if (++done === total) resolve();
    };
    const fire = (timed) => {
      const start = performance.now();
      const req = http.request(
        { agent, host: u.hostname, port: u.port, path: u.pathname + u.search, method: s.method ?? "GET", headers },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode !== 200) failed++;
            else if (timed) latencies.push(performance.now() - start);
            finished();
          });
        },
      );
      req.on("error", () => {
        failed++;
        finished();
      });
      req.end(s.body);
    };
    const t0 = performance.now();
    const tick = () => {
      const now = performance.now();
      while (sent < total && t0 + (sent * 1000) / rate <= now) {
        fire(sent++ >= warm);
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  agent.destroy();
  if (failed > total * 0.001) throw new Error(`${s.url}: ${failed} failed of ${total} at ${rate} req/s`);
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { p50: at(0.5), p99: at(0.99) };
}

// ---- the bundles ---------------------------------------------------------------------------------------------
log("building the bundles (wrangler deploy --dry-run) …");
mkdirSync(DIST, { recursive: true });
const gatewayDist = join(DIST, "gateway");
dryRun(gatewayDist);
const trivialDir = join(DIST, "trivial-src");
mkdirSync(trivialDir, { recursive: true });
writeFileSync(
  join(trivialDir, "wrangler.toml"),
  `name = "trivial"\nmain = "${join(ROOT, "bench", "proxy", "trivial.js")}"\ncompatibility_date = "${compatibilityDate}"\n`,
);
const trivialDist = join(DIST, "trivial");
dryRun(trivialDist, ["--config", join(trivialDir, "wrangler.toml")]);

/** The gateway as of `ref` (its src/ and wrangler.toml from git), built as it deploys; the bundle's path. */
function buildBaseline(ref) {
  const dir = join(DIST, "baseline-src");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tar = execFileSync("git", ["archive", ref, "src", "wrangler.toml"], { cwd: ROOT, maxBuffer: 1 << 28 });
  execFileSync("tar", ["-x", "-C", dir], { input: tar });
  const tomlPath = join(dir, "wrangler.toml");
  const toml = readFileSync(tomlPath, "utf8").replace(/^main\s*=.*$/m, `main = "${join(dir, "src/index.ts")}"`);
  writeFileSync(tomlPath, toml);
  dryRun(join(DIST, "baseline"), ["--config", tomlPath]);
  return join(DIST, "baseline", "index.js");
}
const baselineScript = values.baseline ? buildBaseline(values.baseline) : null;

const post = (body) => ({ method: "POST", headers: json, body });
const message = [{ role: "user", content: "hi" }];
const jsonBody = JSON.stringify({ model: "x", stream: false, messages: message });
const sseBody = JSON.stringify({ model: "x", stream: true, messages: message });

const rows = {};
const put = (k, v) => {
  rows[k] ??= [];
  rows[k].push(v);
};
const servers = [];
let loadAtStart;
try {
  log("starting the Workers …");
  const bare = await startTimed(trivialOptions(join(trivialDist, "trivial.js"), upstreamUrl), "/anything");
  servers.push(bare.mf);
  const gw = await startTimed(gatewayOptions(join(gatewayDist, "index.js")), "/admin/v1/state", 401);
  servers.push(gw.mf);
  await seed(gw.url, { upstreamUrl, providerUrl: upstreamUrl });
  await served(gw.url);
  const agentHeaders = { ...json, "x-agent-key": "user-0042" };
  const subjects = {
    bare: { url: `${bare.url}/v1/chat/completions`, ...post(jsonBody) },
    bareSse: { url: `${bare.url}/v1/chat/completions`, ...post(sseBody) },
    agent: { url: `${gw.url}/agents/support-bot/v1/chat/completions`, ...post(jsonBody), headers: agentHeaders },
    modelJson: { url: `${gw.url}/models/support-bot/v1/chat/completions`, ...post(jsonBody) },
    modelSse: { url: `${gw.url}/models/support-bot/v1/chat/completions`, ...post(sseBody) },
  };
  // Each subject answers what it should, once, before anything is measured.
  for (const [name, s] of Object.entries(subjects)) {
    const res = await fetch(s.url, { method: s.method, headers: s.headers, body: s.body });
    const text = await res.text();
    const want = /Sse/.test(name) ? "[DONE]" : "Hello from the upstream.";
    if (res.status !== 200 || !text.includes(want)) throw new Error(`${name}: ${res.status} ${text.slice(0, 300)}`);
  }
  const pids = { bare: workerdPid(bare.url), gateway: workerdPid(gw.url) };
  if (baselineScript !== null) {
    const base = await startTimed(gatewayOptions(baselineScript), "/admin/v1/state", 401);
    servers.push(base.mf);
    await seed(base.url, { upstreamUrl, providerUrl: upstreamUrl });
    await served(base.url);
    pids.base = workerdPid(base.url);
    for (const name of ["agent", "modelJson", "modelSse"]) {
      subjects[`${name}@base`] = { ...subjects[name], url: subjects[name].url.replace(gw.url, base.url) };
    }
  }
  const pidOf = (name) => (name.startsWith("bare") ? pids.bare : name.endsWith("@base") ? pids.base : pids.gateway);
  log("warming up …");
  for (const s of Object.values(subjects)) await cannon({ ...s, duration: 1 });
  loadAtStart = machine().loadavg;

  const against = { agent: "bare", modelJson: "bare", modelSse: "bareSse" };
  if (baselineScript !== null)
    Object.assign(against, { "agent@base": "bare", "modelJson@base": "bare", "modelSse@base": "bareSse" });
  for (let round = 1; round <= ROUNDS; round++) {
    log(`round ${round}/${ROUNDS} …`);
    const order = Object.keys(subjects);
    for (let k = 0; k < (round - 1) % order.length; k++) order.push(order.shift());
    const r = {};
    for (const name of order) {
      const pid = pidOf(name);
      const cpu0 = pid ? cpuMs(pid) : 0;
      r[name] = await cannon(subjects[name]);
      if (pid) put(`${name}.cpu`, ((cpuMs(pid) - cpu0) * 1000) / r[name].total);
      put(`${name}.rps`, r[name].rps);
      put(`${name}.p50`, r[name].p50);
      put(`${name}.p99`, r[name].p99);
    }
    for (const [name, base] of Object.entries(against)) {
      put(`ratio.${name}.rps`, r[name].rps / r[base].rps);
      if (pids.bare && pids.gateway) put(`ratio.${name}.cpu`, rows[`${name}.cpu`].at(-1) / rows[`${base}.cpu`].at(-1));
    }
    if (values["no-latency"]) continue;
    // Latency at a fixed load: half the bare Worker's max rate of this round, for the bare Worker and the routes.
    const rate = Math.max(50, Math.round(r.bare.rps / 2));
    put("halfRate", rate);
    const half = {};
    const halfNames = ["bare", "agent", "modelJson"];
    if (baselineScript !== null) halfNames.push("agent@base", "modelJson@base");
    for (const name of halfNames) {
      half[name] = await paced(subjects[name], rate, SECONDS);
      put(`half.${name}.p50`, half[name].p50);
      put(`half.${name}.p99`, half[name].p99);
    }
    for (const name of halfNames.slice(1)) {
      put(`half.added.${name}.p50`, half[name].p50 - half.bare.p50);
      put(`half.added.${name}.p99`, half[name].p99 - half.bare.p99);
    }
  }
} finally {
  for (const m of servers) await m.dispose().catch(() => undefined);
  upstream.close();
}

const f = (name, key, unit, extra) => (rows[key] ? [figure(name, rows[key], unit, extra)] : []);
const figures = [
  ...f("bare Worker (JSON), req/s", "bare.rps", "req/s"),
  ...f("bare Worker (SSE), req/s", "bareSse.rps", "req/s"),
  ...f("agent route, req/s", "agent.rps", "req/s"),
  ...f("model route JSON, req/s", "modelJson.rps", "req/s"),
  ...f("model route SSE, req/s", "modelSse.rps", "req/s"),
  ...f("ratio agent / bare, req/s", "ratio.agent.rps", "x", { goal: ">= 0.85" }),
  ...f("ratio model JSON / bare, req/s", "ratio.modelJson.rps", "x", { goal: ">= 0.8" }),
  ...f("ratio model SSE / bare SSE, req/s", "ratio.modelSse.rps", "x", { goal: ">= 0.7" }),
  ...f("workerd CPU per request, bare (JSON)", "bare.cpu", "µs"),
  ...f("workerd CPU per request, bare (SSE)", "bareSse.cpu", "µs"),
  ...f("workerd CPU per request, agent route", "agent.cpu", "µs"),
  ...f("workerd CPU per request, model JSON", "modelJson.cpu", "µs"),
  ...f("workerd CPU per request, model SSE", "modelSse.cpu", "µs"),
  ...f("ratio agent / bare, CPU per request", "ratio.agent.cpu", "x"),
  ...f("ratio model JSON / bare, CPU per request", "ratio.modelJson.cpu", "x"),
  ...f("ratio model SSE / bare SSE, CPU per request", "ratio.modelSse.cpu", "x"),
  ...f("half-max rate (bare req/s ÷ 2)", "halfRate", "req/s"),
  ...f("  bare at half-max, p50", "half.bare.p50", "ms"),
  ...f("  bare at half-max, p99", "half.bare.p99", "ms"),
  ...f("latency added at half-max, agent p50", "half.added.agent.p50", "ms", { goal: "<= 1" }),
  ...f("latency added at half-max, agent p99", "half.added.agent.p99", "ms", { goal: "<= 5" }),
  ...f("latency added at half-max, model JSON p50", "half.added.modelJson.p50", "ms", { goal: "<= 1" }),
  ...f("latency added at half-max, model JSON p99", "half.added.modelJson.p99", "ms", { goal: "<= 5" }),
  ...(baselineScript === null
    ? []
    : [
        ...f(`agent route @ ${values.baseline}, req/s`, "agent@base.rps", "req/s"),
        ...f(`model route JSON @ ${values.baseline}, req/s`, "modelJson@base.rps", "req/s"),
        ...f(`model route SSE @ ${values.baseline}, req/s`, "modelSse@base.rps", "req/s"),
        ...f(`ratio agent @ ${values.baseline} / bare, req/s`, "ratio.agent@base.rps", "x"),
        ...f(`ratio model JSON @ ${values.baseline} / bare, req/s`, "ratio.modelJson@base.rps", "x"),
        ...f(`ratio model SSE @ ${values.baseline} / bare SSE, req/s`, "ratio.modelSse@base.rps", "x"),
        ...f(`workerd CPU per request, agent @ ${values.baseline}`, "agent@base.cpu", "µs"),
        ...f(`workerd CPU per request, model JSON @ ${values.baseline}`, "modelJson@base.cpu", "µs"),
        ...f(`workerd CPU per request, model SSE @ ${values.baseline}`, "modelSse@base.cpu", "µs"),
        ...f(`ratio agent @ ${values.baseline} / bare, CPU per request`, "ratio.agent@base.cpu", "x"),
        ...f(`ratio model JSON @ ${values.baseline} / bare, CPU per request`, "ratio.modelJson@base.cpu", "x"),
        ...f(`ratio model SSE @ ${values.baseline} / bare SSE, CPU per request`, "ratio.modelSse@base.cpu", "x"),
        ...f(`latency added at half-max, agent @ ${values.baseline} p50`, "half.added.agent@base.p50", "ms"),
        ...f(`latency added at half-max, agent @ ${values.baseline} p99`, "half.added.agent@base.p99", "ms"),
        ...f(`latency added at half-max, model JSON @ ${values.baseline} p50`, "half.added.modelJson@base.p50", "ms"),
        ...f(`latency added at half-max, model JSON @ ${values.baseline} p99`, "half.added.modelJson@base.p99", "ms"),
      ]),
];
const results = {
  name: "proxy-compare",
  machine: { ...machine(), loadavgAtStart: loadAtStart },
  node: process.version,
  workerd: workerdVersion(),
  date: new Date().toISOString(),
  rounds: ROUNDS,
  baseline: values.baseline ?? null,
  setup: {
    connections: CONNECTIONS,
    secondsPerRun: SECONDS,
    request: `POST, ${jsonBody.length}-byte JSON body (stream false, or true for SSE)`,
    bare: "bench/proxy/trivial.js → upstream /v1/chat/completions",
    agent: "POST /agents/support-bot/v1/chat/completions with x-agent-key (10 % canary: one hash per request)",
    model: "POST /models/support-bot/v1/chat/completions; the JSON answer is filtered whole, the SSE one per event",
  },
  figures,
  raw: rows,
};
writeJson(values.out, results);
console.log(
  `\nproxy comparison — ${results.machine.cpu}, ${results.machine.cores} cores, ${ROUNDS} rounds, load ${loadAtStart}`,
);
console.log(table(figures));
console.log(
  `\nratios to the bare Worker (req/s): agent ${median(rows["ratio.agent.rps"]).toFixed(2)}, model JSON ${median(rows["ratio.modelJson.rps"]).toFixed(2)}, model SSE ${median(rows["ratio.modelSse.rps"]).toFixed(2)}`,
);
