/**
 * Release plans, end to end (issue 16, CONTRACT §4.4, docs/plans.md), against a running `npm start`.  @bench needs-server
 *
 *   PORT=9600 UPSTREAM_PORT=9601 npm start -- --inspector-port 9602 --persist-to /tmp/plan-bench-state
 *   node bench/plan/run.mjs --gateway http://127.0.0.1:9600 [--runs 10] [--hold 3]
 *
 * Stores `bench-plan-<hold>` of the demo agent support-bot (the demo canary's manifest with a short trigger and a
 * two-step plan: 10 % then 50 %, each held `hold` seconds; trigger tool_blocked maxRate 1 %, minRequests 20, window
 * `hold` s, abort-canary; promote false). Finds two sticky keys: one in the canary at 10 % (K1), one that joins it
 * only at 50 % (K2). Each run:
 *
 * 1. Starts the canary (the plan's step 1, 10 %) and, a second later (a step counts from the second after it
 *    began), sends minRequests healthy requests with K1, so the step waits only for its hold: the move is due at
 *    `since + hold` (since: the plan's state in /state).
 * 2. From then, requests K2 every 20 ms until the canary serves it. **due → served at the new percent** is that
 *    moment minus the due time; the audit entry `plan step 2` splits it into due → committed → served.
 * 3. Waits one window (the trigger's counts clear), sends with K1 exactly the healthy and failing requests
 *    (`?failure=tool_blocked`) that make the last one breach, then requests K1 every 20 ms until the stable release
 *    serves it: **breach → canary aborted and served**.
 *
 * Loopback only; bounded (each wait gives up after 15 s). Writes bench/plan/results.json.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { figure, machine, table } from "../report.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const AGENT = "support-bot";
const DEMO_CANARY = "2026.11.27-1";

const { values: args } = parseArgs({
  options: {
    gateway: { type: "string", default: `http://127.0.0.1:${process.env.PORT ?? 8787}` },
    runs: { type: "string", default: "10" },
    hold: { type: "string", default: "3" },
    token: { type: "string", default: "dev-admin-token" },
  },
});
const gw = args.gateway;
const HOLD = Number(args.hold);
const VERSION = `bench-plan-${HOLD}`;
const TRIGGER = {
  failureClass: "tool_blocked",
  maxRate: 0.01,
  minRequests: 20,
  windowSeconds: HOLD,
  action: "abort-canary",
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function admin(method, path, body) {
  const res = await fetch(`${gw}/admin/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${args.token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return JSON.parse(text);
}

/** One agent request with the sticky key; returns the release that served it. */
async function agentRequest(key, fail = false) {
  const res = await fetch(`${gw}/agents/${AGENT}/chat${fail ? "?failure=tool_blocked" : ""}`, {
    method: "POST",
    headers: { "x-agent-key": key, "content-type": "text/plain" },
    body: "hi",
  });
  await res.arrayBuffer();
  return res.headers.get("x-agent-release");
}

/** Requests `key` every 20 ms until `release` serves it; the time it did. */
async function until(key, release) {
  const from = Date.now();
  while (Date.now() - from < 15_000) {
    if ((await agentRequest(key)) === release) return Date.now();
    await sleep(20);
  }
  throw new Error(`${key} not served by ${release} within 15 s`);
}

async function setup() {
  const { manifest } = await admin("GET", `/agents/${AGENT}/releases/${DEMO_CANARY}`);
  const plan = {
    steps: [
      { percent: 10, holdSeconds: HOLD },
      { percent: 50, holdSeconds: HOLD },
    ],
    promote: false,
  };
  const body = {
    ...manifest,
    version: VERSION,
    description: "bench/plan: a two-step plan with short holds",
    rollout: { ...manifest.rollout, triggers: [TRIGGER], plan },
  };
  await admin("PUT", `/agents/${AGENT}/releases/${VERSION}`, body);
  const state = await admin("GET", "/state");
  const stable = state.agents[AGENT].active;
  if (state.agents[AGENT].canary !== null) await admin("DELETE", `/agents/${AGENT}/canary?reason=bench-plan-setup`);
  // The buckets of a key for this canary version: K1 in it at 10 %, K2 only at 50 %.
  const keys = {};
  await admin("POST", `/agents/${AGENT}/canary`, { version: VERSION, reason: "bench/plan: find keys" });
  for (let i = 0; i < 2000 && (keys.k1 === undefined || keys.k2 === undefined); i++) {
    const e = await admin("GET", `/explain?agent=${AGENT}&key=plan-${i}`);
    const b = e.decision?.bucket;
    if (typeof b !== "number") continue;
    if (b < 1000 && keys.k1 === undefined) keys.k1 = `plan-${i}`;
    if (b >= 1000 && b < 5000 && keys.k2 === undefined) keys.k2 = `plan-${i}`;
  }
  await admin("DELETE", `/agents/${AGENT}/canary?reason=bench-plan-setup`);
  if (keys.k1 === undefined || keys.k2 === undefined) throw new Error("no keys found");
  return { stable, ...keys };
}

