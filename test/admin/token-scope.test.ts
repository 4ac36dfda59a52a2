/**
 * A token entry with `agents` acts on those agents only (CONTRACT §4.1; docs/threat-model.md K6): 403 for any
 * other agent on every per-agent route, read or write; lists (state, audit) show only its agents; it can neither
 * lay nor lift an override at scope `*`; refused calls change nothing. Through the real Worker and control plane,
 * with the scoped tokens added to the test configuration's ADMIN_TOKENS for these calls.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, inject, it } from "vitest";
import app from "../../src/index";
import { sha256Hex } from "../../src/release/digest";
import { call, ok } from "../helpers/admin";
import { manifest } from "../helpers/fixtures";

const upstream = inject("upstream");
const MINE = "scope-a";
const THEIRS = "scope-b";

async function tokens(): Promise<string> {
  const base = JSON.parse(env.ADMIN_TOKENS ?? "[]") as unknown[];
  const entry = async (name: string, role: string) => ({
    name,
    role,
    sha256: await sha256Hex(`${name}-token`),
    agents: [MINE],
  });
  return JSON.stringify([...base, await entry("scoped-viewer", "viewer"), await entry("scoped-releaser", "releaser")]);
}

async function scoped(who: "viewer" | "releaser", method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer scoped-${who}-token` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const req = new Request(`https://gw/admin/v1${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const ctx = createExecutionContext();
  const res = await app.fetch(req, { ...env, ADMIN_TOKENS: await tokens() }, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  return new Response(text, res);
}

let theirOverride = "";

beforeAll(async () => {
  for (const agent of [MINE, THEIRS]) {
    await ok(call("releaser", "PUT", `/agents/${agent}/releases/v1`, manifest(agent, "v1", upstream)), 201);
    await ok(call("releaser", "POST", `/agents/${agent}/promote`, { version: "v1", reason: "seed" }));
  }
  const o = await ok<{ id: string }>(
    call("operator", "POST", "/overrides", { scope: { agent: THEIRS }, set: { mode: "draft-only" }, reason: "seed" }),
    201,
  );
  theirOverride = o.id;
  await ok(
    call("operator", "POST", "/overrides", {
      scope: { agent: "*" },
      set: { forceApproval: ["write"] },
      reason: "fleet",
    }),
    201,
  );
});

describe("reads", () => {
  it("state lists only the token's agents, their overrides and the fleet-wide ones", async () => {
    const s = (await (await scoped("viewer", "GET", "/state")).json()) as {
      agents: Record<string, unknown>;
      overrides: Array<{ scope: { agent: string } }>;
    };
    expect(Object.keys(s.agents)).toEqual([MINE]);
    expect(s.overrides.map((o) => o.scope.agent).sort()).toEqual(["*"]);
  });

  it("the audit shows only the token's agents; asking for another agent is 403", async () => {
    const a = (await (await scoped("viewer", "GET", "/audit?limit=500")).json()) as {
      entries: Array<{ agent: string }>;
    };
    expect(a.entries.length).toBeGreaterThan(0);
    expect(new Set(a.entries.map((e) => e.agent))).toEqual(new Set([MINE]));
    expect((await scoped("viewer", "GET", `/audit?agent=${THEIRS}`)).status).toBe(403);
  });

  it("every per-agent read of another agent is 403, an agent that does not exist too (not 404)", async () => {
    for (const path of [
      `/agents/${THEIRS}/releases`,
      `/agents/${THEIRS}/releases/v1`,
      `/agents/${THEIRS}/diff?from=v1&to=v1`,
      `/agents/${THEIRS}/health`,
      `/agents/${THEIRS}/timeline`,
      `/explain?agent=${THEIRS}`,
      "/agents/no-such-agent/releases",
    ]) {
      const res = await scoped("viewer", "GET", path);
      expect(res.status, path).toBe(403);
    }
    expect((await scoped("viewer", "GET", `/agents/${MINE}/releases`)).status).toBe(200);
    expect((await scoped("viewer", "GET", `/explain?agent=${MINE}`)).status).toBe(200);
  });
});

/** What a refused write could have changed, read with an unscoped token. */
async function everything() {
  const state = await ok<{ revision: number }>(call("viewer", "GET", "/state"));
  const audit = await ok<unknown>(call("viewer", "GET", "/audit?limit=500"));
  const listed = await ok<{ releases: unknown[] }>(call("viewer", "GET", `/agents/${THEIRS}/releases`));
  // The health answer is stamped with the time it was read; everything else in it must not move.
  const { at: _at, ...health } = await ok<{ at: string }>(call("viewer", "GET", `/agents/${THEIRS}/health`));
  return { state, audit, releases: listed.releases, health };
}

describe("writes", () => {
  it("another agent, scope * and another agent's override are 403, and nothing changes", async () => {
    const before = await everything();
    const refused: [string, string, unknown][] = [
      ["POST", `/agents/${THEIRS}/rollback`, { reason: "x" }],
      ["POST", `/agents/${THEIRS}/promote`, { version: "v1", reason: "x" }],
      ["PUT", `/agents/${THEIRS}/releases/v2`, manifest(THEIRS, "v2", upstream)],
      ["POST", "/overrides", { scope: { agent: "*" }, set: { mode: "off" }, reason: "x" }],
      ["POST", "/overrides", { scope: { agent: THEIRS }, set: { mode: "off" }, reason: "x" }],
      ["DELETE", `/overrides/${theirOverride}?reason=x`, undefined],
      ["DELETE", "/overrides/ovr_doesnotexist?reason=x", undefined],
      ["POST", "/signals", { agent: THEIRS, release: "v1", failureClass: "upstream_error", reason: "x" }],
    ];
    for (const [method, path, body] of refused) {
      const res = await scoped("releaser", method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    // Nothing changed anywhere: the whole state, the whole audit, their releases and their guard counts.
    const after = await everything();
    expect(after).toEqual(before);
    expect(before.releases).toHaveLength(1);
  });

  it("the token's own agent is acted on as its role allows", async () => {
    const res = await scoped("releaser", "POST", "/overrides", {
      scope: { agent: MINE },
      set: { disableTools: ["send_email"] },
      reason: "scoped",
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect((await scoped("releaser", "DELETE", `/overrides/${id}?reason=done`)).status).toBe(200);
  });
});
