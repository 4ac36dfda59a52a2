/** Shared setup for the release-plan tests: an agent whose v2 carries a plan, the guard, the clock, the state. */
import { env } from "cloudflare:test";
import { inject } from "vitest";
import type { Plan, Trigger } from "../../src/release/schema";
import type { PlanState, PlanView } from "../../src/rollout/plan";
import { type AuditEntry, call, ok } from "../helpers/admin";
import { testClock } from "../helpers/clock";
import { manifest } from "../helpers/fixtures";

export const HOLD = 300;
export const blocked: Trigger = {
  failureClass: "tool_blocked",
  maxRate: 0.01,
  minRequests: 100,
  windowSeconds: HOLD,
  action: "abort-canary",
};
export const PLAN: Plan = {
  steps: [
    { percent: 1, holdSeconds: HOLD },
    { percent: 10, holdSeconds: HOLD },
    { percent: 50, holdSeconds: HOLD },
  ],
  promote: true,
};

/** v1 active; v2 stored with `plan` and `triggers`. The clock is fixed at a real moment first. */
export async function planAgent(agent: string, plan: Plan = PLAN, triggers: Trigger[] = [blocked]): Promise<void> {
  testClock.set(Date.now());
  for (const v of ["v1", "v2"]) {
    const m = manifest(agent, v, inject("upstream"));
    const rollout = { ...m.rollout, triggers, ...(v === "v2" ? { plan } : {}) };
    await ok(call("releaser", "PUT", `/agents/${agent}/releases/${v}`, { ...m, rollout }), 201);
  }
  await ok(call("releaser", "POST", `/agents/${agent}/promote`, { version: "v1", reason: "test: go live" }));
}

export const startCanary = (agent: string) =>
  ok(call("releaser", "POST", `/agents/${agent}/canary`, { version: "v2", reason: "test: start the plan" }));

export const guardStub = (agent: string) => env.GUARD.get(env.GUARD.idFromName(agent));

let seq = 0;
export const batch = (release: string, served: number, failures: Record<string, number> = {}) => ({
  id: `plan-test:${++seq}`,
  releases: { [release]: { served, failures } },
});

export interface Shown {
  pointers: { active: string | null; canary: { version: string; percent: number } | null };
  plan: { state: PlanState; view: PlanView | null } | undefined;
  revision: number;
}

export async function shown(agent: string): Promise<Shown> {
  const s = await ok<{
    revision: number;
    agents: Record<string, Shown["pointers"]>;
    plans: Record<string, NonNullable<Shown["plan"]>>;
  }>(call("viewer", "GET", "/state"));
  return { pointers: s.agents[agent]!, plan: s.plans[agent], revision: s.revision };
}

export async function auditOf(agent: string): Promise<AuditEntry[]> {
  return (await ok<{ entries: AuditEntry[] }>(call("viewer", "GET", `/audit?agent=${agent}&limit=100`))).entries;
}

/** The guard's entries, oldest first: each plan move and trigger action. */
export async function guardMoves(agent: string): Promise<Array<{ action: string; reason: string }>> {
  return (await auditOf(agent))
    .filter((e) => e.actor === "guard")
    .reverse()
    .map((e) => ({ action: e.action, reason: e.reason }));
}

/** Moves the clock past the current step's hold. */
export const passHold = () => testClock.advance(HOLD * 1000 + 1000);
