/**
 * The soak (issue 7, docs/reliability.md): mixed agent and admin traffic through `npm start` for a bounded time,
 * while an operator flips pointers, and a check of everything that must hold at the end.
 *
 * - Server: `node scripts/start.mjs` (wrangler dev with local KV and Durable Objects, the demo upstream, the
 *   dev token, the demo agent support-bot seeded with releases 2026.11.20-3 and 2026.11.27-1), run from a
 *   snapshot of the committed tree (`git archive HEAD`, so edits in the working tree cannot hot-reload it
 *   mid-run) with a fresh state directory, in its own process group, killed with `process.kill(-pid)` at the end.
 * - Agent clients: CLIENTS loops on keep-alive connections, sticky keys from a pool, some pinned, GET and POST.
 *   Valid answer: 200 with x-agent-release one of the two releases, or, while an `off` override is in force,
 *   the release's documented user fallback (503, its JSON body, x-agent-decision `off`).
 * - Admin readers: state, audit and explain, continuously; valid answer: 200.
 * - Flipper: one operator making changes in turn (promote either release, start/move/abort the canary, add and
 *   remove draft-only and off overrides); each change must answer 2xx, and the data plane must show it (probed
 *   until it does, at most FLIP_DEADLINE_MS) before the next one.
 * - At the end: every successful change is in GET /admin/v1/audit, seq contiguous from 1; RSS of the workerd
 *   processes under the spawned tree, sampled from /proc at the start and the end (and every 5 s between).
 *
 * Loopback only, bounded in time (DURATION_S, hard stop after DURATION_S + 180 s), stops by itself.
 *
 *   node bench/soak/run.mjs                     (120 s; writes bench/soak/results.json)
 *   SOAK_DURATION_S=120 SOAK_CLIENTS=8 node bench/soak/run.mjs
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import net from "node:net";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..");
const DURATION_S = Number(process.env.SOAK_DURATION_S ?? 120);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 6);
const READERS = 1;
const FLIP_DEADLINE_MS = 10_000;
const FLIP_PAUSE_MS = 400;
const STARTUP_TIMEOUT_MS = 120_000;
const HARD_STOP_MS = (DURATION_S + 180) * 1000;
const TOKEN = "dev-admin-token";
const STABLE = "2026.11.20-3";
const NEXT = "2026.11.27-1";
const RELEASES = new Set([STABLE, NEXT]);
const USER_FALLBACK = "The assistant is paused; a person will answer shortly.";

const log = (...a) => console.error(`[soak ${new Date().toISOString().slice(11, 19)}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

// ---- ports, tree and server ---------------------------------------------------------------------------------
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
const PORT = Number(process.env.PORT ?? (await freePort()));
const UPSTREAM_PORT = Number(process.env.UPSTREAM_PORT ?? (await freePort()));
const INSPECTOR_PORT = await freePort();

const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
const tree = mkdtempSync(join(tmpdir(), "switchyard-soak-"));
execFileSync(
  "sh",
  ["-c", `git archive HEAD src scripts wrangler.toml package.json tsconfig.json | tar -x -C "${tree}"`],
  {
    cwd: ROOT,
  },
);
symlinkSync(join(ROOT, "node_modules"), join(tree, "node_modules"), "dir");
const PERSIST = join(tree, ".state");

let child = null;
let exited = null;
function killGroup(signal) {
  if (child === null) return false;
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false; // the group is gone
  }
}
async function stopServer() {
  if (child !== null && killGroup("SIGTERM")) {
    await Promise.race([exited, sleep(5000)]);
    for (let i = 0; i < 30 && killGroup(0); i++) await sleep(100);
    killGroup("SIGKILL");
  }
  child = null;
  try {
    rmSync(tree, { recursive: true, force: true }); // the node_modules link goes, never what it points to
  } catch {}
}
process.on("exit", () => {
  killGroup("SIGKILL");
  try {
    rmSync(tree, { recursive: true, force: true });
  } catch {}
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    log(`${sig}: stopping`);
    stopServer().finally(() => process.exit(130));
  });
}
const hardStop = setTimeout(() => {
  log(`hard stop after ${HARD_STOP_MS / 1000} s`);
  stopServer().finally(() => process.exit(2));
}, HARD_STOP_MS);
hardStop.unref();

async function startServer() {
  const args = [
    join(tree, "scripts", "start.mjs"),
    "--persist-to",
    PERSIST,
    "--inspector-port",
    String(INSPECTOR_PORT),
  ];
  child = spawn(process.execPath, args, {
    cwd: tree,
    detached: true, // its own process group: start.mjs, wrangler and workerd all go with process.kill(-pid)
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, SWITCHYARD_QUIET: "1", PORT: String(PORT), UPSTREAM_PORT: String(UPSTREAM_PORT) },
  });
  exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => {
    err = (err + d).slice(-4000);
  });
  const ready = new Promise((resolve) =>
    child.stdout.on("data", (d) => {
      out = (out + d).slice(-4000);
      if (out.includes("Switchyard is running")) resolve();
    }),
  );
  const t = now();
  const outcome = await Promise.race([
    ready.then(() => "ready"),
    exited.then((e) => `exited (${e.code ?? e.signal})`),
    sleep(STARTUP_TIMEOUT_MS).then(() => "not ready in time"),
  ]);
  if (outcome !== "ready") throw new Error(`the gateway ${outcome}: ${(err || out).trim().slice(-2000)}`);
  return now() - t;
}

// ---- memory: RSS of the workerd processes under the spawned tree, from /proc ----------------------------------
function processTree(rootPid) {
  const children = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {} // gone meanwhile
  }
  const out = [];
  const walk = (pid) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(rootPid);
  return out;
}
function rssOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    return { pid, comm, kB: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) };
  } catch {
    return null;
  }
}
function memorySample() {
  const procs = processTree(child.pid).map(rssOf).filter(Boolean);
  const workerd = procs.filter((p) => p.comm.includes("workerd"));
  const mb = (kB) => Math.round((kB / 1024) * 10) / 10;
  return {
    atS: Math.round((now() - started) / 100) / 10,
    workerdMB: mb(workerd.reduce((s, p) => s + p.kB, 0)),
    workerdPids: workerd.map((p) => p.pid),
    treeMB: mb(procs.reduce((s, p) => s + p.kB, 0)),
  };
}

// ---- memory: the Worker's own JS heap after a forced GC, through the DevTools inspector -----------------------
// RSS alone cannot tell a leak from garbage V8 has not collected yet; the live heap after a full GC can.
// Uses the `ws` package wrangler depends on; without it the heap figures are null. Opt-in (SOAK_HEAP=1): on
// this wrangler/workerd, attaching a second DevTools client during traffic made workerd's RSS climb past 2 GB
// and the gateway stop answering within a minute, so a default run never attaches (bench/soak/README.md).
async function heapAfterGc() {
  if (process.env.SOAK_HEAP !== "1") return null;
  let WebSocket;
  try {
    WebSocket = createRequire(import.meta.url)("ws");
  } catch {
    return null;
  }
  try {
    const targets = await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json`)).json();
    const url = targets.find((t) => t.webSocketDebuggerUrl)?.webSocketDebuggerUrl;
    if (!url) return null;
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    let id = 0;
    const send = (method) =>
      new Promise((resolve, reject) => {
        const my = ++id;
        const onMessage = (data) => {
          const msg = JSON.parse(String(data));
          if (msg.id !== my) return;
          ws.off("message", onMessage);
          if (msg.error) reject(new Error(msg.error.message));
          else resolve(msg.result);
        };
        ws.on("message", onMessage);
        ws.send(JSON.stringify({ id: my, method }));
        setTimeout(() => reject(new Error(`${method}: no answer`)), 10_000);
      });
    await send("HeapProfiler.collectGarbage");
    const { usedSize, totalSize } = await send("Runtime.getHeapUsage");
    ws.close();
    return { usedMB: Math.round((usedSize / 2 ** 20) * 10) / 10, totalMB: Math.round((totalSize / 2 ** 20) * 10) / 10 };
  } catch (err) {
    log(`heap sample failed: ${err}`);
    return null;
  }
}

// ---- HTTP on loopback ---------------------------------------------------------------------------------------
function request(agent, method, path, { headers = {}, body } = {}) {
  return new Promise((resolve) => {
    const t0 = now();
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const req = http.request(
      {
        host: "127.0.0.1",
        port: PORT,
        method,
        path,
        agent,
        headers: payload === undefined ? headers : { ...headers, "content-type": "application/json" },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () =>
          resolve({
            ms: now() - t0,
            status: res.statusCode,
            headers: res.headers,
            text: Buffer.concat(chunks).toString(),
          }),
        );
        res.on("error", (e) => resolve({ ms: now() - t0, status: 0, headers: {}, text: String(e) }));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error("no answer within 30 s")));
    req.on("error", (e) => resolve({ ms: now() - t0, status: 0, headers: {}, text: String(e) }));
    req.end(payload);
  });
}
const adminAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
const auth = { authorization: `Bearer ${TOKEN}` };
async function admin(method, path, body) {
  const r = await request(adminAgent, method, `/admin/v1${path}`, { headers: auth, body });
  let json = null;
  try {
    json = JSON.parse(r.text);
  } catch {}
  return { ...r, json };
}

// ---- bookkeeping --------------------------------------------------------------------------------------------
const stats = {
  agent: { requests: 0, invalid: 0, byStatus: {}, byRelease: {}, byDecision: {}, latencies: [] },
  admin: { requests: 0, invalid: 0, byStatus: {}, latencies: [] },
};
const invalidSamples = [];
function note(kind, r, valid, why) {
  const s = stats[kind];
  s.requests++;
  s.byStatus[r.status] = (s.byStatus[r.status] ?? 0) + 1;
  s.latencies.push(r.ms);
  if (!valid) {
    s.invalid++;
    if (invalidSamples.length < 20) invalidSamples.push({ kind, status: r.status, why, text: r.text.slice(0, 300) });
  }
}

/** An agent answer is valid when it is one of the two releases, or the documented user fallback of `off`. */
function validAgentAnswer(r) {
  const release = r.headers["x-agent-release"];
  const decision = String(r.headers["x-agent-decision"] ?? "");
  if (r.status === 200) {
    if (!RELEASES.has(release)) return `200 from release ${release}`;
    if (!/^(stable|canary|pinned)\b/.test(decision)) return `200 with decision ${decision}`;
    try {
      if (!JSON.parse(r.text).reply?.includes(release)) return "the upstream answered for another release";
    } catch {
      return "200 without the demo upstream's JSON";
    }
    return null;
  }
  if (r.status === 503 && decision.startsWith("off")) {
    if (!RELEASES.has(release)) return `off from release ${release}`;
    try {
      if (JSON.parse(r.text).message !== USER_FALLBACK) return "off without the release's user fallback";
    } catch {
      return "off answer is not JSON";
    }
    return null;
  }
  return `status ${r.status}`;
}

