/**
 * Release plans (CONTRACT §1.1 `rollout.plan`, §4.4, docs/plans.md): the canary's ramp, run by the gateway.
 *
 * Pure: the plan's state, the canary's counts and the trigger verdicts come in with `now`; what the plan waits
 * for, and whether its next move is due, go out. The control core (control/apply-plan.ts) changes the state; the
 * guard Durable Object only reads the verdict, sends the move through the control plane and schedules an alarm
 * for when the hold ends. A move names the step it leaves, so a move sent twice (alarms are at least once) finds
 * the plan already past that step and changes nothing.
 */
import type { Plan } from "../release/schema";
import type { TriggerState, TriggerStatus } from "./triggers";
import { type Buckets, secondOf, sumSpan } from "./window";

export type PlanStatus = "running" | "paused" | "stopped";

/** The plan's part of an agent's control state. */
export interface PlanState {
  /** The canary release whose plan this is. */
  version: string;
  /** The step the canary is at, 0-based (shown 1-based). */
  step: number;
  /** When this step began, or when the plan was last resumed: its hold and its request count start here. */
  since: string;
  status: PlanStatus;
  /** Why it is paused or stopped, and by whom; null while it runs. */
  note: string | null;
}

/** The next move of a plan: to another step, or the promotion after the last one. */
export type PlanMove = { kind: "step"; to: number; percent: number } | { kind: "promote" };

/** What the plan of one agent looks like now, for the guard, the state, explain and health. */
export interface PlanView {
  version: string;
  status: PlanStatus;
  /** 1-based, of `steps`. */
  step: number;
  steps: number;
  percent: number;
  since: string;
  promote: boolean;
  next: { step: number; percent: number } | { promote: true } | null;
  /** When the step's hold ends; null when there is no next move. */
  dueAt: string | null;
  /** Requests served by the canary since `since`, and the triggers' minRequests it needs. */
  served: number | null;
  needed: number;
  /** Empty when the move is due; else each thing it waits for, e.g. "needs 37 more requests". */
  waitsFor: string[];
  due: boolean;
  note: string | null;
}

export interface PlanInput {
  state: PlanState;
  plan: Plan;
  /** The canary's triggers' largest minRequests: what a step must have served. */
  needed: number;
  /** Served by the canary since the step began; null when the counts are unavailable. */
  served: number | null;
  /** The verdicts of the canary's triggers now. */
  triggers: ReadonlyArray<{ index: number; state: TriggerState }>;
  now: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export const startPlan = (version: string, now: number): PlanState => ({
  version,
  step: 0,
  since: iso(now),
  status: "running",
  note: null,
});

/**
 * Resuming goes on from the step the canary's percent has reached (a person may have moved it by hand): the
 * highest step whose percent it is at or above. The hold and the request count start again: the step proves
 * itself anew after whatever made someone stop it.
 */
export function resumePlan(state: PlanState, plan: Plan, percent: number, now: number): PlanState {
  let step = 0;
  plan.steps.forEach((s, i) => {
    if (s.percent <= percent) step = i;
  });
  return { ...state, step, since: iso(now), status: "running", note: null };
}

export function nextMove(state: PlanState, plan: Plan): PlanMove | null {
  const to = state.step + 1;
  const step = plan.steps[to];
  if (step !== undefined) return { kind: "step", to, percent: step.percent };
  return plan.promote ? { kind: "promote" } : null;
}

/** The largest minRequests of the triggers: a step must have served at least this many. */
export const neededRequests = (triggers: ReadonlyArray<{ minRequests: number }>): number =>
  Math.max(0, ...triggers.map((t) => t.minRequests));

function waitsFor(input: PlanInput, move: PlanMove | null, dueAt: number): string[] {
  const { state, now, served, needed } = input;
  if (state.status !== "running") return [`the plan is ${state.status}${state.note ? `: ${state.note}` : ""}`];
  if (move === null) return ["nothing: the last step holds (promote is false)"];
  const out: string[] = [];
  const blocking = input.triggers.filter((t) => t.state === "breached" || t.state === "acted");
  for (const t of blocking) out.push(`trigger #${t.index} is ${t.state}`);
  if (now < dueAt) out.push(`holds ${Math.ceil((dueAt - now) / 1000)} s more`);
  if (served === null) out.push("the canary's request count is unavailable");
  else if (served < needed) out.push(`needs ${needed - served} more requests`);
  return out;
}

export function viewPlan(input: PlanInput): PlanView {
  const { state, plan } = input;
  const step = plan.steps[state.step] ?? plan.steps[plan.steps.length - 1]!;
  const move = nextMove(state, plan);
  const dueAt = Date.parse(state.since) + step.holdSeconds * 1000;
  const waits = waitsFor(input, move, dueAt);
  return {
    version: state.version,
    status: state.status,
    step: state.step + 1,
    steps: plan.steps.length,
    percent: step.percent,
    since: state.since,
    promote: plan.promote,
    next:
      move === null ? null : move.kind === "promote" ? { promote: true } : { step: move.to + 1, percent: move.percent },
    dueAt: move === null ? null : iso(dueAt),
    served: input.served,
    needed: input.needed,
    waitsFor: waits,
    due: waits.length === 0,
    note: state.note,
  };
}

/** The canary's plan as the guard runs it: its state in the control plane, its steps, what a step must serve. */
export interface PlanRun {
  state: PlanState;
  plan: Plan;
  needed: number;
}

/**
 * The plan's view from the guard's counts: the requests the canary served since its step began (the second in
 * which it began left out, as for a trigger after an action) and the states of the canary's triggers.
 */
export function viewRun(
  run: PlanRun,
  buckets: Buckets | undefined,
  statuses: readonly TriggerStatus[],
  now: number,
): PlanView {
  const { state, plan, needed } = run;
  const served = sumSpan(buckets, { from: secondOf(Date.parse(state.since)), to: secondOf(now) }).served;
  const triggers = statuses.filter((t) => t.release === state.version && t.role === "canary");
  return viewPlan({ state, plan, needed, served, triggers, now });
}

/** The audit reason of a move: `plan step N` (N the step entered, 1-based; the promotion is step k + 1). */
export function moveReason(view: PlanView): string {
  const held = `after step ${view.step} (${view.percent} %) held since ${view.since} with ${view.served} requests and no trigger breached`;
  const n = view.step + 1;
  if (view.next !== null && "percent" in view.next) return `plan step ${n}: ${view.next.percent} % ${held}`;
  return `plan step ${n}: promote ${view.version} ${held}`;
}
