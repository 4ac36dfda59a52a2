/**
 * Tool traffic is counted for the guard like the other doors (CONTRACT §2.3, §2.4): each request as served, a
 * refused call as `tool_blocked`, a stream the gateway had to cut as `upstream_error`. Seen as an operator sees
 * it, through GET /admin/v1/agents/{a}/health; and the readiness gate refuses a tool whose server is undeclared.
 */
import { SELF } from "cloudflare:test";
import { expect, it } from "vitest";
import { isolateCounter, resetCounterForTests } from "../../src/state/counter";
import type { GuardHealth } from "../../src/state/guard-health";
import { resetIsolateForTests } from "../../src/state/isolate";
import { call, ok } from "../helpers/admin";
import { callRequest, hostileManifest, listRequest, mcpUrl, rpc } from "./helpers";

const AGENT = "counted-tools";

it("counts served requests, tool_blocked for a refused call and upstream_error for a cut stream", async () => {
  const m = hostileManifest(AGENT, "upper-json");
  const trigger = (failureClass: string) => ({
    failureClass,
    maxRate: 0.5,
    minRequests: 1000,
    windowSeconds: 300,
    action: "rollback",
  });
  const triggers = [trigger("tool_blocked"), trigger("upstream_error")];
  // A second server that sends an event it cannot judge.
  const manifest = {
    ...m,
    tools: [...m.tools, { name: "lookup", risk: "read" as const, server: "broken" }],
    mcpServers: { ...m.mcpServers, broken: { url: `${mcpUrl}/hostile/sse-garbage` } },
    rollout: { ...m.rollout, triggers },
  };
  await ok(call("releaser", "PUT", `/agents/${AGENT}/releases/v1`, manifest), 201);
  await ok(call("releaser", "POST", `/agents/${AGENT}/promote`, { version: "v1", reason: "test" }));
  await ok(
    call("operator", "POST", "/overrides", {
      scope: { agent: AGENT },
      set: { mode: "draft-only" },
      reason: "test",
    }),
    201,
  );
  resetIsolateForTests();
  resetCounterForTests();

  const answers = [
    await rpc(AGENT, "tools", listRequest()), // served, nothing refused
    await rpc(AGENT, "tools", callRequest("send_email")), // refused here: tool_blocked
    await rpc(AGENT, "broken", listRequest()), // cut by the gateway: upstream_error at the stream's end
  ];
  for (const res of answers) {
    expect(res.status).toBe(200);
    await res.text();
  }
  await isolateCounter()?.flush();
  const health = await ok<GuardHealth>(call("viewer", "GET", `/agents/${AGENT}/health`));
  const t = health.releases[0]?.triggers[0];
  expect(t?.requests).toBe(3);
  expect(t?.failures).toEqual({ tool_blocked: 1, upstream_error: 1 });
});

it("the readiness gate refuses a release whose tool names an undeclared server", async () => {
  const m = hostileManifest("gated-tools", "text");
  const { mcpServers: _, ...undeclared } = m;
  await ok(call("releaser", "PUT", "/agents/gated-tools/releases/v1", undeclared), 201);
  const res = await call("releaser", "POST", "/agents/gated-tools/promote", { version: "v1", reason: "test" });
  expect(res.status).toBe(422);
  const body = (await res.json()) as { error: { code: string; details: { missing: string[] } } };
  expect(body.error.code).toBe("not_ready");
  expect(body.error.details.missing).toEqual([
    "tools[search_kb].server: server tools is not declared in mcpServers",
    "tools[send_email].server: server tools is not declared in mcpServers",
    "tools[issue_refund].server: server tools is not declared in mcpServers",
  ]);
  // Nothing changed: the agent still has no active release.
  expect((await SELF.fetch("https://gw/mcp/gated-tools/tools")).status).toBe(404);
});
