/**
 * The snapshot benchmark (issue 14): the published state before and after manifests were stored by digest,
 * side by side in one process, at 1,000 and 10,000 agents (3 live releases each, 500 overrides; the fixture of
 * bench/decision/fixture.mjs). Per layout and size:
 *
 * - cold isolate CPU before its first answer: before, JSON.parse of the one snapshot + `loadSnapshot` (the
 *   hand-written check) + `indexSnapshot` + one decision; after, `loadRevision` (root and every shard parsed and
 *   validated with zod jitless, as in workerd; manifests taken as text) + `indexState` + one decision (which
 *   parses and validates that agent's manifests). The values come from memory: the store's read time and the
 *   runtime's deserialization of what it returns are not in either figure;
 * - bytes published and read per one-pointer flip (one agent's canary percent): before, the whole next
 *   snapshot and `head`; after, the values the next revision names that the previous did not, and `head`;
 * - the flip's CPU on a warm isolate (after: only the changed shard is fetched and validated);
 * - the control plane's CPU to build and serialize a revision (after: `buildPublication` + `render`), from
 *   scratch and for a flip (unchanged shards reused);
 * - retained heap of the loaded state (after: also the manifest texts held for agents not yet asked for);
 * - decide p50, warm (every agent asked once first), CPU clock, mitata.
 *
 * "Before" is the src/ of BENCH_BEFORE_REV (default: main before the change), extracted with `git archive`.
 *
 *   node bench/snapshot/run.mjs                 (re-executes itself with --expose-gc)
 *   BENCH_ROUNDS=3 BENCH_AGENTS=1000 node bench/snapshot/run.mjs
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { do_not_optimize, measure } from "mitata";
import { build, load } from "../build.mjs";
import { buildInputs, buildSnapshot } from "../decision/fixture.mjs";
import { figure, machine, table, writeJson } from "../report.mjs";
import { BEFORE_REV, extractBefore, extractMid, MID_REV } from "./before.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
if (typeof globalThis.gc !== "function") {
  const r = spawnSync(process.execPath, ["--expose-gc", ...process.execArgv, fileURLToPath(import.meta.url)], {
    stdio: "inherit",
  });
  process.exit(r.status ?? 1);
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SIZES = (process.env.BENCH_AGENTS ?? "1000,10000").split(",").map(Number);
const OVERRIDES = 500;
const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const MB = 2 ** 20;
const KB = 1024;
const log = (s) => process.stderr.write(`${s}\n`);
const heap = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};
const cpuNow = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) * 1e3;
};
const cpuMs = (c0) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e3;
};
/** This thread's CPU only: what an isolate's request pays (V8's helper threads collect garbage beside it). */
const threadMs = (c0) => {
  const c = process.threadCpuUsage(c0);
  return (c.user + c.system) / 1e3;
};

const [afterPath] = await build(["bench/snapshot/core.ts"]);
const [beforePath] = await build([extractBefore()]);
const [midPath] = await build([extractMid()]);
const A = await load(afterPath);
const B = await load(beforePath);
const M = await load(midPath);
A.jitless();
B.jitless();
M.jitless();
/** The by-digest layouts measured side by side: format 2 (shards of JSON, MID_REV) and this tree (format 3). */
const LAYOUTS = [
  ["mid", M],
  ["after", A],
];

const rows = {};
const put = (name, v) => {
  rows[name] ??= [];
  rows[name].push(v);
};
const headBytes = (revision) =>
  JSON.stringify({ revision, key: "snapshot:000000004711", publishedAt: new Date(NOW).toISOString() }).length;

async function decideP50(decide, index, inputs) {
  let i = 0;
  const mask = inputs.length - 1;
  const always = Number.POSITIVE_INFINITY;
  const m = await measure(() => do_not_optimize(decide(index, inputs[i++ & mask], NOW)), {
    now: cpuNow,
    min_cpu_time: 400e6,
    warmup_threshold: always,
    batch_threshold: always,
  });
  return m.p50;
}

const warmAll = (decide, index, live) => {
  for (const l of live) {
    decide(index, { agent: l.agent, key: null, pin: null }, NOW);
    decide(index, { agent: l.agent, key: null, pin: l.canary }, NOW);
  }
};

/**
 * One by-digest layout (`X`, a bundle of its loader and publisher) on the fixture: what it publishes, and a
 * `round()` that measures its cold load, warm flip, control-plane side, heap and decide p50 under `prefix`.
 */