let running = true;
const started = now();
const keys = Array.from({ length: 2000 }, (_, i) => `soak-user-${i}`);

async function agentClient(i) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let n = 0;
  while (running) {
    n++;
    const headers = {};
    if (n % 10 !== 0) headers["x-agent-key"] = keys[(i * 7919 + n * 104729) % keys.length];
    if (n % 25 === 0) headers["x-agent-release"] = n % 50 === 0 ? STABLE : NEXT;
    const post = n % 3 === 0;
    const r = await request(agent, post ? "POST" : "GET", `/agents/support-bot/chat?n=${n}`, {
      headers,
      ...(post ? { body: { message: `hello ${n}`, client: i } } : {}),
    });
    const why = validAgentAnswer(r);
    note("agent", r, why === null, why);
    const rel = r.headers["x-agent-release"] ?? "none";
    stats.agent.byRelease[rel] = (stats.agent.byRelease[rel] ?? 0) + 1;
    const kind = String(r.headers["x-agent-decision"] ?? "none").split(";")[0];
    stats.agent.byDecision[kind] = (stats.agent.byDecision[kind] ?? 0) + 1;
  }
  agent.destroy();
}

async function adminReader() {
  const paths = [
    "/state",
    "/audit?limit=20",
    "/explain?agent=support-bot&key=soak-user-1",
    "/agents/support-bot/releases",
  ];
  let n = 0;
  while (running) {
    const r = await admin("GET", paths[n++ % paths.length]);
    note("admin", r, r.status === 200, `status ${r.status}`);
    await sleep(20);
  }
}

