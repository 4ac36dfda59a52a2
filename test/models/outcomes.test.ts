/**
 * Model traffic is counted for the guard like agent traffic (CONTRACT §2.3): each request as served, with the
 * upstream's failure class, and `tool_blocked` when the gate withheld a call — at once for a JSON answer, at the
 * end of the stream for server-sent events. Observed the way an operator does: GET /admin/v1/agents/{a}/health.
 */
import { SELF } from "cloudflare:test";
import { expect, it } from "vitest";
import { isolateCounter, resetCounterForTests } from "../../src/state/counter";
import type { GuardHealth } from "../../src/state/guard-health";
import { resetIsolateForTests } from "../../src/state/isolate";
import { call, ok } from "../helpers/admin";
import { manifest } from "../helpers/fixtures";
import { provider, TOOLS } from "./helpers";

const AGENT = "counted-bot";

function chat(tools: string, stream: boolean, extra: Record<string, string> = {}): Request {
  return new Request(`https://gw/models/${AGENT}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-mock-tools": tools, ...extra },
    body: JSON.stringify({ model: "x", stream, messages: [{ role: "user", content: "hi" }] }),
  });
}

it("counts every model request as served, and tool_blocked once per request that withheld calls", async () => {
  const m = manifest(AGENT, "v1", "http://unused.test", {
    model: { provider: "openai", name: "gpt-test", baseUrl: `${provider}/v1` },
    tools: TOOLS,
  });
  // Triggers that cannot fire here (minRequests), so health reports their counts.
  const trigger = (failureClass: string) => ({
    failureClass,
    maxRate: 0.5,
    minRequests: 1000,
    windowSeconds: 300,
    action: "rollback",
  });
  const triggers = [trigger("tool_blocked"), trigger("upstream_error")];
  await ok(call("releaser", "PUT", `/agents/${AGENT}/releases/v1`, { ...m, rollout: { ...m.rollout, triggers } }), 201);
  await ok(call("releaser", "POST", `/agents/${AGENT}/promote`, { version: "v1", reason: "test" }));
  resetIsolateForTests();
  resetCounterForTests();

  const answers = [
    await SELF.fetch(chat("search_kb", false)), // allowed: nothing withheld
    await SELF.fetch(chat("drop_db,search_kb", false)), // one call withheld (JSON)
    await SELF.fetch(chat("drop_db,rm_rf", true)), // two calls withheld (stream): counted at its end
  ];
  for (const res of answers) {
    expect(res.status).toBe(200);
    await res.text(); // the stream's end is where its withheld calls are known
  }
  await isolateCounter()!.flush();

  const health = await ok<GuardHealth>(call("viewer", "GET", `/agents/${AGENT}/health`));
  const t = health.releases[0]!.triggers[0]!;
  expect(t.requests).toBe(3);
  expect(t.failures).toEqual({ tool_blocked: 2 });
});

it("a stream the provider cuts short fails for the client and counts upstream_error once, as a late failure", async () => {
  await isolateCounter()!.flush();
  const before = (await ok<GuardHealth>(call("viewer", "GET", `/agents/${AGENT}/health`))).releases[0]!.triggers[1]!;
  const res = await SELF.fetch(chat("", true, { "x-mock-cut": "2" }));
  expect(res.status).toBe(200); // sent before the cut
  await expect(res.text()).rejects.toThrow(); // the client can tell the stream is incomplete
  await new Promise((r) => setTimeout(r, 50));
  await isolateCounter()!.flush();
  const after = (await ok<GuardHealth>(call("viewer", "GET", `/agents/${AGENT}/health`))).releases[0]!.triggers[1]!;
  expect(after.trigger.failureClass).toBe("upstream_error");
  expect(after.requests).toBe(before.requests + 1);
  expect(after.failures.upstream_error ?? 0).toBe((before.failures.upstream_error ?? 0) + 1);
});
