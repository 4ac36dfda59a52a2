/**
 * The building blocks of apply's answers, shared by the pointer commands (apply.ts) and the plan commands
 * (apply-plan.ts): refusals, "nothing changed", a change of pointers (which carries the plan along: a plan lives
 * only as long as its canary), and the readiness gate. Pure.
 */
import { own } from "../release/own";
import { readinessGaps } from "../release/readiness";
import type { PlanState } from "../rollout/plan";
import type { Pointers } from "../routing/snapshot";
import { type Applied, type ControlState, type Effect, NO_POINTERS, type Refusal, type World } from "./model";
import type { Role } from "./roles";

export const refuse = (
  status: Refusal["status"],
  code: Refusal["code"],
  message: string,
  details?: unknown,
): Refusal => ({
  ok: false,
  status,
  code,
  message,
  ...(details === undefined ? {} : { details }),
});

export const forbidden = (need: Role, what: string): Refusal =>
  refuse(403, "forbidden", `${what} needs the role ${need} or higher`, { requiredRole: need });

export function unchanged(state: ControlState, result: Record<string, unknown> = {}): Applied {
  return { ok: true, changed: false, state, audit: null, effects: [], result: { ...result, unchanged: true } };
}

const samePointers = (a: Pointers, b: Pointers): boolean =>
  a.active === b.active &&
  a.fallback === b.fallback &&
  a.offFrom === b.offFrom &&
  a.canary?.version === b.canary?.version &&
  a.canary?.percent === b.canary?.percent;

/** The agent's plans with `plan` put in (or removed, for null), and the effect that stores it. */
export function withPlan(state: ControlState, agent: string, plan: PlanState | null): [ControlState, Effect] {
  const { [agent]: _, ...others } = state.plans;
  return [
    { ...state, plans: plan === null ? others : { ...others, [agent]: plan } },
    { kind: "plan", agent, plan },
  ];
}

/**
 * A change of an agent's pointers, audited. `plan` is the agent's plan afterwards (undefined: as it was); a plan
 * whose canary is gone or replaced ends with it, whatever the command (abort, rollback, promote, a new canary).
 */
export function withPointers(
  state: ControlState,
  agent: string,
  action: string,
  reason: string,
  next: Pointers,
  extra: Effect[] = [],
  plan?: PlanState | null,
): Applied {
  const before = own(state.agents, agent) ?? NO_POINTERS;
  // A move that leaves every pointer as it was (promoting the active release, rolling back to "off" again,
  // setting the canary's own percent) is no change: no revision, no audit entry, nothing to publish.
  if (samePointers(before, next)) return unchanged(state);
  const held = own(state.plans, agent) ?? null;
  let after = plan === undefined ? held : plan;
  if (after !== null && after.version !== next.canary?.version) after = null;
  let out: ControlState = { ...state, revision: state.revision + 1, agents: { ...state.agents, [agent]: next } };
  const effects: Effect[] = [{ kind: "pointers", agent, pointers: next }, ...extra];
  if (after !== held) {
    const [withIt, effect] = withPlan(out, agent, after);
    out = withIt;
    effects.push(effect);
  }
  return {
    ok: true,
    changed: true,
    state: out,
    audit: { action, agent, reason, before, after: next },
    effects,
    result: {},
  };
}

/** The release must exist and answer the five readiness questions (§4.3) before going live. */
export function gate(world: World, agent: string, version: string): Refusal | null {
  const r = world.release(agent, version);
  if (r === null) return refuse(404, "unknown_release", `no release ${agent}@${version}`);
  const missing = readinessGaps({
    manifest: r.manifest,
    digest: r.digest,
    releaseExists: (v) => world.release(agent, v) !== null,
  });
  if (missing.length > 0) return refuse(422, "not_ready", `${agent}@${version} is not ready to go live`, { missing });
  return null;
}