// ---- the flipper --------------------------------------------------------------------------------------------
const flips = []; // { action, revision, ms: time to be served, served }
const changes = []; // revisions of every successful change, for the audit check
const agentProbe = new http.Agent({ keepAlive: true, maxSockets: 1 });
let overrides = []; // ids of the overrides this run added and has not removed

/** Probes the data plane until `check(answer)` holds: the flip is served. */
async function servedWithin(check, headers = {}) {
  const t0 = now();
  while (now() - t0 < FLIP_DEADLINE_MS) {
    const r = await request(agentProbe, "GET", "/agents/support-bot/probe", { headers });
    if (check(r)) return now() - t0;
    await sleep(20);
  }
  return null;
}

async function mutate(action, method, path, body) {
  const r = await admin(method, path, body);
  note("admin", r, r.status >= 200 && r.status < 300, `${action} → ${r.status}`);
  if (r.status >= 200 && r.status < 300 && r.json?.changed !== false)
    changes.push({ action, revision: r.json.revision });
  return r;
}

const rel = (r) => r.headers["x-agent-release"];
const lane = (r) => r.headers["x-agent-lane"];
const decision = (r) => String(r.headers["x-agent-decision"] ?? "");

/**
 * Keys whose bucket for the canary NEXT puts them inside a 5 % canary (IN5), inside 30 % but not 5 % (IN30),
 * found through `explain` before the run, so that each canary move has a request that only it changes.
 */
