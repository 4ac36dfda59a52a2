/** Shared setup for the guard tests: an agent with live releases carrying given triggers, and the guard's clock. */
import { env } from "cloudflare:test";
import type { Trigger } from "../../src/release/schema";
import { call, ok } from "../helpers/admin";
import { testClock } from "../helpers/clock";
import { manifest } from "../helpers/fixtures";

export const blocked: Trigger = {
  failureClass: "tool_blocked",
  maxRate: 0.01,
  minRequests: 100,
  windowSeconds: 300,
  action: "abort-canary",
};

/** v1 active (fallback "off"); with `canary`, v2 as a 100 % canary. Both releases carry `triggers`. */
export async function liveAgent(
  agent: string,
  upstream: string,
  triggers: Trigger[],
  opts: { canary?: boolean } = {},
): Promise<void> {
  for (const v of ["v1", "v2"]) {
    const m = manifest(agent, v, upstream);
    const body = { ...m, rollout: { ...m.rollout, triggers } };
    await ok(call("releaser", "PUT", `/agents/${agent}/releases/${v}`, body), 201);
  }
  await ok(call("releaser", "POST", `/agents/${agent}/promote`, { version: "v1", reason: "test: go live" }));
  if (opts.canary) {
    await ok(call("releaser", "POST", `/agents/${agent}/canary`, { version: "v2", percent: 100, reason: "test" }));
  }
}

export const guardStub = (agent: string) => env.GUARD.get(env.GUARD.idFromName(agent));

/**
 * Puts the guard (and the control plane) on the tests' clock, fixed at `start`; setting `now` moves it. The
 * objects are constructed with that clock (test/worker.ts), so the agent is only there to keep the call sites.
 */
export async function guardClock(_agent: string, start: number): Promise<{ now: number }> {
  testClock.set(start);
  return {
    get now() {
      return testClock.now();
    },
    set now(at: number) {
      testClock.set(at);
    },
  };
}

export interface AuditEntry {
  actor: string;
  action: string;
  reason: string;
  after: Record<string, unknown> | null;
}

export async function auditOf(agent: string): Promise<AuditEntry[]> {
  return (await ok<{ entries: AuditEntry[] }>(call("viewer", "GET", `/audit?agent=${agent}`))).entries;
}

export async function pointersOf(agent: string): Promise<{ active: string; canary: { version: string } | null }> {
  const s = await ok<{ agents: Record<string, { active: string; canary: { version: string } | null }> }>(
    call("viewer", "GET", "/state"),
  );
  return s.agents[agent]!;
}

/** One isolate's batch for one release, under a fresh id. */
let seq = 0;
export const batch = (release: string, served: number, failures: Record<string, number> = {}) => ({
  id: `test:${++seq}`,
  releases: { [release]: { served, failures } },
});
