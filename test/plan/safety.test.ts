/**
 * What stops or holds a release plan (CONTRACT §4.2 pause/resume, §4.4; docs/plans.md), in workerd on the tests'
 * clock: a breach at step 2 aborts and nothing moves after; pause holds and resume goes on; a change by hand
 * pauses; a person's concurrent change is never overwritten; a guard or control plane that restarts mid-plan goes
 * on at the right step; an alarm delivered twice moves once; bad input is refused and changes nothing.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, expect, it } from "vitest";
import { GUARD } from "../../src/control/roles";
import type { PlanState } from "../../src/rollout/plan";
import { ControlPlane } from "../../src/state/control-plane";
import { Guard } from "../../src/state/guard-object";
import { call, controlStub, everything, failed, ok } from "../helpers/admin";
import { testClock } from "../helpers/clock";
import { manifest } from "../helpers/fixtures";
import { batch, blocked, guardMoves, guardStub, HOLD, PLAN, passHold, planAgent, shown, startCanary } from "./helpers";

afterEach(() => testClock.release());

/** Starts the canary and lets the plan reach step 2 (10 %). */
async function atStep2(agent: string): Promise<void> {
  await startCanary(agent);
  testClock.advance(1000);
  await guardStub(agent).record(agent, [batch("v2", 100)]);
  passHold();
  await guardStub(agent).evaluate(agent);
  expect((await shown(agent)).pointers.canary?.percent).toBe(10);
}

