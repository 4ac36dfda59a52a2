/**
 * The release plans as the read routes show them (state, explain; health has its own): each plan's step, since
 * when, when its next move is due and what it waits for, from the agent's guard, which holds the counts. A read
 * never fails for a plan: when a guard cannot answer, the plan's stored state is shown with `view: null`.
 */
import type { Bindings } from "../env";
import type { PlanState, PlanView } from "../rollout/plan";
import { guardOf } from "../state/guard-object";

export interface ShownPlan {
  state: PlanState;
  view: PlanView | null;
}

export async function planViews(
  env: Bindings,
  plans: Readonly<Record<string, PlanState>>,
): Promise<Record<string, ShownPlan>> {
  const shown = await Promise.all(
    Object.entries(plans).map(async ([agent, state]): Promise<[string, ShownPlan]> => {
      try {
        return [agent, { state, view: await guardOf(env, agent).plan(agent) }];
      } catch (err) {
        console.error(JSON.stringify({ msg: "plan view unavailable", agent, error: String(err) }));
        return [agent, { state, view: null }];
      }
    }),
  );
  return Object.fromEntries(shown);
}
