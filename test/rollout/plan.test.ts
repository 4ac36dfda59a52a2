/**
 * The pure plan core (src/rollout/plan.ts) and the plan commands of apply (src/control/apply-plan.ts), as plain
 * calls: what a step waits for, when its move is due, and which moves each state accepts.
 */
import { describe, expect, it } from "vitest";
import { apply } from "../../src/control/apply";
import type { ControlState, StoredRelease, World } from "../../src/control/model";
import type { Role } from "../../src/control/roles";
import { GUARD } from "../../src/control/roles";
import type { Manifest, Plan } from "../../src/release/schema";
import { nextMove, type PlanInput, type PlanState, resumePlan, startPlan, viewPlan } from "../../src/rollout/plan";
import { manifest } from "../helpers/fixtures";

const T0 = Date.parse("2026-12-01T00:00:00.000Z");
const PLAN: Plan = {
  steps: [
    { percent: 1, holdSeconds: 60 },
    { percent: 10, holdSeconds: 120 },
  ],
  promote: true,
};

const input = (over: Partial<PlanInput> = {}): PlanInput => ({
  state: startPlan("v2", T0),
  plan: PLAN,
  needed: 100,
  served: 100,
  triggers: [{ index: 0, state: "ok" }],
  now: T0 + 60_000,
  ...over,
});

describe("viewPlan", () => {
  it.each<[string, Partial<PlanInput>, string[]]>([
    ["due: held, served, no breach", {}, []],
    ["hold not over", { now: T0 + 59_000 }, ["holds 1 s more"]],
    ["thin traffic", { served: 63 }, ["needs 37 more requests"]],
    ["counts unavailable", { served: null }, ["the canary's request count is unavailable"]],
    ["a trigger breached", { triggers: [{ index: 0, state: "breached" }] }, ["trigger #0 is breached"]],
    ["a trigger's override stands", { triggers: [{ index: 1, state: "acted" }] }, ["trigger #1 is acted"]],
    ["paused", { state: { ...startPlan("v2", T0), status: "paused", note: "by x" } }, ["the plan is paused: by x"]],
    ["everything at once", { now: T0, served: 0 }, ["holds 60 s more", "needs 100 more requests"]],
  ])("%s", (_label, over, waits) => {
    const v = viewPlan(input(over));
    expect(v.waitsFor).toEqual(waits);
    expect(v.due).toBe(waits.length === 0);
    expect(v.dueAt).toBe(new Date(T0 + 60_000).toISOString());
  });

  it("the last step promotes, or holds when promote is false", () => {
    const last: PlanState = { ...startPlan("v2", T0), step: 1 };
    expect(nextMove(last, PLAN)).toEqual({ kind: "promote" });
    expect(nextMove(last, { ...PLAN, promote: false })).toBeNull();
    expect(viewPlan(input({ state: last, plan: { ...PLAN, promote: false } }))).toMatchObject({
      due: false,
      dueAt: null,
    });
  });

  it("resume goes on from the highest step the percent has reached", () => {
    const paused: PlanState = { ...startPlan("v2", T0), status: "paused", note: "x" };
    expect(resumePlan(paused, PLAN, 0.5, T0 + 5).step).toBe(0);
    expect(resumePlan(paused, PLAN, 10, T0 + 5)).toMatchObject({ step: 1, status: "running", note: null });
    expect(resumePlan(paused, PLAN, 30, T0 + 5).since).toBe(new Date(T0 + 5).toISOString());
  });
});