it("a breach at step 2 aborts the canary and ends the plan: nothing moves after", async () => {
  const agent = "p-breach";
  await planAgent(agent);
  await atStep2(agent);
  const g = guardStub(agent);
  testClock.advance(1000);
  await g.record(agent, [batch("v2", 100, { tool_blocked: 5 })]);
  let s = await shown(agent);
  expect(s.pointers).toMatchObject({ active: "v1", canary: null });
  expect(s.plan).toBeUndefined();
  for (let i = 0; i < 3; i++) {
    passHold();
    await g.record(agent, [batch("v2", 200)]);
    await g.evaluate(agent);
  }
  s = await shown(agent);
  expect(s.pointers).toMatchObject({ active: "v1", canary: null });
  const moves = await guardMoves(agent);
  expect(moves.map((m) => m.action)).toEqual(["canary.set", "canary.abort"]);
  expect(moves[1]!.reason).toMatch(/^guard\[v2#0\]: tool_blocked/);
});

it("a set action's breach stops the plan where it is, with the override laid", async () => {
  const agent = "p-stop";
  await planAgent(agent, PLAN, [{ ...blocked, action: { set: { mode: "draft-only" } } }]);
  await atStep2(agent);
  const g = guardStub(agent);
  testClock.advance(1000);
  await g.record(agent, [batch("v2", 100, { tool_blocked: 5 })]);
  passHold();
  await g.record(agent, [batch("v2", 200)]);
  await g.evaluate(agent);
  const s = await shown(agent);
  expect(s.pointers.canary).toEqual({ version: "v2", percent: 10 });
  expect(s.plan?.state).toMatchObject({ status: "stopped", step: 1 });
  expect(s.plan?.state.note).toMatch(/^breach: guard\[v2#0\]/);
  expect((await guardMoves(agent)).map((m) => m.action)).toEqual(["canary.set", "override.add"]);
});

it("pause (operator) holds the plan; resume (releaser) goes on with the hold started again", async () => {
  const agent = "p-pause";
  await planAgent(agent);
  await startCanary(agent);
  const g = guardStub(agent);
  await ok(call("operator", "POST", `/agents/${agent}/canary/pause`, { reason: "looking at a ticket" }));
  testClock.advance(1000);
  await g.record(agent, [batch("v2", 100)]);
  passHold();
  await g.evaluate(agent);
  let s = await shown(agent);
  expect(s.pointers.canary?.percent).toBe(1);
  expect(s.plan?.view?.waitsFor).toEqual(["the plan is paused: paused by operator@test: looking at a ticket"]);

  await failed(call("operator", "POST", `/agents/${agent}/canary/resume`, { reason: "go on" }), 403, "forbidden");
  await ok(call("releaser", "POST", `/agents/${agent}/canary/resume`, { reason: "ticket unrelated" }));
  await g.evaluate(agent);
  s = await shown(agent);
  expect(s.pointers.canary?.percent).toBe(1); // the hold starts again at resume
  expect(s.plan?.state).toMatchObject({ status: "running", step: 0, since: new Date(testClock.now()).toISOString() });
  testClock.advance(1000);
  await g.record(agent, [batch("v2", 100)]);
  passHold();
  await g.evaluate(agent);
  expect((await shown(agent)).pointers.canary?.percent).toBe(10);
  const again = await ok(call("operator", "POST", `/agents/${agent}/canary/pause`, { reason: "again" }));
  expect(again).toMatchObject({ changed: true });
  expect(await ok(call("operator", "POST", `/agents/${agent}/canary/pause`, { reason: "twice" }))).toMatchObject({
    changed: false,
  });
});

it("a change of the percent by hand pauses the plan; resume goes on from the step the percent reached", async () => {
  const agent = "p-manual";
  await planAgent(agent);
  await startCanary(agent);
  const g = guardStub(agent);
  await ok(call("releaser", "POST", `/agents/${agent}/canary`, { version: "v2", percent: 5, reason: "a bit more" }));
  let s = await shown(agent);
  expect(s.plan?.state).toMatchObject({ status: "paused", step: 0 });
  expect(s.plan?.state.note).toBe("releaser@test set the percent by hand to 5 %: a bit more");
  testClock.advance(1000);
  await g.record(agent, [batch("v2", 100)]);
  passHold();
  await g.evaluate(agent);
  expect((await shown(agent)).pointers.canary?.percent).toBe(5);

  await ok(call("releaser", "POST", `/agents/${agent}/canary/resume`, { reason: "back to the plan" }));
  testClock.advance(1000);
  await g.record(agent, [batch("v2", 100)]);
  passHold();
  await g.evaluate(agent);
  s = await shown(agent);
  expect(s.pointers.canary?.percent).toBe(10);
  expect(s.plan?.state).toMatchObject({ status: "running", step: 1 });
});

it("never overwrites a person's concurrent change: a stale move is refused, a race leaves the person's percent", async () => {
  const agent = "p-race";
  await planAgent(agent);
  await startCanary(agent);
  const g = guardStub(agent);
  testClock.advance(1000);
  await g.record(agent, [batch("v2", 100)]);
  passHold();
  // The move as the guard decided it, on the revision it read; then a person lowers the canary.
  const decidedAt = (await shown(agent)).revision;
  await ok(call("operator", "POST", `/agents/${agent}/canary`, { version: "v2", percent: 0.5, reason: "careful" }));
  const move = { kind: "plan.advance" as const, agent, version: "v2", from: 0, reason: "plan step 2: test" };
  const stale = await controlStub().mutate(move, GUARD, decidedAt);
  expect(stale).toMatchObject({ ok: false, status: 412 });
  const noIfMatch = await controlStub().mutate(move, GUARD);
  expect(noIfMatch).toMatchObject({ ok: false, status: 409, code: "plan_moved" });
  expect((await shown(agent)).pointers.canary?.percent).toBe(0.5);

  // A real race: the guard's evaluation and a person's change at once, several times over.
  for (const percent of [2, 3, 4]) {
    await ok(call("releaser", "POST", `/agents/${agent}/canary/resume`, { reason: "race" }));
    testClock.advance(1000);
    await g.record(agent, [batch("v2", 100)]);
    passHold();
    await Promise.all([
      g.evaluate(agent),
      ok(call("releaser", "POST", `/agents/${agent}/canary`, { version: "v2", percent, reason: "by hand" })),
    ]);
    const s = await shown(agent);
    expect(s.pointers.canary?.percent).toBe(percent);
    expect(s.plan?.state.status).toBe("paused");
  }
});

it("a guard and a control plane that restart mid-plan go on at the right step, neither repeating nor skipping one", async () => {
  const agent = "p-reset";
  await planAgent(agent);
  await atStep2(agent);
  testClock.advance(1000);
  await guardStub(agent).record(agent, [batch("v2", 60)]);
  passHold();
  // A new control plane instance on the same storage holds the same plan.
  const held = (await shown(agent)).plan?.state as PlanState;
  await runInDurableObject(controlStub(), (_instance, state) => {
    const fresh = new ControlPlane(state, env, testClock.now);
    expect(fresh.current().plans[agent]).toEqual(held);
  });
  // A new guard instance, its memory gone, on the same storage: the 60 requests of step 2 still count.
  await runInDurableObject(guardStub(agent), async (_instance, state) => {
    const fresh = new Guard(state, env, testClock.now);
    expect(await fresh.plan(agent)).toMatchObject({ step: 2, served: 60, waitsFor: ["needs 40 more requests"] });
    await fresh.record(agent, [batch("v2", 40)]);
  });
  const s = await shown(agent);
  expect(s.pointers.canary?.percent).toBe(50);
  const moves = (await guardMoves(agent)).map((m) => m.reason.slice(0, 11));
  expect(moves).toEqual(["plan step 2", "plan step 3"]);
});

it("alarms delivered twice, or at once, move the plan once", async () => {
  const agent = "p-alarm";
  await planAgent(agent);
  await startCanary(agent);
  const g = guardStub(agent);
  testClock.advance(1000);
  await g.record(agent, [batch("v2", 100)]);
  passHold();
  await runInDurableObject(g, async (instance) => {
    await Promise.all([instance.alarm(), instance.alarm()]);
    await instance.alarm();
  });
  expect((await shown(agent)).pointers.canary?.percent).toBe(10);
  expect((await guardMoves(agent)).length).toBe(1);
  // The same move sent again, as a retried RPC would: refused, nothing changes.
  const before = await everything();
  const again = await controlStub().mutate(
    { kind: "plan.advance", agent, version: "v2", from: 0, reason: "plan step 2: again" },
    GUARD,
  );
  expect(again).toMatchObject({ ok: false, code: "plan_moved" });
  expect(await everything()).toEqual(before);
});

it("refuses bad input with 4xx and changes nothing", async () => {
  const agent = "p-bad";
  await planAgent(agent);
  const before = await everything();
  await failed(call("operator", "POST", `/agents/${agent}/canary/pause`, {}), 400, "invalid_request");
  await failed(call("operator", "POST", `/agents/${agent}/canary/pause`, { reason: "x", step: 2 }), 400);
  await failed(call("operator", "POST", `/agents/${agent}/canary/pause`, { reason: "no canary" }), 409, "no_plan");
  await failed(call("releaser", "POST", `/agents/${agent}/canary/resume`, { reason: "no canary" }), 409, "no_plan");
  await failed(call("viewer", "POST", `/agents/${agent}/canary/pause`, { reason: "x" }), 403);
  await failed(call("operator", "POST", `/agents/nobody/canary/pause`, { reason: "x" }), 404, "unknown_agent");
  const off = await failed(
    call("releaser", "POST", `/agents/${agent}/canary`, { version: "v2", percent: 7, reason: "x" }),
    409,
    "plan_start",
  );
  expect(off.details).toEqual({ percent: 1 });
  await failed(call("releaser", "POST", `/agents/${agent}/canary`, { version: "v1", reason: "x" }), 409);
  const m = manifest(agent, "v3", "http://upstream.test");
  for (const plan of [
    { steps: [], promote: true },
    { steps: [{ percent: 1, holdSeconds: 0 }], promote: true },
    { steps: [{ percent: 0, holdSeconds: 60 }], promote: true },
    { steps: [{ percent: 1, holdSeconds: 60, pause: true }], promote: true },
    { steps: [{ percent: 1, holdSeconds: 60 }] },
  ]) {
    await failed(
      call("releaser", "PUT", `/agents/${agent}/releases/v3`, { ...m, rollout: { ...m.rollout, plan } }),
      400,
    );
  }
  expect(await everything()).toEqual(before);

  // A malformed plan may be stored as a draft, but the readiness gate refuses it, naming each problem.
  const bad = {
    steps: [
      { percent: 10, holdSeconds: 30 },
      { percent: 5, holdSeconds: HOLD },
      { percent: 7.005, holdSeconds: HOLD },
    ],
    promote: true,
  };
  await ok(
    call("releaser", "PUT", `/agents/${agent}/releases/v3`, { ...m, rollout: { ...m.rollout, plan: bad } }),
    201,
  );
  const stored = await everything();
  const refusal = await failed(
    call("releaser", "POST", `/agents/${agent}/canary`, { version: "v3", reason: "x" }),
    422,
    "not_ready",
  );
  expect(refusal.details?.missing).toEqual([
    "rollout.plan.steps[0].holdSeconds: 30 s is shorter than the longest trigger window (60 s)",
    "rollout.plan.steps[1].percent: 5 does not rise above the step before (10)",
    "rollout.plan.steps[2].percent: 7.005 is not in steps of 0.01",
  ]);
  expect(await everything()).toEqual(stored);
});
