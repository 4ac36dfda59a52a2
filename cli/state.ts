/**
 * Reading the gateway's state (`GET /admin/v1/state`) for commands that need it: `canary set` (which version),
 * `panic` (is one in force), `status`, `wait`. Typed with the project's own types; the answer is the gateway's.
 */
import type { z } from "zod";
import { AgentId } from "../src/release/schema";
import type { Override } from "../src/routing/override";
import type { Pointers } from "../src/routing/snapshot";
import { type Ctx, usageOf } from "./context";
import { CliError, EXIT } from "./errors";

/** An agent's entry in the state: its pointers, and whatever else the gateway reports (a plan's progress). */
export type AgentState = Pointers & Record<string, unknown>;

export interface GatewayState {
  revision: number;
  publishedRevision?: number;
  agents: Record<string, AgentState>;
  overrides: Override[];
  /** Each running canary's release plan, as the gateway shows it (`{ state, view }`); absent on older gateways. */
  plans?: Record<string, Record<string, unknown>>;
}

export async function readState(ctx: Ctx, signal?: AbortSignal): Promise<GatewayState> {
  const { body } = await ctx.gateway.call({ method: "GET", path: "/state" }, signal);
  return body as unknown as GatewayState;
}

export function agentIn(state: GatewayState, agent: string): AgentState {
  const a = Object.hasOwn(state.agents, agent) ? state.agents[agent] : undefined;
  if (a === undefined) {
    throw new CliError(EXIT.refused, `no agent ${agent} on this gateway`, {
      code: "unknown_agent",
      next: "switchyard status (lists every agent)",
    });
  }
  return a;
}

/** A positional checked with the project's schema: a malformed agent id or version is a usage error. */
export function valid<T extends z.ZodType>(ctx: Ctx, schema: T, value: string, what: string): string {
  const r = schema.safeParse(value);
  if (!r.success) throw usageOf(ctx, `${what} "${value}" ${r.error.issues[0]?.message ?? "is invalid"}`);
  return value;
}

export const validAgent = (ctx: Ctx, value: string): string => valid(ctx, AgentId, value, "agent");

/** Overrides that apply to an agent: every-agent ones and its own (any release). */
export const overridesOf = (state: GatewayState, agent: string): Override[] =>
  state.overrides.filter((o) => o.scope.agent === "*" || o.scope.agent === agent);
