/**
 * The decision benchmark (issue 2; the decision-cost part of issue 8).
 *
 * 1. State: 1,000 agents × 3 live releases and 1,000 overrides (bench/decision/fixture.mjs), indexed, and the
 *    first decision of every release (indexes its agent and fills the per-release memo of what it serves). Time,
 *    and retained heap after a full GC. Loading a revision from a store is bench/snapshot's.
 * 2. Decisions: `decide(index, facts, now)` over pre-generated random agents/keys/pins, warm, with mitata,
 *    side by side in the same process and rounds with
 *      - a Map lookup agent → value (the physical floor of "find this agent's routing"),
 *      - LaunchDarkly's Node server SDK evaluating the nearest equivalent flag (one flag per agent, a 10 %/90 %
 *        percentage rollout by context key, one targeting rule on a context attribute), through the public async
 *        `variation` / `variationDetail`, and through its private synchronous path for reference.
 *
 * Every measurement is repeated ROUNDS times (interleaved, so a noisy neighbour hits all subjects alike);
 * figures are median/min/max over rounds, and ratios are taken within a round. Writes bench/decision/results.json.
 *
 *   node --expose-gc bench/decision/run.mjs        (re-executes itself with --expose-gc when it is missing)
 *   BENCH_ROUNDS=3 node bench/decision/run.mjs     (fewer rounds)
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { init, integrations } from "@launchdarkly/node-server-sdk";
import { do_not_optimize, measure } from "mitata";
import { build, load } from "../build.mjs";
import { figure, machine, median, table, writeJson } from "../report.mjs";
import { buildInputs, buildSnapshot } from "./fixture.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));

if (typeof globalThis.gc !== "function") {
  const r = spawnSync(process.execPath, ["--expose-gc", ...process.execArgv, fileURLToPath(import.meta.url)], {
    stdio: "inherit",
  });
  process.exit(r.status ?? 1);
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const INPUTS = 1 << 16; // power of two: the index wraps with a mask
const MASK = INPUTS - 1;
const LOOP = 1 << 21; // decisions per plain-loop throughput sample
const NOW = Date.UTC(2026, 10, 28, 12, 0, 0); // the world's time is passed in; fixed, so runs are identical
const MB = 2 ** 20;

const log = (s) => process.stderr.write(`${s}\n`);
const heap = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const clock = () => process.hrtime.bigint();
/** CPU time of the whole process (ms): unlike wall time, it does not grow while a busy neighbour holds the core. */
/**
 * mitata's clock, in ns of process CPU time. getrusage counts all threads, so V8's parallel GC helpers are in it:
 * on a quiet machine an allocation-heavy step can show more CPU time than wall time.
 */
const cpuNow = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) * 1e3;
};
const cpuMs = (c0) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e3;
};

// ---- the core, bundled from src/ ----------------------------------------------------------------------------
const [corePath] = await build(["bench/decision/core.ts"]);
const { Snapshot, indexSnapshot, decide, digestOf } = await load(corePath);

// ---- the snapshot -------------------------------------------------------------------------------------------
log("building the snapshot …");
const { snapshot, live } = await buildSnapshot({ agents: 1000, overrides: 1000, now: NOW, digestOf });
const json = JSON.stringify(snapshot);
const check = Snapshot.safeParse(snapshot);
if (!check.success) throw new Error(`fixture is not a valid Snapshot: ${JSON.stringify(check.error.issues[0])}`);
const inputs = buildInputs(live, INPUTS);

// ---- LaunchDarkly: one flag per agent, rollout 10 % canary / 90 % active, a rule on `release` ----------------
const td = new integrations.TestData();
for (const { agent, active, canary } of live) {
  await td.usePreconfiguredFlag({
    key: agent,
    version: 1,
    on: true,
    salt: agent,
    variations: [active, canary],
    offVariation: 0,
    fallthrough: {
      rollout: {
        variations: [
          { variation: 1, weight: 10_000 },
          { variation: 0, weight: 90_000 },
        ],
      },
    },
    rules: [
      {
        id: "pin-canary",
        variation: 1,
        clauses: [{ contextKind: "user", attribute: "release", op: "in", values: [canary], negate: false }],
      },
    ],
    targets: [],
    contextTargets: [],
    prerequisites: [],
    trackEvents: false,
    trackEventsFallthrough: false,
    deleted: false,
  });
}
const quiet = { debug() {}, info() {}, warn: log, error: log };
const client = init("sdk-bench-not-a-key", {
  updateProcessor: td.getFactory(),
  sendEvents: false,
  diagnosticOptOut: true,
  logger: quiet,
});
await client.waitForInitialization({ timeout: 10 });
// The same requests as LaunchDarkly contexts: the sticky key is the context key (a keyless request has none in
// the gateway; LaunchDarkly needs one, so it gets a fixed key), the pin is a context attribute.
const ldInputs = inputs.map(({ agent, key, pin }) => ({
  flag: agent,
  context:
    pin === null ? { kind: "user", key: key ?? "anonymous" } : { kind: "user", key: key ?? "anonymous", release: pin },
}));
const ldFactory = client._eventFactoryDefault;
const ldSyncReachable = typeof client._evaluateIfPossible === "function" && ldFactory !== undefined;

