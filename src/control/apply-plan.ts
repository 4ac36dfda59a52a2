/**
 * The plan commands of apply (CONTRACT §4.2 pause/resume, §4.4; docs/plans.md). Pure.
 *
 * - `canary.pause` (operator: holding still is the safer move) stops the ramp; the percent stays.
 * - `canary.resume` (releaser: ramping on is the riskier one) goes on from the step the percent has reached.
 * - `plan.advance` is the plan's own move, sent by the guard: it names the canary and the step it leaves, so it
 *   lands only on the plan it was decided on. A second delivery of the same move, a plan that a person paused,
 *   or a canary that changed meanwhile all get 409 `plan_moved` and change nothing.
 */
import { own } from "../release/own";
import { nextMove, type PlanState, resumePlan } from "../rollout/plan";
import type { Pointers } from "../routing/snapshot";
import type { Command } from "./commands";
import type { ControlState, Outcome, World } from "./model";
import { forbidden, gate, refuse, unchanged, withPlan, withPointers } from "./outcome";
import { atLeast, mayActOn } from "./roles";

type PlanCommand = Extract<Command, { kind: "canary.pause" | "canary.resume" | "plan.advance" }>;

function audited(
  state: ControlState,
  agent: string,
  action: string,
  reason: string,
  before: PlanState,
  after: PlanState,
): Outcome {
  const [next, effect] = withPlan(state, agent, after);
  return {
    ok: true,
    changed: true,
    state: { ...next, revision: state.revision + 1 },
    audit: { action, agent, reason, before: { plan: before }, after: { plan: after } },
    effects: [effect],
    result: { plan: after },
  };
}

export function applyPlanCommand(state: ControlState, command: PlanCommand, world: World): Outcome {
  const { agent } = command;
  const need = command.kind === "canary.resume" ? "releaser" : "operator";
  if (!atLeast(world.actor.role, need)) {
    return forbidden(need, command.kind === "canary.resume" ? "resuming a plan" : "pausing a plan");
  }
  if (!mayActOn(world.actor, agent)) return refuse(403, "forbidden", `this token does not act on ${agent}`);
  const pointers = own(state.agents, agent);
  if (pointers === undefined) return refuse(404, "unknown_agent", `no agent ${agent}`);
  const plan = own(state.plans, agent);
  if (plan === undefined) return refuse(409, "no_plan", `${agent} has no canary with a release plan`);

  switch (command.kind) {
    case "canary.pause": {
      if (plan.status !== "running") return unchanged(state, { plan });
      const paused: PlanState = { ...plan, status: "paused", note: `paused by ${world.actor.name}: ${command.reason}` };
      return audited(state, agent, command.kind, command.reason, plan, paused);
    }
    case "canary.resume": {
      if (plan.status === "running") return unchanged(state, { plan });
      const steps = world.release(agent, plan.version)?.manifest.rollout?.plan;
      if (steps === undefined || pointers.canary === null) {
        return refuse(409, "no_plan", `${agent}@${plan.version} has no plan to resume`);
      }
      const resumed = resumePlan(plan, steps, pointers.canary.percent, world.now);
      return audited(state, agent, command.kind, command.reason, plan, resumed);
    }
    case "plan.advance":
      return advance(state, command, world, pointers, plan);
  }
}

function advance(
  state: ControlState,
  command: Extract<Command, { kind: "plan.advance" }>,
  world: World,
  p: Pointers,
  plan: PlanState,
): Outcome {
  const { agent, version } = command;
  if (
    plan.version !== version ||
    plan.step !== command.from ||
    plan.status !== "running" ||
    p.canary?.version !== version
  ) {
    return refuse(
      409,
      "plan_moved",
      `the plan of ${agent} is not where this move was decided (step ${command.from + 1} of ${version}, running)`,
      {
        plan,
      },
    );
  }
  const steps = world.release(agent, version)?.manifest.rollout?.plan;
  const move = steps === undefined ? null : nextMove(plan, steps);
  if (move === null) return refuse(409, "plan_complete", `the plan of ${agent}@${version} has no next move`);
  if (move.kind === "step") {
    const next: Pointers = { ...p, canary: { version, percent: move.percent } };
    const moved: PlanState = { ...plan, step: move.to, since: new Date(world.now).toISOString() };
    return withPointers(state, agent, "canary.set", command.reason, next, [], moved);
  }
  const notReady = gate(world, agent, version);
  if (notReady) return notReady;
  const r = world.release(agent, version)!;
  const next: Pointers = {
    active: version,
    fallback: r.manifest.rollout?.fallback ?? null,
    canary: null,
    offFrom: null,
  };
  return withPointers(state, agent, "promote", command.reason, next, [{ kind: "release.activated", agent, version }]);
}
