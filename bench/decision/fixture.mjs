/**
 * A deterministic, realistic published snapshot for the decision benchmark: `agents` agents, each with three
 * live releases (fallback, active, canary at some percent) whose manifests carry 5–10 tools, two or three
 * workflows, triggers and a user fallback; plus `overrides` overrides over the three scopes (`*`, agent,
 * agent+release), some expired (not yet cleaned up), some expiring later, most open-ended. Also the request
 * inputs (agent, sticky key, pin) the decision is driven with. A seeded PRNG keeps every run identical.
 */

/** mulberry32: small, fast, seeded; good enough to spread agents and keys. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOOLS = [
  ["search_kb", "read", "Full-text search over the help-center articles."],
  ["lookup_order", "read", "Fetch an order by id with its line items and shipping state."],
  ["get_customer", "read", "Read the customer profile, plan and contact preferences."],
  ["list_invoices", "read", "List the customer's invoices of the last 24 months."],
  ["read_ticket", "read", "Read a support ticket and its conversation history."],
  ["fetch_policy", "read", "Fetch the current refund and returns policy text."],
  ["send_email", "write", "Send an email to the customer from the support address."],
  ["update_ticket", "write", "Change a ticket's status, priority or assignee."],
  ["create_note", "write", "Add an internal note to the customer record."],
  ["schedule_callback", "write", "Book a phone callback slot with a human agent."],
  ["tag_conversation", "write", "Attach tags to the conversation for reporting."],
  ["issue_refund", "destructive", "Refund a payment, fully or partially.", "always"],
  ["cancel_subscription", "destructive", "Cancel the customer's subscription at period end."],
  ["delete_account", "destructive", "Permanently delete the customer account and its data.", "always"],
  ["exec_shell", "destructive", "Run a shell command on the diagnostics host."],
];

const SENTENCES = [
  "You are the support assistant of Example Corp and answer customers politely and precisely.",
  "Always look up the order or the ticket before you state any fact about it.",
  "Never promise a refund before the refund policy has been fetched and checked.",
  "If the customer is upset, acknowledge it once and move on to solving the problem.",
  "Answer in the language the customer wrote in; keep answers under 150 words unless asked for detail.",
  "Escalate to a human when the customer asks for one, or after two failed attempts to resolve the issue.",
  "Do not reveal internal notes, tags or the names of internal tools.",
  "When you are unsure, say so and offer to connect the customer with a specialist.",
];

const pick = (r, xs) => xs[Math.floor(r() * xs.length)];

function shuffled(r, xs) {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function manifest(r, agent, version, fallback) {
  const tools = shuffled(r, TOOLS)
    .slice(0, 5 + Math.floor(r() * 6))
    .map(([name, risk, description, approval]) => ({ name, risk, description, ...(approval ? { approval } : {}) }));
  const system = shuffled(r, SENTENCES).slice(0, 5).join(" ");
  const base = `https://agents.internal/${agent}`;
  return {
    agent,
    version,
    description: `${agent} ${version}: tuned prompts and tool descriptions`,
    instructions: { system },
    model: {
      provider: r() < 0.7 ? "openai" : "anthropic",
      name: pick(r, ["gpt-4.1-mini", "gpt-4.1", "claude-sonnet-4-5", "claude-haiku-4-5"]),
      baseUrl: r() < 0.7 ? "https://api.openai.com/v1" : "https://api.anthropic.com/v1",
      params: { temperature: Math.round(r() * 10) / 10, max_tokens: 1024 },
    },
    tools,
    workflows: {
      default: { upstream: `${base}/v${version}`, timeoutMs: 30_000 },
      simple: { upstream: `${base}/simple` },
      ...(r() < 0.5 ? { review: { upstream: `${base}/review`, timeoutMs: 60_000 } } : {}),
    },
    approval: { require: ["destructive"] },
    retrieval: { index: `kb-${agent}-2026-11`, topK: 5 },
    rollout: {
      fallback,
      owners: [`${agent}-oncall`, "alice@example.com"],
      triggers: [
        { failureClass: "tool_blocked", maxRate: 0.01, minRequests: 100, windowSeconds: 300, action: "abort-canary" },
        {
          failureClass: "upstream_error",
          maxRate: 0.05,
          minRequests: 50,
          windowSeconds: 120,
          action: { set: { mode: "draft-only" } },
        },
      ],
      userFallback: { status: 503, body: { message: "The assistant is paused; a person will answer shortly." } },
    },
    metadata: { commit: Math.floor(r() * 0xfffffff).toString(16), pipeline: "release-train" },
  };
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const id = (r, n) => Array.from({ length: n }, () => ALNUM[Math.floor(r() * ALNUM.length)]).join("");
const HOUR = 3_600_000;

/** A knob set for an override; `global` ones stay mild, as a `*` override would be in real life. */
function overrideSet(r, global) {
  const toolName = () => pick(r, TOOLS)[0];
  if (global) return pick(r, [{ forceApproval: ["destructive"] }, { disableTools: ["exec_shell"] }]);
  const x = r();
  if (x < 0.4) return { disableTools: r() < 0.7 ? [toolName()] : [toolName(), toolName()] };
  if (x < 0.6) return { forceApproval: ["write"] };
  if (x < 0.75) return { mode: "draft-only" };
  if (x < 0.85)
    return {
      toolScope: shuffled(
        r,
        TOOLS.map((t) => t[0]),
      ).slice(0, 6),
    };
  if (x < 0.95) return { workflow: "simple" };
  if (x < 0.97) return { mode: "off" };
  return { mode: "draft-only", disableTools: [toolName()], forceApproval: ["read"] };
}