// ---- the subjects ------------------------------------------------------------------------------------------
let index = null;
let iDecide = 0;
let iMap = 0;
let iLd = 0;
let iLdDetail = 0;
let iLdSync = 0;
const floor = new Map(live.map((t) => [t.agent, t]));

const subjects = {
  decide: () => do_not_optimize(decide(index, inputs[iDecide++ & MASK], NOW)),
  mapFloor: () => do_not_optimize(floor.get(inputs[iMap++ & MASK].agent)),
  ldVariation: async () => {
    const x = ldInputs[iLd++ & MASK];
    return client.variation(x.flag, x.context, null);
  },
  ldVariationDetail: async () => {
    const x = ldInputs[iLdDetail++ & MASK];
    return client.variationDetail(x.flag, x.context, null);
  },
  ldSync: () => {
    const x = ldInputs[iLdSync++ & MASK];
    let out;
    client._evaluateIfPossible(x.flag, x.context, null, ldFactory, (res) => {
      out = res.detail;
    });
    if (out === undefined) throw new Error("LaunchDarkly's internal path did not answer synchronously");
    return do_not_optimize(out);
  },
};
if (!ldSyncReachable) delete subjects.ldSync;

// ---- rounds ------------------------------------------------------------------------------------------------
const rows = {}; // name -> values over rounds
const put = (name, v) => {
  rows[name] ??= [];
  rows[name].push(v);
};

/** Runs `fn` once; records its wall time and CPU time (ms) under `name`; returns its value. */
function timed(name, fn) {
  const c = process.cpuUsage();
  const t = clock();
  const out = fn();
  put(`${name}.ms`, ms(t));
  put(`${name}.cpuMs`, cpuMs(c));
  return out;
}

for (let round = 1; round <= ROUNDS; round++) {
  log(`round ${round}/${ROUNDS} …`);
  index = null;

  // Loading a revision is measured by bench/snapshot (format 1 and format 2 side by side). Here the index is
  // built from the fixture (a format-1 value, already valid), for the decisions; agents are indexed lazily, on
  // their first decision, so the memo fill below includes that.
  let h0 = heap();
  index = timed("index", () => indexSnapshot(JSON.parse(json)));
  put("index.heapMB", (heap() - h0) / MB);

  // First decision of each live release (active via a key-less request, canary via a pin): fills the memo.
  h0 = heap();
  timed("memo", () => {
    for (const l of live) {
      decide(index, { agent: l.agent, key: null, pin: null }, NOW);
      decide(index, { agent: l.agent, key: null, pin: l.canary }, NOW);
    }
  });
  put("memo.heapMB", (heap() - h0) / MB);

  // Warm decisions, the floor and LaunchDarkly, with mitata, by CPU clock (what the code costs, even when a
  // neighbour holds the core) and by wall clock. The order rotates every round, so no subject always runs
  // right after another's garbage.
  const p50 = {};
  const order = Object.entries(subjects);
  for (let k = 0; k < (round - 1) % order.length; k++) order.push(order.shift());
  for (const [name, fn] of order) {
    // Always batch (4,096 calls per sample): the CPU clock ticks in µs, and a busy machine must not make mitata
    // fall back to timing single calls.
    const always = Number.POSITIVE_INFINITY;
    const cpu = await measure(fn, {
      now: cpuNow,
      min_cpu_time: 400e6,
      warmup_threshold: always,
      batch_threshold: always,
    });
    p50[name] = cpu.p50;
    put(`${name}.cpuP50`, cpu.p50);
    put(`${name}.wallP50`, (await measure(fn, { min_cpu_time: 300e6 })).p50);
  }

  // Throughput as a plain loop: what one core does back to back (no harness in between).
  for (let i = 0; i < 1 << 16; i++) decide(index, inputs[i & MASK], NOW);
  let sink = 0;
  timed("loop", () => {
    for (let i = 0; i < LOOP; i++) {
      const o = decide(index, inputs[i & MASK], NOW);
      if (o.ok && o.decision.bucket !== null) sink += o.decision.bucket;
    }
  });
  do_not_optimize(sink);

  put("ratio.ldVariationVsDecide", p50.ldVariation / p50.decide);
  put("ratio.ldVariationDetailVsDecide", p50.ldVariationDetail / p50.decide);
  if (p50.ldSync !== undefined) put("ratio.ldSyncVsDecide", p50.ldSync / p50.decide);
  put("ratio.decideVsMapFloor", p50.decide / p50.mapFloor);
}
client.close();