/** Healthy requests, then failing ones, such that the last failing one is the first to breach. */
function breachPlan(requests, failures) {
  const breach = (total, failed) => total >= TRIGGER.minRequests && failed / total > TRIGGER.maxRate;
  for (let n = Math.max(requests + 1, TRIGGER.minRequests); ; n++) {
    for (let k = 1; k <= n - requests; k++) {
      if (breach(n, failures + k) && !breach(n - 1, failures + k - 1)) return { good: n - requests - k, bad: k };
    }
  }
}

async function run(i, { stable, k1, k2 }) {
  await admin("POST", `/agents/${AGENT}/canary`, { version: VERSION, reason: `bench/plan run ${i}` });
  await until(k1, VERSION);
  // The step counts requests from the second after it began (docs/plans.md): minRequests in the next second.
  await sleep(1100);
  for (let n = 0; n < TRIGGER.minRequests; n++) await agentRequest(k1);
  const { plans } = await admin("GET", "/state");
  const dueAt =
    Date.parse(plans[AGENT].view?.dueAt ?? plans[AGENT].state.since) ||
    Date.parse(plans[AGENT].state.since) + HOLD * 1000;
  const waitsBefore = plans[AGENT].view?.waitsFor ?? null;
  const movedServedAt = await until(k2, VERSION);
  const audit = await admin("GET", `/audit?agent=${AGENT}&limit=10`);
  const move = audit.entries.find((e) => e.actor === "guard" && e.reason.startsWith("plan step 2"));
  const movedAt = move ? Date.parse(move.at) : null;

  // Breach: one window of quiet, then exactly enough requests that the last one breaches.
  await sleep(HOLD * 1000 + 1200);
  const health = await admin("GET", `/agents/${AGENT}/health`);
  const t = health.releases.find((r) => r.version === VERSION)?.triggers[0];
  const { good, bad } = breachPlan(t?.requests ?? 0, t?.failures.tool_blocked ?? 0);
  for (let g = 0; g < good; g++) await agentRequest(k1);
  for (let b = 0; b < bad; b++) await agentRequest(k1, true);
  const breachedAt = Date.now();
  const abortServedAt = await until(k1, stable);
  const after = await admin("GET", `/audit?agent=${AGENT}&limit=5`);
  const abort = after.entries.find((e) => e.actor === "guard" && e.action === "canary.abort");
  const out = {
    run: i,
    waitsBefore,
    dueToServedMs: movedServedAt - dueAt,
    dueToCommittedMs: movedAt === null ? null : movedAt - dueAt,
    committedToServedMs: movedAt === null ? null : movedServedAt - movedAt,
    moveReason: move?.reason ?? null,
    breach: { good, bad },
    breachToServedMs: abortServedAt - breachedAt,
    breachToCommittedMs: abort ? Date.parse(abort.at) - breachedAt : null,
  };
  console.log(JSON.stringify(out));
  return out;
}

/** Nearest-rank percentile. */
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

const keys = await setup();
const runs = [];
for (let i = 1; i <= Number(args.runs); i++) runs.push(await run(i, keys));
const ms = (k) => runs.map((r) => r[k]).filter((x) => x !== null);
const withP99 = (name, values) => figure(name, values, "ms", { p99: pct(values, 99) });
const figures = [
  withP99("plan: due → served at the new percent", ms("dueToServedMs")),
  withP99("plan: due → move committed", ms("dueToCommittedMs")),
  withP99("plan: committed → served", ms("committedToServedMs")),
  withP99("plan: breach → canary aborted and served", ms("breachToServedMs")),
  withP99("plan: breach → abort committed", ms("breachToCommittedMs")),
];
console.log(`\n${table(figures)}`);
for (const f of figures) console.log(`${f.name}: p99 ${f.p99} ms`);
writeFileSync(
  join(HERE, "results.json"),
  `${JSON.stringify({ machine: machine(), node: process.version, date: new Date().toISOString(), gateway: gw, hold: HOLD, figures, runs }, null, 2)}\n`,
);
