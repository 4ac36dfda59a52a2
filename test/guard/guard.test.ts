/**
 * The guard Durable Object against the real control plane (CONTRACT §4.4), on an injected clock: a breach is
 * acted on at once, by `guard`, audited with its reason; thin traffic gets no verdict; a `set` action lands as
 * an override scoped to the release; one breach never causes two actions.
 */
import { SELF } from "cloudflare:test";
import { expect, inject, it } from "vitest";
import type { GuardHealth } from "../../src/state/guard-health";
import { resetIsolateForTests } from "../../src/state/isolate";
import { call, ok, state } from "../helpers/admin";
import { auditOf, batch, blocked, guardClock, guardStub, liveAgent, pointersOf } from "./helpers";

const upstream = inject("upstream");

it("aborts a canary failing tool_blocked at 2 % against a 1 % trigger within 5 s of the breach, saying why", async () => {
  const agent = "g-abort";
  await liveAgent(agent, upstream, [blocked], { canary: true });
  const t0 = Date.now();
  const clock = await guardClock(agent, t0);
  const g = guardStub(agent);
  // 50 canary requests a second, 1 of them tool_blocked: 2 %. The window first holds minRequests at t0 + 1 s.
  let abortedAt: number | null = null;
  for (let s = 0; s < 10 && abortedAt === null; s++) {
    clock.now = t0 + s * 1000;
    await g.record(agent, [batch("v2", 50, { tool_blocked: 1 })]);
    if ((await pointersOf(agent)).canary === null) abortedAt = clock.now;
  }
  const breachAt = t0 + 1000;
  expect(abortedAt).not.toBeNull();
  expect(abortedAt! - breachAt).toBeGreaterThanOrEqual(0);
  expect(abortedAt! - breachAt).toBeLessThanOrEqual(5000);

  const [entry] = await auditOf(agent);
  expect(entry).toMatchObject({ actor: "guard", action: "canary.abort" });
  expect(entry!.reason).toContain("guard[v2#0]: tool_blocked at 2.00 % (2 of 100 requests) over the last 300 s");
  expect(entry!.reason).toContain("exceeds maxRate 1.00 % (minRequests 100) on the canary release v2");
  expect((await pointersOf(agent)).active).toBe("v1"); // the stable release is untouched

  const health = await ok<GuardHealth>(call("viewer", "GET", `/agents/${agent}/health`));
  expect(health.actions[0]).toMatchObject({ release: "v2", command: "canary.abort", outcome: "acted" });
});

it("holds back a verdict on thin traffic until minRequests is reached", async () => {
  const agent = "g-thin";
  await liveAgent(agent, upstream, [blocked], { canary: true });
  const clock = await guardClock(agent, Date.now());
  const g = guardStub(agent);
  await g.record(agent, [batch("v2", 99, { tool_blocked: 50 })]); // 50 % failing, but only 99 requests
  expect((await pointersOf(agent)).canary).not.toBeNull();
  const health = await ok<GuardHealth>(call("viewer", "GET", `/agents/${agent}/health`));
  const canary = health.releases.find((r) => r.role === "canary")!;
  expect(canary.triggers[0]).toMatchObject({ state: "insufficient", requests: 99, failures: { tool_blocked: 50 } });
  expect(health.releases.find((r) => r.role === "active")!.triggers[0]).toMatchObject({ state: "inapplicable" });

  clock.now += 1000;
  await g.record(agent, [batch("v2", 1)]);
  expect((await pointersOf(agent)).canary).toBeNull();
});