const probeKeys = { IN5: null, IN30: null };
async function findProbeKeys() {
  for (let i = 0; i < 2000 && (probeKeys.IN5 === null || probeKeys.IN30 === null); i++) {
    const key = `probe-${i}`;
    const r = await admin("GET", `/explain?agent=support-bot&key=${key}`);
    const bucket = r.json?.decision?.bucket;
    if (typeof bucket !== "number") throw new Error(`explain gave no bucket: ${r.text.slice(0, 200)}`);
    if (bucket < 500 && probeKeys.IN5 === null) probeKeys.IN5 = key;
    if (bucket >= 500 && bucket < 3000 && probeKeys.IN30 === null) probeKeys.IN30 = key;
  }
}

/**
 * The operator's cycle: every kind of change, each checked by a request whose answer only that change can
 * explain. `x-agent-release` is checked rather than the status, since an `off` lane still names its release.
 */
const CYCLE = [
  {
    action: `canary ${NEXT} 5 %`,
    call: ["POST", "/agents/support-bot/canary", { version: NEXT, percent: 5 }],
    check: [(r) => rel(r) === NEXT, () => ({ "x-agent-key": probeKeys.IN5 })],
  },
  {
    action: "override draft-only",
    call: ["POST", "/overrides", { scope: { agent: "support-bot" }, set: { mode: "draft-only" }, ttlSeconds: 3600 }],
    check: [(r) => lane(r) === "draft-only", () => ({})],
  },
  {
    action: `canary ${NEXT} 30 %`,
    call: ["POST", "/agents/support-bot/canary", { version: NEXT, percent: 30 }],
    check: [(r) => rel(r) === NEXT, () => ({ "x-agent-key": probeKeys.IN30 })],
  },
  { action: "remove override", remove: true, check: [(r) => lane(r) === "autonomous", () => ({})] },
  {
    action: "override off",
    call: ["POST", "/overrides", { scope: { agent: "support-bot" }, set: { mode: "off" }, ttlSeconds: 3600 }],
    check: [(r) => r.status === 503 && decision(r).startsWith("off"), () => ({})],
  },
  { action: "remove override", remove: true, check: [(r) => r.status === 200, () => ({})] },
  {
    action: "abort canary",
    call: ["DELETE", "/agents/support-bot/canary"],
    check: [(r) => rel(r) === STABLE, () => ({ "x-agent-key": probeKeys.IN5 })],
  },
  {
    action: `promote ${NEXT}`,
    call: ["POST", "/agents/support-bot/promote", { version: NEXT }],
    check: [(r) => rel(r) === NEXT, () => ({})],
  },
  {
    action: "override draft-only",
    call: ["POST", "/overrides", { scope: { agent: "support-bot", release: NEXT }, set: { mode: "draft-only" } }],
    check: [(r) => lane(r) === "draft-only", () => ({})],
  },
  { action: "remove override", remove: true, check: [(r) => lane(r) === "autonomous", () => ({})] },
  {
    action: `promote ${STABLE}`,
    call: ["POST", "/agents/support-bot/promote", { version: STABLE }],
    check: [(r) => rel(r) === STABLE, () => ({})],
  },
];