// ---- the outcome mix, so the figures can be read against what was decided ----------------------------------
const mix = {};
for (const x of inputs) {
  const o = decide(index, x, NOW);
  const k = o.ok ? o.decision.kind : o.code;
  mix[k] = (mix[k] ?? 0) + 1;
}
for (const k of Object.keys(mix)) mix[k] = Math.round((mix[k] / inputs.length) * 1000) / 10;

// ---- figures -----------------------------------------------------------------------------------------------
const f = (name, key, unit, extra) => figure(name, rows[key], unit, extra);
const perSec = (key) => rows[key].map((ns) => 1e9 / ns);
const perSecMs = (key) => rows[key].map((m) => LOOP / (m / 1e3));
const figures = [
  f("decide, warm, CPU (p50)", "decide.cpuP50", "ns/op", { goal: "<= 1000" }),
  figure("decide, decisions/s (1e9 / CPU p50)", perSec("decide.cpuP50"), "ops/s", { goal: ">= 1000000" }),
  figure("decide, decisions/s (plain loop, CPU)", perSecMs("loop.cpuMs"), "ops/s"),
  figure("decide, decisions/s (plain loop, wall)", perSecMs("loop.ms"), "ops/s"),
  f("decide, warm, wall (p50)", "decide.wallP50", "ns/op"),
  f("map floor: Map.get(agent), CPU (p50)", "mapFloor.cpuP50", "ns/op"),
  f("LaunchDarkly await variation, CPU (p50)", "ldVariation.cpuP50", "ns/op"),
  f("LaunchDarkly await variationDetail, CPU (p50)", "ldVariationDetail.cpuP50", "ns/op"),
  ...(ldSyncReachable ? [f("LaunchDarkly private sync path, CPU (p50)", "ldSync.cpuP50", "ns/op")] : []),
  f("LaunchDarkly await variation, wall (p50)", "ldVariation.wallP50", "ns/op"),
  f("ratio LD variation / decide", "ratio.ldVariationVsDecide", "x"),
  f("ratio LD variationDetail / decide", "ratio.ldVariationDetailVsDecide", "x"),
  ...(ldSyncReachable ? [f("ratio LD private sync / decide", "ratio.ldSyncVsDecide", "x")] : []),
  f("ratio decide / map floor", "ratio.decideVsMapFloor", "x"),
  f("index of the fixture (JSON.parse + indexSnapshot, agents lazy), CPU", "index.cpuMs", "ms"),
  f("  same, wall", "index.ms", "ms"),
  f("snapshot index, retained heap", "index.heapMB", "MB", { goal: "<= 20" }),
  f("first decision of 2,000 releases (agents indexed, memo fill), CPU", "memo.cpuMs", "ms"),
  f("  same, wall", "memo.ms", "ms"),
  f("memo fill, retained heap", "memo.heapMB", "MB"),
];

const results = {
  name: "decision",
  machine: machine(),
  node: process.version,
  date: new Date().toISOString(),
  rounds: ROUNDS,
  setup: {
    agents: live.length,
    releasesPerAgent: 3,
    overrides: snapshot.overrides.length,
    snapshotJsonMB: Math.round((json.length / MB) * 100) / 100,
    inputs: INPUTS,
    outcomeMixPercent: mix,
    launchDarkly: {
      sdk: "@launchdarkly/node-server-sdk (TestData source, sendEvents false)",
      flag: "one per agent; fallthrough rollout 10 % canary / 90 % active by context key; rule `release in [canary]`",
      syncEvaluator: ldSyncReachable
        ? "no public synchronous evaluator; the 'private sync path' row calls the undocumented client._evaluateIfPossible (what variation() wraps in a Promise), for reference only"
        : "no public synchronous evaluator, and the private one was not reachable",
    },
    timer:
      "mitata 1.0 measure(), p50 of per-iteration times, by process CPU time (rows marked CPU) and by wall clock; ratios use CPU; each row is median/min/max over rounds",
  },
  figures,
  raw: rows,
};
writeJson(join(HERE, "results.json"), results);

console.log(
  `\ndecision benchmark — ${results.machine.cpu} (${results.machine.cores} cores), node ${results.node}, ${ROUNDS} rounds`,
);
console.log(
  `snapshot: ${live.length} agents × 3 releases, ${snapshot.overrides.length} overrides, ${results.setup.snapshotJsonMB} MB JSON`,
);
console.log(`outcome mix (%): ${JSON.stringify(mix)}\n`);
console.log(table(figures));
console.log(
  `\nwrote ${join("bench", "decision", "results.json")}; median decide CPU p50 ${median(rows["decide.cpuP50"]).toFixed(0)} ns`,
);
