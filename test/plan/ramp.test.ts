/**
 * A release plan ramps by itself (CONTRACT §4.4, docs/plans.md), in workerd against the real control plane and
 * guard, on the tests' clock: the canary starts at the first step, moves when a step has held and served the
 * triggers' minRequests with no trigger breached, each move audited as `plan step N` by `guard`, and the release
 * is promoted after the last step; the state shows what the plan waits for.
 */
import { afterEach, expect, it } from "vitest";
import { testClock } from "../helpers/clock";
import { batch, guardMoves, guardStub, passHold, planAgent, shown, startCanary } from "./helpers";

afterEach(() => testClock.release());

it("ramps through every step to promotion, each move only once its hold and minRequests are met", async () => {
  const agent = "p-ramp";
  await planAgent(agent);
  await startCanary(agent);
  const g = guardStub(agent);
  let s = await shown(agent);
  expect(s.pointers.canary).toEqual({ version: "v2", percent: 1 });
  expect(s.plan?.state).toMatchObject({ version: "v2", step: 0, status: "running" });

  // Step 1: traffic enough, hold not over.
  testClock.advance(1000);
  await g.record(agent, [batch("v2", 100)]);
  s = await shown(agent);
  expect(s.pointers.canary?.percent).toBe(1);
  expect(s.plan?.view).toMatchObject({ step: 1, steps: 3, served: 100, needed: 100, due: false });
  expect(s.plan?.view?.waitsFor).toEqual([expect.stringMatching(/^holds 29\d s more$/)]);

  passHold();
  await g.evaluate(agent);
  s = await shown(agent);
  expect(s.pointers.canary?.percent).toBe(10);
  expect(s.plan?.view).toMatchObject({ step: 2, served: 0, next: { step: 3, percent: 50 } });

  // Step 2: the hold ends first, then the requests come in.
  passHold();
  await g.evaluate(agent);
  expect((await shown(agent)).plan?.view?.waitsFor).toEqual(["needs 100 more requests"]);
  await g.record(agent, [batch("v2", 63)]);
  s = await shown(agent);
  expect(s.plan?.view?.waitsFor).toEqual(["needs 37 more requests"]);
  expect(s.pointers.canary?.percent).toBe(10);
  testClock.advance(1000);
  await g.record(agent, [batch("v2", 37)]); // the batch that completes the step moves it at once
  expect((await shown(agent)).pointers.canary?.percent).toBe(50);

  // Step 3, the last: promote.
  testClock.advance(1000);
  await g.record(agent, [batch("v2", 150)]);
  passHold();
  await g.evaluate(agent);
  s = await shown(agent);
  expect(s.pointers).toMatchObject({ active: "v2", canary: null });
  expect(s.plan).toBeUndefined();

  const moves = await guardMoves(agent);
  expect(moves.map((m) => m.action)).toEqual(["canary.set", "canary.set", "promote"]);
  expect(moves[0]!.reason).toMatch(/^plan step 2: 10 % after step 1 \(1 %\) held since .* with 100 requests/);
  expect(moves[1]!.reason).toMatch(/^plan step 3: 50 % after step 2 \(10 %\) held since .* with 100 requests/);
  expect(moves[2]!.reason).toMatch(/^plan step 4: promote v2 after step 3 \(50 %\)/);
});

it("holds at the last step when promote is false", async () => {
  const agent = "p-hold";
  await planAgent(agent, {
    steps: [
      { percent: 5, holdSeconds: 300 },
      { percent: 20, holdSeconds: 300 },
    ],
    promote: false,
  });
  await startCanary(agent);
  const g = guardStub(agent);
  testClock.advance(1000);
  await g.record(agent, [batch("v2", 100)]);
  passHold();
  await g.evaluate(agent);
  testClock.advance(1000);
  await g.record(agent, [batch("v2", 500)]);
  passHold();
  await g.evaluate(agent);
  const s = await shown(agent);
  expect(s.pointers).toMatchObject({ active: "v1", canary: { version: "v2", percent: 20 } });
  expect(s.plan?.view).toMatchObject({ step: 2, next: null, dueAt: null, due: false });
  expect(s.plan?.view?.waitsFor).toEqual(["nothing: the last step holds (promote is false)"]);
  expect((await guardMoves(agent)).length).toBe(1);
});

it("explain and health show the plan too", async () => {
  const agent = "p-show";
  await planAgent(agent);
  await startCanary(agent);
  const { ok, call } = await import("../helpers/admin");
  const explained = await ok<{ plan: { view: { step: number; waitsFor: string[] } } }>(
    call("viewer", "GET", `/explain?agent=${agent}&key=k1`),
  );
  expect(explained.plan.view).toMatchObject({ step: 1, waitsFor: expect.arrayContaining(["needs 100 more requests"]) });
  const health = await ok<{ plan: { step: number; dueAt: string } }>(call("viewer", "GET", `/agents/${agent}/health`));
  expect(health.plan).toMatchObject({ step: 1, steps: 3 });
  expect(Date.parse(health.plan.dueAt)).toBe(testClock.now() + 300_000);
});

it("the OpenAPI description has pause and resume", async () => {
  const { ok, call } = await import("../helpers/admin");
  const doc = await ok<{ paths: Record<string, Record<string, unknown>> }>(call("viewer", "GET", "/openapi.json"));
  expect(Object.keys(doc.paths["/admin/v1/agents/{agent}/canary/pause"] ?? {})).toEqual(["post"]);
  expect(Object.keys(doc.paths["/admin/v1/agents/{agent}/canary/resume"] ?? {})).toEqual(["post"]);
});