function nextFlip(step) {
  const f = CYCLE[step % CYCLE.length];
  const reason = `soak step ${step}: ${f.action}`;
  if (f.remove) {
    const id = overrides[0];
    return { ...f, call: ["DELETE", `/overrides/${id}?reason=${encodeURIComponent(reason)}`], removed: id };
  }
  const [method, path, body] = f.call;
  return {
    ...f,
    call:
      method === "DELETE"
        ? [method, `${path}?reason=${encodeURIComponent(reason)}`]
        : [method, path, { ...body, reason }],
    added: path === "/overrides",
  };
}

async function flipper() {
  let step = 0;
  while (running) {
    const f = nextFlip(step++);
    const r = await mutate(f.action, ...f.call);
    if (r.status < 200 || r.status >= 300) {
      flips.push({ action: f.action, status: r.status, served: false, error: r.text.slice(0, 200) });
      await sleep(FLIP_PAUSE_MS);
      continue;
    }
    if (f.added) overrides.push(r.json.id);
    if (f.removed) overrides = overrides.filter((id) => id !== f.removed);
    const ms = await servedWithin(f.check[0], f.check[1]());
    flips.push({ action: f.action, revision: r.json.revision, served: ms !== null, servedMs: ms });
    await sleep(FLIP_PAUSE_MS);
  }
}

// ---- the run ------------------------------------------------------------------------------------------------
const percentile = (xs, p) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] * 100) / 100;
};

async function readAudit() {
  const entries = [];
  let before = null;
  for (let i = 0; i < 1000; i++) {
    const r = await admin("GET", `/audit?limit=500${before === null ? "" : `&before=${before}`}`);
    if (r.status !== 200) throw new Error(`audit → ${r.status} ${r.text.slice(0, 200)}`);
    entries.push(...r.json.entries);
    if (r.json.next === null) break;
    before = r.json.next;
  }
  return entries;
}

