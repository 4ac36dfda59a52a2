// The demo agent's releases, stored and made live through the admin API, as an operator would.
// Idempotent: running `npm start` again finds the same releases (200) and leaves live pointers alone.

const STABLE = "2026.11.20-3";
const NEXT = "2026.11.27-1";

function release(version, upstream, extra) {
  return {
    agent: extra.agent ?? "support-bot",
    version,
    description: extra.description,
    instructions: { system: `You are the support assistant (release ${version}). Be brief and kind.` },
    // The demo's mock model (scripts/demo-model.mjs), so model traffic works offline.
    model: extra.model ?? {
      provider: "openai",
      name: "gpt-4.1-mini",
      baseUrl: `${upstream}/v1`,
      params: { temperature: 0.2 },
    },
    tools: extra.tools,
    workflows: {
      default: { upstream: `${upstream}/support/v7`, timeoutMs: 30000 },
      simple: { upstream: `${upstream}/support/simple` },
    },
    approval: { require: ["destructive"] },
    retrieval: { index: "kb-2026-11", topK: 5 },
    rollout: {
      fallback: extra.fallback,
      owners: ["alice@example.com", "support-oncall"],
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
    metadata: { commit: extra.commit },
  };
}

export async function seedDemo(gateway, token, upstream) {
  const call = async (method, path, body) => {
    const res = await fetch(`${gateway}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return JSON.parse(text);
  };
  await call(
    "PUT",
    `/agents/support-bot/releases/${STABLE}`,
    release(STABLE, upstream, {
      description: "stable: search and email",
      fallback: "off",
      commit: "9f8e7d6",
      tools: [
        { name: "search_kb", risk: "read" },
        { name: "send_email", risk: "write" },
      ],
    }),
  );
  await call(
    "PUT",
    `/agents/support-bot/releases/${NEXT}`,
    release(NEXT, upstream, {
      description: "adds the refund tool",
      fallback: STABLE,
      commit: "abc1234",
      tools: [
        { name: "search_kb", risk: "read" },
        { name: "send_email", risk: "write" },
        { name: "issue_refund", risk: "destructive", approval: "always" },
      ],
    }),
  );
  // An Anthropic-speaking agent on the same mock model, for the Messages API.
  const CLAUDE = "claude-support";
  await call(
    "PUT",
    `/agents/${CLAUDE}/releases/${STABLE}`,
    release(STABLE, upstream, {
      agent: CLAUDE,
      description: "stable: search and email",
      fallback: "off",
      commit: "9f8e7d6",
      model: { provider: "anthropic", name: "claude-demo", baseUrl: `${upstream}/v1`, params: { max_tokens: 512 } },
      tools: [
        { name: "search_kb", risk: "read" },
        { name: "send_email", risk: "write" },
      ],
    }),
  );
  const state = await call("GET", "/state");
  if (state.agents[CLAUDE]?.active == null)
    await call("POST", `/agents/${CLAUDE}/promote`, { version: STABLE, reason: "demo: first release" });
  const p = state.agents["support-bot"];
  if (p.active === null)
    await call("POST", "/agents/support-bot/promote", { version: STABLE, reason: "demo: first release" });
  if (p.active === null || (p.canary === null && p.active === STABLE)) {
    await call("POST", "/agents/support-bot/canary", { version: NEXT, percent: 10, reason: "demo: 10 % canary" });
  }
  return { stable: STABLE, next: NEXT };
}
