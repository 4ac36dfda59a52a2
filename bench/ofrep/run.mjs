/**
 * OFREP evaluations per second on one isolate (CONTRACT §2.5): the gateway as it deploys (wrangler's bundle in
 * Miniflare: one workerd, one isolate), seeded like the proxy bench (support-bot, v1 active, v2 canary at 10 %),
 * loaded with autocannon (32 connections) on a single flag and on the bulk endpoint (3 flags per answer), each
 * with a sticky key, plus the workerd process's CPU time per request; beside them, in the same rounds, a Worker
 * that answers a constant JSON body (port 9503): what workerd and the HTTP path cost without any gateway code.
 *
 *   node bench/ofrep/run.mjs [--rounds 3]      BENCH_SECONDS=4 per run; gateway on port 9502
 *
 * Writes bench/ofrep/results.json.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import { OUT } from "../build.mjs";
import { oneWorker } from "../miniflare-options.mjs";
import {
  cannon,
  compatibilityDate,
  cpuMs,
  dryRun,
  gatewayOptions,
  SECONDS,
  seed,
  TOKEN,
  workerdPid,
} from "../proxy/support.mjs";
import { figure, machine, table, workerdVersion, writeJson } from "../report.mjs";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "3" } } });
const ROUNDS = Number(values.rounds);
const PORT = 9502;

const dir = join(OUT, "ofrep", "gateway");
dryRun(dir);
const mf = new Miniflare(oneWorker(gatewayOptions(join(dir, "index.js"), { port: PORT })));
const base = (await mf.ready).href.replace(/\/$/, "");
await seed(base, { upstreamUrl: "http://127.0.0.1:9", providerUrl: "http://127.0.0.1:9" });
for (let i = 0; i < 200; i++) {
  const res = await fetch(`${base}/ofrep/v1/evaluate/flags/support-bot.release`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: "{}",
  });
  await res.arrayBuffer();
  if (res.status === 200) break;
  await new Promise((r) => setTimeout(r, 25));
}
const pid = workerdPid(base);
const constant = new Miniflare(
  oneWorker({
    modules: true,
    script:
      'export default { fetch: () => new Response(\'{"ok":true}\', { headers: { "content-type": "application/json" } }) };',
    compatibilityDate,
    host: "127.0.0.1",
    port: 9503,
  }),
);
const constantBase = (await constant.ready).href.replace(/\/$/, "");
const constantPid = workerdPid(constantBase);

const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
const body = JSON.stringify({ context: { targetingKey: "user-0042" } });
const runs = {
  single: { url: `${base}/ofrep/v1/evaluate/flags/support-bot.release`, method: "POST", headers, body },
  bulk: { url: `${base}/ofrep/v1/evaluate/flags`, method: "POST", headers, body },
  constant: { url: `${constantBase}/`, method: "POST", headers, body },
};
const pids = { single: pid, bulk: pid, constant: constantPid };
const results = { single: { rps: [], cpu: [] }, bulk: { rps: [], cpu: [] }, constant: { rps: [], cpu: [] } };
const ORDER = ["constant", "single", "bulk"];
for (let r = 0; r < ROUNDS; r++) {
  for (const name of r % 2 === 0 ? ORDER : [...ORDER].reverse()) {
    const p = pids[name];
    const before = p === null ? null : cpuMs(p);
    const out = await cannon(runs[name]);
    results[name].rps.push(out.rps);
    if (before !== null) results[name].cpu.push(((cpuMs(p) - before) * 1000) / out.total);
  }
}
const figures = [
  figure("constant-answer Worker: requests per second", results.constant.rps, "req/s"),
  figure("constant-answer Worker: workerd CPU per request", results.constant.cpu, "µs"),
  figure("single flag: evaluations per second", results.single.rps, "req/s"),
  figure("single flag: workerd CPU per evaluation", results.single.cpu, "µs"),
  figure("bulk (3 flags): answers per second", results.bulk.rps, "req/s"),
  figure("bulk (3 flags): workerd CPU per answer", results.bulk.cpu, "µs"),
];
console.log(table(figures));
writeJson(new URL("./results.json", import.meta.url).pathname, {
  bench: "ofrep evaluations on one isolate",
  date: new Date().toISOString(),
  machine: machine(),
  workerd: workerdVersion(),
  seconds: SECONDS,
  rounds: ROUNDS,
  figures,
});
await Promise.all([mf.dispose(), constant.dispose()]);