async function layoutSide(prefix, X, n, snapshot, live, first, inputs) {
  const state = { revision: snapshot.revision, agents: {}, overrides: snapshot.overrides };
  const manifests = new Map();
  for (const [agent, a] of Object.entries(snapshot.agents)) {
    state.agents[agent] = a.pointers;
    for (const r of Object.values(a.releases)) manifests.set(r.digest, r.manifest);
  }
  const digest = (agent, version) => snapshot.agents[agent]?.releases[version]?.digest ?? null;
  const state2 = {
    ...state,
    revision: state.revision + 1,
    agents: {
      ...state.agents,
      [live[0].agent]: {
        ...state.agents[live[0].agent],
        canary: { ...state.agents[live[0].agent].canary, percent: 77 },
      },
    },
  };
  const store = new Map();
  let lastPublication;
  const publish = async (s) => {
    lastPublication = X.buildPublication(s, digest, NOW, lastPublication);
    const r = await X.render(lastPublication);
    store.set(r.rootKey, r.rootText);
    for (const [k, t] of r.shards) store.set(k, t);
    for (const [k, d] of r.releases) if (!store.has(k)) store.set(k, X.canonicalJson(manifests.get(d)));
    return r;
  };
  const pub1 = await publish(state);
  const pub2 = await publish(state2);
  let bytesRead = 0;
  // Fresh copies of every value per round, made outside the timed code: what a store hands over are new strings.
  let copies = new Map();
  const source = {
    name: "memory",
    async blobs(keys) {
      const out = new Map();
      for (const k of keys) {
        const t = copies.get(k);
        if (t !== undefined) {
          out.set(k, t);
          bytesRead += t.length;
        }
      }
      return out;
    },
  };
  const added = [...pub2.named].filter((k) => !pub1.named.has(k));
  const flipPublished = added.reduce((s, k) => s + store.get(k).length, 0) + headBytes(pub2.revision);
  put(`${n}.${prefix}.flipKB`, flipPublished / KB);
  put(`${n}.${prefix}.stateMB`, [...store.values()].reduce((s, t) => s + t.length, 0) / MB);
  return {
    async round() {
      let h0;
      let c;
      // cold
      copies = new Map();
      h0 = heap(); // before the copies: the manifest texts the isolate holds count (and, a little over, the shards')
      copies = new Map([...store].map(([k, t]) => [k, Buffer.from(t).toString()]));
      globalThis.gc();
      c = process.cpuUsage();
      const t = process.threadCpuUsage();
      const held = { manifests: new X.ManifestStore(), shards: new Map() };
      const loaded = await X.loadRevision(source, pub1.rootText, held);
      put(`${n}.${prefix}.loadCpuMs`, cpuMs(c));
      let idx = X.indexState(loaded, (d) => held.manifests.resolve(d));
      X.decide(idx, first, NOW);
      put(`${n}.${prefix}.coldCpuMs`, cpuMs(c));
      put(`${n}.${prefix}.coldThreadMs`, threadMs(t));
      put(`${n}.${prefix}.heapMB`, (heap() - h0) / MB);
      // a flip on the warm isolate: the changed shard only
      bytesRead = 0;
      heap();
      c = process.cpuUsage();
      const state2Loaded = await X.loadRevision(source, pub2.rootText, held);
      const idx2 = X.indexState(state2Loaded, (d) => held.manifests.resolve(d));
      put(`${n}.${prefix}.flipCpuMs`, cpuMs(c));
      put(`${n}.${prefix}.flipReadKB`, (bytesRead + pub2.rootText.length + headBytes(pub2.revision)) / KB);
      do_not_optimize(idx2);
      // the control plane's side of a revision
      // A revision from scratch (a fresh control-plane instance), then a one-pointer flip after it.
      const base = X.buildPublication(state, digest, NOW);
      c = process.cpuUsage();
      do_not_optimize(await X.render(X.buildPublication(state, digest, NOW)));
      put(`${n}.${prefix}.publishFullCpuMs`, cpuMs(c));
      await X.render(base);
      c = process.cpuUsage();
      do_not_optimize(await X.render(X.buildPublication(state2, digest, NOW, base)));
      put(`${n}.${prefix}.publishCpuMs`, cpuMs(c));
      h0 = heap();
      warmAll(X.decide, idx, live);
      put(`${n}.${prefix}.warmHeapMB`, (heap() - h0) / MB);
      put(`${n}.${prefix}.decideNs`, await decideP50(X.decide, idx, inputs));
      idx = null;
    },
  };
}

