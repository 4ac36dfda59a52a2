/**
 * `npm run bench`: runs every bench/<name>/run.mjs, each in its own Node process (with --expose-gc), then prints
 * one combined table and writes bench/results.json.
 *
 *   node bench/run.mjs                  every benchmark that needs no running server
 *   node bench/run.mjs decision         only the named ones
 *   node bench/run.mjs --server         also those that need a gateway (they start their own, or expect `npm start`)
 *   node bench/run.mjs --list           what would run, and what would be skipped
 *
 * The contract with a benchmark script:
 * - it runs standalone (`node bench/<name>/run.mjs`) and exits 0 on success;
 * - it writes bench/<name>/results.json with `figures: [{ name, median, min, max, unit }]` (bench/report.mjs
 *   has `figure()` and `table()`); only a file written during this run is merged;
 * - if it needs a gateway, its source contains the marker `@bench needs-server`; a script that starts one itself
 *   (its source mentions `wrangler dev` or `scripts/start.mjs`) counts as needing one too. Those are slow, bind
 *   ports and are better run alone, so they only run with `--server` or when named.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { ROOT } from "./build.mjs";
import { machine, table, workerdVersion, writeJson } from "./report.mjs";

const BENCH = join(ROOT, "bench");
const args = process.argv.slice(2);
const withServer = args.includes("--server");
const listOnly = args.includes("--list");
const only = args.filter((a) => !a.startsWith("--"));
const SERVER = /@bench needs-server|wrangler dev|scripts\/start\.mjs/;
const timeoutMs = Number(process.env.BENCH_TIMEOUT_MS ?? 10 * 60_000);

const all = readdirSync(BENCH, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== "out" && existsSync(join(BENCH, d.name, "run.mjs")))
  .map((d) => d.name)
  .sort();
const unknown = only.filter((n) => !all.includes(n));
if (unknown.length > 0) {
  console.error(`no such benchmark: ${unknown.join(", ")} (have: ${all.join(", ")})`);
  process.exit(2);
}

const plan = (only.length > 0 ? only : all).map((name) => {
  const script = join(BENCH, name, "run.mjs");
  const needsServer = SERVER.test(readFileSync(script, "utf8"));
  const skip =
    needsServer && !withServer && !only.includes(name) ? "needs a gateway (pass --server, or name it)" : null;
  return { name, script, skip };
});

if (listOnly) {
  for (const p of plan) console.log(`${p.name.padEnd(16)} ${p.skip ? `skipped: ${p.skip}` : "runs"}`);
  process.exit(0);
}

const started = Date.now();
const env = machine();
const runs = [];
const figures = [];
for (const p of plan) {
  if (p.skip) {
    console.log(`\n== ${p.name}: skipped, ${p.skip}`);
    runs.push({ name: p.name, status: "skipped", reason: p.skip });
    continue;
  }
  console.log(`\n== ${p.name}: node ${relative(ROOT, p.script)}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ["--expose-gc", p.script], { cwd: ROOT, stdio: "inherit", timeout: timeoutMs });
  const seconds = Math.round((Date.now() - t0) / 100) / 10;
  const out = join(BENCH, p.name, "results.json");
  const fresh = existsSync(out) && statSync(out).mtimeMs >= t0;
  if (r.status !== 0 || !fresh) {
    const why = r.error ? r.error.message : r.status !== 0 ? `exit ${r.status ?? r.signal}` : "no results.json written";
    console.log(`== ${p.name}: FAILED (${why})`);
    runs.push({ name: p.name, status: "failed", reason: why, seconds });
    continue;
  }
  const res = JSON.parse(readFileSync(out, "utf8"));
  const mine = (Array.isArray(res.figures) ? res.figures : []).filter((f) => f && typeof f.name === "string");
  for (const f of mine) figures.push({ ...f, name: `${p.name}: ${f.name}` });
  runs.push({ name: p.name, status: "ok", seconds, figures: mine.length });
}

const results = {
  machine: env,
  node: process.version,
  workerd: workerdVersion(),
  date: new Date(started).toISOString(),
  runs,
  figures: figures.map(({ name, median, min, max, unit }) => ({ name, median, min, max, unit })),
};
writeJson(join(BENCH, "results.json"), results);

console.log(`\n== all benchmarks — ${env.cpu}, ${env.cores} cores, load ${env.loadavg.join(" ")}`);
console.log(`node ${results.node}, ${results.workerd ?? "workerd unknown"}, ${results.date}\n`);
console.log(table(figures));
console.log(`\n${runs.map((r) => `${r.name}: ${r.status}${r.seconds ? ` (${r.seconds} s)` : ""}`).join(", ")}`);
console.log("wrote bench/results.json");
if (runs.some((r) => r.status === "failed")) process.exit(1);
