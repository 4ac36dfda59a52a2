/**
 * Token scope for admin commands (CONTRACT §4.1): a token entry with `agents` acts on those agents only — 403
 * elsewhere, and never on the fleet-wide scope `*` (a panic for every agent is not a scoped token's to lay or
 * lift). Checked first in `apply`, before any other rule, so a scoped token learns nothing about agents outside
 * its scope (no 404 / 409 / 422 that would tell them apart). Pure, like the rest of the control core.
 */
import type { Command } from "./commands";
import type { ControlState, Refusal } from "./model";
import { refuse } from "./outcome";
import { type Actor, mayActOn } from "./roles";

/** The agent a command acts on, or null for commands no token sends (expiry) and unknown overrides. */
export function commandAgent(state: ControlState, command: Command): string | null {
  switch (command.kind) {
    case "override.add":
      return command.scope.agent;
    case "override.remove":
      return state.overrides.find((o) => o.id === command.id)?.scope.agent ?? null;
    case "override.expire":
      return null;
    default:
      return command.agent;
  }
}

export function outOfScope(actor: Actor, state: ControlState, command: Command): Refusal | null {
  if (actor.agents === undefined) return null;
  const agent = commandAgent(state, command);
  // An unknown override id is refused as out of scope too: a scoped token cannot probe for other agents' ids.
  if (agent !== null && mayActOn(actor, agent)) return null;
  return refuse(
    403,
    "forbidden",
    agent === "*" ? "a token scoped to agents cannot act on every agent (*)" : "this token does not act on that agent",
    { agents: actor.agents },
  );
}