let result;
try {
  log(`starting the gateway from commit ${commit} on 127.0.0.1:${PORT} (demo upstream ${UPSTREAM_PORT})`);
  const startupMs = await startServer();
  log(`ready in ${Math.round(startupMs)} ms; ${DURATION_S} s of traffic with ${CLIENTS} agent clients`);
  const state = await admin("GET", "/state");
  const seeded = state.json.revision;
  await findProbeKeys();
  log(`probe keys: ${JSON.stringify(probeKeys)}`);

  const memory = [];
  const sampler = setInterval(() => memory.push(memorySample()), 5000);
  const clients = [
    ...Array.from({ length: CLIENTS }, (_, i) => agentClient(i)),
    ...Array.from({ length: READERS }, () => adminReader()),
    flipper(),
  ];
  await sleep(2000); // warm: the first samples of a cold isolate are not the steady state
  const memStart = memorySample();
  memory.push(memStart);
  const heapStart = await heapAfterGc();
  await sleep(DURATION_S * 1000 - 2000);
  const memEnd = memorySample();
  running = false;
  await Promise.all(clients);
  const heapEnd = await heapAfterGc();
  clearInterval(sampler);
  memory.push(memEnd);
  const elapsedS = (now() - started) / 1000;

  // Every successful change is in the audit, seq contiguous from 1.
  const audit = await readAudit();
  const seqs = audit.map((e) => e.seq).sort((a, b) => a - b);
  const contiguous = seqs.every((s, i) => s === i + 1);
  const revisions = new Set(audit.map((e) => e.revision));
  const missing = changes.filter((c) => !revisions.has(c.revision));
  const final = await admin("GET", "/state");
  const health = await request(agentProbe, "GET", "/healthz");

  const servedMs = flips.filter((f) => f.served).map((f) => f.servedMs);
  const allLat = [...stats.agent.latencies, ...stats.admin.latencies];
  result = {
    name: "soak",
    date: new Date().toISOString(),
    commit,
    command: "node bench/soak/run.mjs",
    machine: {
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      memoryGB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadavgAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
    },
    setup: {
      gateway: `scripts/start.mjs (wrangler dev, local KV and Durable Objects) on 127.0.0.1:${PORT}`,
      durationS: DURATION_S,
      elapsedS: Math.round(elapsedS * 10) / 10,
      agentClients: CLIENTS,
      adminReaders: READERS,
      startupMs: Math.round(startupMs),
      seededRevision: seeded,
    },
    requests: stats.agent.requests + stats.admin.requests,
    errors: stats.agent.invalid + stats.admin.invalid,
    agent: {
      requests: stats.agent.requests,
      invalid: stats.agent.invalid,
      perSecond: Math.round(stats.agent.requests / elapsedS),
      byStatus: stats.agent.byStatus,
      byRelease: stats.agent.byRelease,
      byDecision: stats.agent.byDecision,
      latencyMs: {
        p50: percentile(stats.agent.latencies, 50),
        p99: percentile(stats.agent.latencies, 99),
        max: percentile(stats.agent.latencies, 100),
      },
    },
    admin: {
      requests: stats.admin.requests,
      invalid: stats.admin.invalid,
      byStatus: stats.admin.byStatus,
      latencyMs: { p50: percentile(stats.admin.latencies, 50), p99: percentile(stats.admin.latencies, 99) },
    },
    latencyMs: { p50: percentile(allLat, 50), p99: percentile(allLat, 99) },
    flips: {
      total: flips.length,
      failed: flips.filter((f) => f.status !== undefined).length,
      served: flips.filter((f) => f.served).length,
      servedMs: { p50: percentile(servedMs, 50), p99: percentile(servedMs, 99), max: percentile(servedMs, 100) },
      byAction: flips.reduce((m, f) => {
        const a = f.action;
        m[a] = (m[a] ?? 0) + 1;
        return m;
      }, {}),
    },
    audit: {
      entries: audit.length,
      seqContiguousFrom1: contiguous,
      maxSeq: seqs.at(-1) ?? null,
      successfulChanges: changes.length,
      changesMissingFromAudit: missing.length,
      finalRevision: final.json?.revision ?? null,
      finalRevisionEqualsAuditCount: final.json?.revision === audit.length,
    },
    memory: {
      what: "VmRSS of the workerd processes under the spawned process group, from /proc",
      startMB: memStart.workerdMB,
      endMB: memEnd.workerdMB,
      maxMB: Math.max(...memory.map((m) => m.workerdMB)),
      treeStartMB: memStart.treeMB,
      treeEndMB: memEnd.treeMB,
      samples: memory.map(({ atS, workerdMB, treeMB }) => ({ atS, workerdMB, treeMB })),
      workerHeapAfterGc: {
        what: "the Worker isolate's live JS heap after HeapProfiler.collectGarbage, via the wrangler dev inspector",
        start: heapStart,
        end: heapEnd,
      },
    },
    healthzAtEnd: (() => {
      try {
        return JSON.parse(health.text);
      } catch {
        return health.text.slice(0, 200);
      }
    })(),
    invalidSamples,
    flipLog: flips,
  };
} catch (err) {
  log(String(err?.stack ?? err));
  await stopServer();
  process.exit(1);
}
await stopServer();
clearTimeout(hardStop);

const ok =
  result.errors === 0 &&
  result.flips.failed === 0 &&
  result.flips.served === result.flips.total &&
  result.audit.seqContiguousFrom1 &&
  result.audit.changesMissingFromAudit === 0;
result.verdict = ok ? "pass" : "fail";
writeFileSync(join(HERE, "results.json"), `${JSON.stringify(result, null, 2)}\n`);
const r = result;
console.log(`soak ${r.verdict}: ${r.setup.elapsedS} s, ${r.requests} requests (${r.agent.requests} agent at ${r.agent.perSecond}/s, ${r.admin.requests} admin), ${r.errors} invalid
  agent latency p50 ${r.agent.latencyMs.p50} ms, p99 ${r.agent.latencyMs.p99} ms; admin p50 ${r.admin.latencyMs.p50} ms, p99 ${r.admin.latencyMs.p99} ms
  flips ${r.flips.total} (failed ${r.flips.failed}), served ${r.flips.served}, flip-to-served p50 ${r.flips.servedMs.p50} ms, p99 ${r.flips.servedMs.p99} ms, max ${r.flips.servedMs.max} ms
  audit ${r.audit.entries} entries, seq contiguous: ${r.audit.seqContiguousFrom1}, changes missing: ${r.audit.changesMissingFromAudit}
  workerd RSS ${r.memory.startMB} MB at start, ${r.memory.endMB} MB at end (max ${r.memory.maxMB} MB)
  Worker JS heap after GC: ${JSON.stringify(r.memory.workerHeapAfterGc.start)} at start, ${JSON.stringify(r.memory.workerHeapAfterGc.end)} at end
  written to bench/soak/results.json`);
process.exit(ok ? 0 : 1);
