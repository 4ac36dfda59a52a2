/**
 * The guard's view of the control plane for one agent: its live releases with their triggers, the overrides in
 * force, and the canary's release plan with its state. Read through the control plane's RPC; re-read only when its revision moves (one cheap
 * `head()` per evaluation), and a release's triggers are fetched once ever, since a release is immutable.
 */

import type { Refusal, StoredRelease } from "../control/model";
import type { Actor } from "../control/roles";
import { own } from "../release/own";
import type { Plan, Trigger } from "../release/schema";
import { neededRequests, type PlanRun, type PlanState } from "../rollout/plan";
import type { GuardCommand, GuardView, LiveRelease } from "../rollout/triggers";
import type { Override } from "../routing/override";
import type { Pointers } from "../routing/snapshot";
import type { CommandInput, Mutated } from "./control-plane";

/** The control plane's methods the guard calls (restated plainly, as admin/respond.ts does for the routes). */
export interface ControlRpc {
  head(): Promise<{ revision: number }>;
  current(): Promise<{
    revision: number;
    agents: Readonly<Record<string, Pointers>>;
    overrides: readonly Override[];
    plans: Readonly<Record<string, PlanState>>;
  }>;
  release(agent: string, version: string): Promise<StoredRelease | null>;
  mutate(
    input: GuardCommand | Extract<CommandInput, { kind: "plan.advance" }>,
    actor: Actor,
    ifMatch?: number,
  ): Promise<Mutated | Refusal>;
}

export type ReleaseMemo = Map<string, { digest: string; triggers: readonly Trigger[]; plan: Plan | null }>;

export interface AgentView extends GuardView {
  plan: PlanRun | null;
}

export async function readView(
  cp: ControlRpc,
  agent: string,
  held: AgentView | null,
  releases: ReleaseMemo,
): Promise<AgentView | null> {
  const { revision } = await cp.head();
  if (held !== null && held.agent === agent && held.revision === revision) return held;
  const s = await cp.current();
  // Own properties only: `constructor` is a valid agent id, and `s.agents.constructor` would be `Object`.
  const p = own(s.agents, agent);
  if (p === undefined) return null;
  const live: LiveRelease[] = [];
  const add = async (version: string, role: LiveRelease["role"]) => {
    let r = releases.get(version);
    if (r === undefined) {
      const stored = await cp.release(agent, version);
      if (stored === null) return;
      const rollout = stored.manifest.rollout;
      r = { digest: stored.digest, triggers: rollout?.triggers ?? [], plan: rollout?.plan ?? null };
      releases.set(version, r);
    }
    live.push({ version, role, digest: r.digest, triggers: r.triggers });
  };
  // The canary first: when both breach, the riskier release is dealt with first.
  if (p.canary !== null) await add(p.canary.version, "canary");
  if (p.active !== null && p.active !== "off") await add(p.active, "active");
  const state = own(s.plans, agent);
  const steps = state === undefined ? undefined : releases.get(state.version);
  const plan =
    state !== undefined && steps?.plan && p.canary?.version === state.version
      ? { state, plan: steps.plan, needed: neededRequests(steps.triggers) }
      : null;
  return { agent, revision: s.revision, live, overrides: s.overrides.filter((o) => o.scope.agent === agent), plan };
}