describe("apply: plan commands", () => {
  const m = (v: string, plan?: Plan): Manifest => {
    const base = manifest("bot", v, "http://upstream.test");
    return { ...base, rollout: { ...base.rollout, ...(plan ? { plan } : {}) } };
  };
  const releases: StoredRelease[] = [m("v1"), m("v2", PLAN)].map((manifest) => ({
    manifest,
    digest: `sha256:${manifest.version}`,
    createdAt: "x",
    createdBy: "x",
    everActive: manifest.version === "v1",
  }));
  const world = (role: Role | "guard", now = T0): World => ({
    now,
    actor: role === "guard" ? GUARD : { name: role, role },
    release: (_a, v) => releases.find((r) => r.manifest.version === v) ?? null,
    releaseCount: () => releases.length,
    storedBytes: () => 0,
  });
  const base: ControlState = {
    revision: 1,
    agents: { bot: { active: "v1", fallback: "off", canary: null, offFrom: null } },
    overrides: [],
    plans: {},
  };
  const started = () => {
    const out = apply(base, { kind: "canary.set", agent: "bot", version: "v2", reason: "go" }, world("releaser"));
    if (!out.ok) throw new Error(out.message);
    return out.state;
  };

  it("a canary of a release with a plan starts at its first step", () => {
    const s = started();
    expect(s.agents.bot!.canary).toEqual({ version: "v2", percent: 1 });
    expect(s.plans.bot).toEqual(startPlan("v2", T0));
  });

  it("advance moves one step from the step it names, once; then promotes", () => {
    const move = { kind: "plan.advance" as const, agent: "bot", version: "v2", from: 0, reason: "plan step 2" };
    const one = apply(started(), move, world("guard", T0 + 1));
    if (!one.ok) throw new Error(one.message);
    expect(one.state.agents.bot!.canary?.percent).toBe(10);
    expect(one.audit).toMatchObject({ action: "canary.set", reason: "plan step 2" });
    expect(apply(one.state, move, world("guard"))).toMatchObject({ ok: false, code: "plan_moved" });
    const two = apply(one.state, { ...move, from: 1, reason: "plan step 3" }, world("guard"));
    if (!two.ok) throw new Error(two.message);
    expect(two.state.agents.bot).toMatchObject({ active: "v2", canary: null });
    expect(two.state.plans).toEqual({});
  });

  it("abort and rollback end the plan; pause needs an operator, resume a releaser", () => {
    const s = started();
    for (const cmd of [
      { kind: "canary.abort" as const, agent: "bot", reason: "x" },
      { kind: "rollback" as const, agent: "bot", reason: "x" },
    ]) {
      const out = apply(s, cmd, world("operator"));
      expect(out.ok && out.state.plans).toEqual({});
    }
    expect(apply(s, { kind: "canary.pause", agent: "bot", reason: "x" }, world("viewer"))).toMatchObject({
      status: 403,
    });
    const paused = apply(s, { kind: "canary.pause", agent: "bot", reason: "x" }, world("operator"));
    if (!paused.ok) throw new Error(paused.message);
    expect(apply(paused.state, { kind: "canary.resume", agent: "bot", reason: "x" }, world("operator"))).toMatchObject({
      status: 403,
    });
    const resumed = apply(
      paused.state,
      { kind: "canary.resume", agent: "bot", reason: "x" },
      world("releaser", T0 + 9),
    );
    expect(resumed.ok && resumed.state.plans.bot).toMatchObject({
      status: "running",
      since: new Date(T0 + 9).toISOString(),
    });
  });
});

describe("diff of plans", () => {
  it("matches steps by position, even when steps were added", async () => {
    const { diffManifests } = await import("../../src/release/diff");
    const a = manifest("bot", "v1", "http://u.test");
    const withPlan = (plan: Plan): Manifest => ({ ...a, rollout: { ...a.rollout, plan } });
    const from = withPlan(PLAN);
    const to = withPlan({
      steps: [PLAN.steps[0]!, { percent: 10, holdSeconds: 300 }, { percent: 50, holdSeconds: 300 }],
      promote: false,
    });
    expect(diffManifests(from, to)).toEqual([
      { path: "rollout.plan.promote", from: true, to: false },
      { path: "rollout.plan.steps[1].holdSeconds", from: 120, to: 300 },
      { path: "rollout.plan.steps[2]", from: null, to: { percent: 50, holdSeconds: 300 } },
    ]);
    expect(diffManifests(a, from)).toEqual([{ path: "rollout.plan", from: null, to: PLAN }]);
  });
});

describe("viewRun", () => {
  it("counts the canary's requests from the second after its step began, with its own triggers only", async () => {
    const { addToBuckets } = await import("../../src/rollout/window");
    const { viewRun } = await import("../../src/rollout/plan");
    const buckets = new Map();
    const since = T0 + 400; // the step began 400 ms into a second
    addToBuckets(buckets, T0 + 900, { served: 50, failures: {} }); // that same second: left out
    addToBuckets(buckets, T0 + 1000, { served: 30, failures: {} });
    addToBuckets(buckets, T0 + 61_000, { served: 7, failures: {} });
    const run = { state: startPlan("v2", since), plan: PLAN, needed: 100 };
    const status = (release: string, role: "canary" | "active", state: "ok" | "breached") =>
      ({ release, role, index: 0, state }) as unknown as import("../../src/rollout/triggers").TriggerStatus;
    const v = viewRun(run, buckets, [status("v2", "canary", "ok"), status("v1", "active", "breached")], T0 + 61_000);
    expect(v).toMatchObject({ served: 37, waitsFor: ["needs 63 more requests"] });
    const breached = viewRun(run, buckets, [status("v2", "canary", "breached")], T0 + 61_000);
    expect(breached.waitsFor).toEqual(["trigger #0 is breached", "needs 63 more requests"]);
  });
});