for (const n of SIZES) {
  log(`${n} agents: building the fixture …`);
  const { snapshot, live } = await buildSnapshot({ agents: n, overrides: OVERRIDES, now: NOW, digestOf: A.digestOf });
  const inputs = buildInputs(live, 1 << 16);
  const first = inputs[0];
  const tag = `${n.toLocaleString("en-US")} agents`;

  // ---- before: one snapshot with every manifest ----
  const json = JSON.stringify(snapshot);
  const flipped = structuredClone(snapshot);
  flipped.revision++;
  flipped.agents[live[0].agent].pointers.canary.percent = 77;
  const nextJson = JSON.stringify(flipped);

  put(`${n}.before.flipKB`, (nextJson.length + headBytes(flipped.revision)) / KB);
  put(`${n}.before.stateMB`, json.length / MB);
  const sides = [];
  for (const [prefix, X] of LAYOUTS) sides.push(await layoutSide(prefix, X, n, snapshot, live, first, inputs));

  for (let round = 1; round <= ROUNDS; round++) {
    log(`${n} agents: round ${round}/${ROUNDS} …`);
    // before, cold (each timed step starts after a full GC, so no step pays for the garbage of another)
    const h0 = heap();
    let c = process.cpuUsage();
    const t = process.threadCpuUsage();
    let index = B.indexSnapshot(B.loadSnapshot(JSON.parse(json), null).data);
    B.decide(index, first, NOW);
    put(`${n}.before.coldCpuMs`, cpuMs(c));
    put(`${n}.before.coldThreadMs`, threadMs(t));
    put(`${n}.before.heapMB`, (heap() - h0) / MB);
    heap();
    c = process.cpuUsage();
    const next = B.indexSnapshot(B.loadSnapshot(JSON.parse(nextJson), index).data);
    put(`${n}.before.flipCpuMs`, cpuMs(c));
    do_not_optimize(next);
    warmAll(B.decide, index, live);
    put(`${n}.before.decideNs`, await decideP50(B.decide, index, inputs));
    index = null;
    // the by-digest layouts, in turn, in the same round
    for (const side of sides) await side.round();
  }
  put(`${n}.ratio.decide`, rows[`${n}.after.decideNs`].at(-1) / rows[`${n}.before.decideNs`].at(-1));

  rows[`${n}.tag`] = tag;
}

const f = (name, key, unit, extra) => figure(name, rows[key], unit, extra);
/** Labels of the three layouts in the table. */
const NAMES = { before: "format 1", mid: "format 2", after: "format 3" };
const figures = [];
for (const n of SIZES) {
  const t = rows[`${n}.tag`];
  const each = (what, key, unit, sides, extra = () => ({})) =>
    sides.map((side) => f(`${t}: ${what}, ${NAMES[side]}`, `${n}.${side}.${key}`, unit, extra(side)));
  const all = ["before", "mid", "after"];
  const byDigest = ["mid", "after"];
  const goalAt = (size, goal) => (side) => (side === "after" && n === size ? { goal } : {});
  figures.push(
    ...each("cold isolate, this thread's CPU to first answer", "coldThreadMs", "ms", all, goalAt(1000, "<= 10")),
    ...each("cold isolate, process CPU (all threads) to first answer", "coldCpuMs", "ms", all),
    ...each("  of which loadRevision (root + shards + manifest texts)", "loadCpuMs", "ms", byDigest),
    ...each("bytes published per one-pointer flip", "flipKB", "KB", all, goalAt(10000, "<= 64")),
    ...each("bytes read per one-pointer flip (root + shard + head)", "flipReadKB", "KB", byDigest),
    ...each("flip on a warm isolate, CPU", "flipCpuMs", "ms", all),
    ...each("control plane builds a revision from scratch, CPU", "publishFullCpuMs", "ms", byDigest),
    ...each("control plane builds a one-pointer flip, CPU", "publishCpuMs", "ms", byDigest),
    ...each("retained heap after cold load", "heapMB", "MB", all),
    ...each("  plus every agent asked once", "warmHeapMB", "MB", byDigest),
    ...each("published state in all", "stateMB", "MB", all),
    ...each("decide, warm, CPU p50", "decideNs", "ns/op", all, (side) => (side === "after" ? { goal: "<= 181" } : {})),
    f(`${t}: decide p50 format 3 / format 1 (last round)`, `${n}.ratio.decide`, "x"),
  );
}

const results = {
  name: "snapshot",
  machine: machine(),
  node: process.version,
  date: new Date().toISOString(),
  rounds: ROUNDS,
  setup: {
    before: `src/ of ${BEFORE_REV} (format 1)`,
    mid: `src/ of ${MID_REV} (format 2)`,
    after: "this tree (format 3)",
    sizes: SIZES,
    releasesPerAgent: 3,
    overrides: OVERRIDES,
    zod: "jitless on both sides, as in workerd",
    timer:
      "cold: this thread's CPU (process.threadCpuUsage), and the process's (all threads, V8's GC helpers included); others process CPU; decide p50 by mitata on the CPU clock",
  },
  figures,
  raw: rows,
};
writeJson(join(HERE, "results.json"), results);
console.log(
  `\nsnapshot benchmark — ${results.machine.cpu} (${results.machine.cores} cores, load ${results.machine.loadavg.join(" ")}), node ${results.node}, ${ROUNDS} rounds\n`,
);
console.log(table(figures));