/**
 * The snapshot as published (before digests: `digest` is filled in by the caller with the real digest
 * function, so the benchmark carries no copy of it).
 */
export async function buildSnapshot({ agents = 1000, overrides = 1000, now, seed = 42, digestOf }) {
  const r = rng(seed);
  const snapshot = {
    format: 1,
    revision: 4711,
    publishedAt: new Date(now - 5 * 60_000).toISOString(),
    agents: {},
    overrides: [],
  };
  const live = [];
  for (let a = 0; a < agents; a++) {
    const agent = `agent-${String(a).padStart(4, "0")}`;
    const [fb, active, canary] = ["2026.11.20-3", "2026.11.27-1", "2026.11.28-2"];
    const manifests = [
      manifest(r, agent, fb, "off"),
      manifest(r, agent, active, fb),
      manifest(r, agent, canary, active),
    ];
    const releases = {};
    for (const m of manifests) releases[m.version] = { manifest: m, digest: await digestOf(m) };
    const percent = pick(r, [0.5, 1, 5, 10, 10, 25, 50]);
    snapshot.agents[agent] = {
      pointers: { active, fallback: fb, canary: { version: canary, percent }, offFrom: null },
      releases,
    };
    live.push({ agent, active, canary });
  }
  for (let o = 0; o < overrides; o++) {
    const x = r();
    const target = pick(r, live);
    // ~0.5 % every agent, ~49.5 % one agent, ~50 % one release of one agent.
    const scope =
      x < 0.005
        ? { agent: "*" }
        : x < 0.5
          ? { agent: target.agent }
          : { agent: target.agent, release: pick(r, [target.active, target.canary, "2026.11.20-3"]) };
    const e = r();
    // 15 % expired but not cleaned up, 15 % expiring in 1–72 h, 70 % open-ended.
    const expiresAt =
      e < 0.15 ? now - (1 + r() * 47) * HOUR : e < 0.3 ? now + (1 + r() * 71) * HOUR : Number.POSITIVE_INFINITY;
    snapshot.overrides.push({
      id: `ovr_${id(r, 12)}${o}`,
      scope,
      set: overrideSet(r, scope.agent === "*"),
      reason: `INC-${1000 + Math.floor(r() * 9000)}: ${pick(r, ["tool errors", "bad answers", "cost spike", "latency"])}`,
      actor: pick(r, ["alice@example.com", "bob@example.com", "guard"]),
      createdAt: new Date(Math.min(now, expiresAt) - (1 + r() * 200) * HOUR).toISOString(),
      ...(Number.isFinite(expiresAt) ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
    });
  }
  return { snapshot, live };
}

const hex = (r, n) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join("");

/**
 * `count` requests: uniform over agents; 93 % with a sticky key (a UUID-shaped session id), 5 % keyless,
 * 2 % pinned (half to the canary, half to a version that is not live, which the decision ignores).
 */
export function buildInputs(live, count, seed = 7) {
  const r = rng(seed);
  const out = [];
  for (let i = 0; i < count; i++) {
    const t = live[Math.floor(r() * live.length)];
    const x = r();
    const key = x < 0.05 ? null : `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;
    const pin = x > 0.98 ? (x > 0.99 ? t.canary : "2019.01.01-1") : null;
    out.push({ agent: t.agent, key, pin });
  }
  return out;
}