it("lands a set action as an override scoped to that release, once per breach", async () => {
  const agent = "g-set";
  const trigger = { ...blocked, failureClass: "upstream_error", maxRate: 0.05, minRequests: 50 };
  await liveAgent(agent, upstream, [{ ...trigger, action: { set: { mode: "draft-only" as const } } }]);
  const clock = await guardClock(agent, Date.now());
  const g = guardStub(agent);
  await g.record(agent, [batch("v1", 100, { upstream_error: 6 })]);

  const guardOverrides = async () => (await state()).overrides.filter((o) => o.actor === "guard");
  const [o] = await guardOverrides();
  expect(o).toMatchObject({ scope: { agent, release: "v1" }, set: { mode: "draft-only" } });
  expect(o!.expiresAt).toBeUndefined();
  resetIsolateForTests();
  const res = await SELF.fetch(`https://gw/agents/${agent}/x`);
  await res.body?.cancel();
  expect(res.headers.get("x-agent-lane")).toBe("draft-only");
  expect(res.headers.get("x-agent-decision")).toContain(String(o!.id));

  // The breach goes on: no second action while the override stands.
  for (let s = 1; s <= 5; s++) {
    clock.now += 1000;
    await g.record(agent, [batch("v1", 100, { upstream_error: 50 })]);
  }
  await g.evaluate(agent);
  expect(await guardOverrides()).toHaveLength(1);
  const health = await ok<GuardHealth>(call("viewer", "GET", `/agents/${agent}/health`));
  expect(health.releases[0]!.triggers[0]).toMatchObject({ state: "acted", overrideId: o!.id });

  // A releaser lifts it: the failures counted before do not bring it straight back...
  await ok(call("releaser", "DELETE", `/overrides/${o!.id}`, { reason: "upstream fixed" }));
  clock.now += 1000;
  await g.record(agent, [batch("v1", 10, { upstream_error: 10 })]);
  clock.now += 1000;
  await g.record(agent, [batch("v1", 10, { upstream_error: 10 })]);
  expect(await guardOverrides()).toHaveLength(0);
  // ...but a fresh breach does.
  clock.now += 1000;
  await g.record(agent, [batch("v1", 50, { upstream_error: 10 })]);
  expect(await guardOverrides()).toHaveLength(1);
  const adds = (await auditOf(agent)).filter((e) => e.actor === "guard" && e.action === "override.add");
  expect(adds).toHaveLength(2);
});

it("never aborts a restarted canary for the failures that aborted it before", async () => {
  const agent = "g-restart";
  await liveAgent(agent, upstream, [blocked], { canary: true });
  const clock = await guardClock(agent, Date.now());
  const g = guardStub(agent);
  await g.record(agent, [batch("v2", 100, { tool_blocked: 3 })]); // 3 %: aborted
  expect((await pointersOf(agent)).canary).toBeNull();

  await ok(call("releaser", "POST", `/agents/${agent}/canary`, { version: "v2", percent: 100, reason: "retry" }));
  // Healthy traffic now. Counted together with the old failures, 3 of 300 would still be 1 % ... and 3 of 200
  // (1.5 %) a breach; counted from the restart, it is 0 %.
  for (let s = 1; s <= 3; s++) {
    clock.now += 1000;
    await g.record(agent, [batch("v2", 100)]);
  }
  expect((await pointersOf(agent)).canary).not.toBeNull();
  const aborts = (await auditOf(agent)).filter((e) => e.actor === "guard");
  expect(aborts).toHaveLength(1);
});

it("rolls back the active release on a rollback trigger, and only once", async () => {
  const agent = "g-rollback";
  await liveAgent(agent, upstream, [{ ...blocked, action: "rollback" }]);
  await guardClock(agent, Date.now());
  const g = guardStub(agent);
  await Promise.all([
    g.record(agent, [batch("v1", 100, { tool_blocked: 5 })]),
    g.record(agent, [batch("v1", 100, { tool_blocked: 5 })]),
    g.record(agent, [batch("v1", 100, { tool_blocked: 5 })]),
  ]);
  expect((await pointersOf(agent)).active).toBe("off"); // v1's fallback
  expect((await auditOf(agent)).filter((e) => e.actor === "guard").map((e) => e.action)).toEqual(["rollback"]);
});
