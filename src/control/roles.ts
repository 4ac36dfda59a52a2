/**
 * Roles (CONTRACT §4.1), each holding the rights of those before it. `runtime` only evaluates lanes (OFREP) and
 * spends a configured provider secret on /models; the admin API starts at `viewer`. Safer moves need
 * `operator`, riskier ones `releaser`; the split is decided per command in apply.ts, sometimes from the state
 * (lowering a canary is safer, raising it is riskier).
 */
import { z } from "zod";

export const ROLES = ["runtime", "viewer", "operator", "releaser", "admin"] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

export const atLeast = (have: Role, need: Role): boolean => ROLES.indexOf(have) >= ROLES.indexOf(need);

export interface Actor {
  name: string;
  role: Role;
  /** The agents this actor may act on (CONTRACT §4.1 token `agents`); absent: every agent. */
  agents?: readonly string[];
}

/** Whether the actor's token scope covers this agent. A scoped token never covers the wildcard `*`. */
export const mayActOn = (actor: Actor, agent: string): boolean =>
  actor.agents === undefined || (agent !== "*" && actor.agents.includes(agent));

/** The automatic actors: the guard acts on triggers, expiry removes overrides whose time has passed. */
export const GUARD: Actor = { name: "guard", role: "operator" };
export const EXPIRY: Actor = { name: "expiry", role: "operator" };
