/**
 * A token's agent scope on the admin reads (CONTRACT §4.1): an agent outside it is 403 (not 404, so the answer
 * says nothing about whether it exists), and lists show only the agents inside it. Mutations are checked in the
 * pure core (control/scope.ts).
 */
import { type Actor, mayActOn } from "../control/roles";
import { HttpError } from "../errors";

export function requireScope(actor: Actor, agent: string): void {
  if (!mayActOn(actor, agent)) {
    throw new HttpError(403, "forbidden", "this token does not act on that agent", { agents: actor.agents ?? null });
  }
}

/** The entries of a per-agent record the actor may see. */
export function scopedAgents<T>(actor: Actor, byAgent: Record<string, T>): Record<string, T> {
  if (actor.agents === undefined) return byAgent;
  return Object.fromEntries(Object.entries(byAgent).filter(([agent]) => mayActOn(actor, agent)));
}
