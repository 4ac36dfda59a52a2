/**
 * Breach-to-safer-state time (issue 6, CONTRACT §4.4), against a running `npm start`.  @bench needs-server
 *
 *   PORT=8787 npm start                                  (another terminal; add `-- --persist-to <dir>` to keep
 *                                                         its local state apart from a colleague's)
 *   node bench/guard/run.mjs [--gateway http://127.0.0.1:8787] [--runs 5] [--token dev-admin-token]
 *
 * The demo agent support-bot runs 2026.11.20-3 with 2026.11.27-1 as a canary; both carry the trigger
 * `tool_blocked` maxRate 1 %, minRequests 100, window 300 s, action abort-canary (scripts/demo-seed.mjs). Each run:
 *
 * 1. (Re)starts the canary at 10 % (dev token: admin) and finds a sticky key that falls in it (admin `explain`,
 *    which counts nothing). Once that key is served by the canary, 2.5 s of quiet: the guard sees the restarted
 *    canary and counts it from a clean slate (docs/guard.md), and its health view has every count flushed.
 * 2. Reads the trigger's counts from `GET /admin/v1/agents/support-bot/health` and sends, with that key, just
 *    enough healthy requests and then failing ones (`?failure=tool_blocked`: the demo upstream answers with
 *    `x-agent-failure-class: tool_blocked`) that the last one is the request that breaches the trigger.
 * 3. From the moment the breaching request is answered, sends a request with the same key every 20 ms until it
 *    is served by the stable release. That interval is the figure: breach → the gateway serving the safer state.
 *    The guard's audit entry gives the split: breach → abort committed, and committed → served.
 *
 * Loopback only; bounded (a run gives up after 15 s). Writes bench/guard/results.json.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { figure, machine, table } from "../report.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const AGENT = "support-bot";
const STABLE = "2026.11.20-3";
const CANARY = "2026.11.27-1";
const TRIGGER = { failureClass: "tool_blocked", maxRate: 0.01, minRequests: 100 };

const { values: args } = parseArgs({
  options: {
    gateway: { type: "string", default: `http://127.0.0.1:${process.env.PORT ?? 8787}` },
    runs: { type: "string", default: "5" },
    token: { type: "string", default: "dev-admin-token" },
  },
});
const gw = args.gateway;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function admin(method, path, body) {
  const res = await fetch(`${gw}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${args.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return JSON.parse(text);
}

/** One agent request with the sticky key; returns the release that served it. */
async function agentRequest(key, fail) {
  const res = await fetch(`${gw}/agents/${AGENT}/chat${fail ? "?failure=tool_blocked" : ""}`, {
    method: "POST",
    headers: { "x-agent-key": key, "content-type": "text/plain" },
    body: "hi",
  });
  await res.arrayBuffer();
  return res.headers.get("x-agent-release");
}

async function canaryKey() {
  for (let i = 0; i < 1000; i++) {
    const e = await admin("GET", `/explain?agent=${AGENT}&key=bench-${i}`);
    if (e.decision?.kind === "canary") return `bench-${i}`;
  }
  throw new Error("no key in the canary among 1,000");
}

/** Healthy requests, then failing ones, such that the last failing one is the first to breach (F, R: counted). */
function plan(requests, failures) {
  for (let n = Math.max(requests + 1, TRIGGER.minRequests); ; n++) {
    for (let k = 1; k <= n - requests; k++) {
      const f = failures + k;
      const breach = (total, failed) => total >= TRIGGER.minRequests && failed / total > TRIGGER.maxRate;
      if (breach(n, f) && !breach(n - 1, f - 1)) return { good: n - requests - k, bad: k };
    }
  }
}

async function run(i) {
  await admin("POST", `/agents/${AGENT}/canary`, { version: CANARY, percent: 10, reason: `bench/guard run ${i}` });
  const key = await canaryKey();
  // The gateway serves the restarted canary within its refresh interval (docs/propagation.md).
  const started = Date.now();
  while ((await agentRequest(key, false)) !== CANARY) {
    if (Date.now() - started > 10_000) throw new Error(`${key} is not served by the canary`);
    await sleep(100);
  }
  await sleep(2500);
  const health = await admin("GET", `/agents/${AGENT}/health`);
  const t = health.releases
    .find((r) => r.version === CANARY)
    ?.triggers.find((x) => x.trigger.failureClass === TRIGGER.failureClass);
  if (t === undefined) throw new Error("the canary has no tool_blocked trigger");
  const { good, bad } = plan(t.requests, t.failures.tool_blocked ?? 0);
  for (let g = 0; g < good; g++) await agentRequest(key, false);
  for (let b = 0; b < bad - 1; b++) await agentRequest(key, true);
  await agentRequest(key, true);
  const breachedAt = Date.now();
  let servedAt = null;
  while (servedAt === null && Date.now() - breachedAt < 15_000) {
    if ((await agentRequest(key, false)) === STABLE) servedAt = Date.now();
    else await sleep(20);
  }
  if (servedAt === null) throw new Error(`run ${i}: the canary still served 15 s after the breach`);
  const audit = await admin("GET", `/audit?agent=${AGENT}&limit=5`);
  const act = audit.entries.find((e) => e.actor === "guard" && e.action === "canary.abort");
  const committedAt = act ? Date.parse(act.at) : null;
  const out = {
    run: i,
    sent: { good, bad },
    breachToServedMs: servedAt - breachedAt,
    breachToCommittedMs: committedAt === null ? null : committedAt - breachedAt,
    committedToServedMs: committedAt === null ? null : servedAt - committedAt,
    reason: act?.reason ?? null,
  };
  console.log(JSON.stringify(out));
  return out;
}

const runs = [];
for (let i = 1; i <= Number(args.runs); i++) runs.push(await run(i));
const ms = (k) => runs.map((r) => r[k]).filter((x) => x !== null);
const figures = [
  figure("guard: breach → safer state served", ms("breachToServedMs"), "ms"),
  figure("guard: breach → abort committed", ms("breachToCommittedMs"), "ms"),
  figure("guard: committed → served", ms("committedToServedMs"), "ms"),
];
console.log(`\n${table(figures)}`);
writeFileSync(
  join(HERE, "results.json"),
  `${JSON.stringify({ machine: machine(), node: process.version, date: new Date().toISOString(), gateway: gw, figures, runs }, null, 2)}\n`,
);
