/**
 * Trigger evaluation (src/rollout/triggers.ts, CONTRACT §4.4): breach, thin traffic, which command each action
 * becomes for the canary and the active release, and "once, not again while its effect stands". Plain calls
 * with an explicit `now`; no platform code.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Trigger } from "../../src/release/schema";
import {
  evaluate,
  type GuardOverride,
  type GuardView,
  type LiveRelease,
  type Marker,
  REFUSAL_RETRY_MS,
  tagOf,
} from "../../src/rollout/triggers";
import { addToBuckets, type Buckets } from "../../src/rollout/window";

const T = 1_800_000_000_000;
const blocked: Trigger = {
  failureClass: "tool_blocked",
  maxRate: 0.01,
  minRequests: 100,
  windowSeconds: 300,
  action: "abort-canary",
};
const errors: Trigger = {
  failureClass: "upstream_error",
  maxRate: 0.05,
  minRequests: 50,
  windowSeconds: 120,
  action: { set: { mode: "draft-only" } },
};

function view(live: Array<Partial<LiveRelease> & { version: string }>, overrides: GuardOverride[] = []): GuardView {
  return {
    agent: "bot",
    revision: 9,
    live: live.map((r) => ({ digest: "sha256:x", role: "active", triggers: [blocked], ...r })),
    overrides,
  };
}

function run(v: GuardView, counts: Record<string, Buckets>, markers: Marker[] = [], now = T) {
  return evaluate({
    view: v,
    now,
    buckets: (release) => counts[release],
    marker: (release, i) => markers.find((m) => m.release === release && m.trigger === i),
  });
}

function traffic(served: number, failures: Record<string, number>, at = T - 5000): Buckets {
  const b: Buckets = new Map();
  addToBuckets(b, at, { served, failures });
  return b;
}

const acted = (release: string, trigger: number, at: number, extra: Partial<Marker> = {}): Marker => ({
  release,
  trigger,
  at,
  command: "canary.abort",
  outcome: "acted",
  overrideId: null,
  revision: 10,
  detail: "",
  endedAt: null,
  ...extra,
});

describe("verdicts", () => {
  it("a canary failing tool_blocked at 2 % against a 1 % trigger is aborted, and the reason says why", () => {
    const out = run(view([{ version: "v2", role: "canary" }, { version: "v1" }]), {
      v2: traffic(200, { tool_blocked: 4 }),
    });
    expect(out.planned).toHaveLength(1);
    const cmd = out.planned[0]!.command;
    expect(cmd).toMatchObject({ kind: "canary.abort", agent: "bot" });
    expect(cmd.reason).toContain(tagOf("v2", 0));
    expect(cmd.reason).toContain("tool_blocked at 2.00 % (4 of 200 requests) over the last 300 s");
    expect(cmd.reason).toContain("exceeds maxRate 1.00 % (minRequests 100) on the canary release v2");
    expect(out.statuses.find((s) => s.release === "v2")).toMatchObject({ state: "breached", rate: 0.02 });
    // abort-canary on the active release does not apply: the canary cannot be blamed for the active's failures.
    expect(out.statuses.find((s) => s.release === "v1")).toMatchObject({ state: "inapplicable" });
  });

  it("minRequests holds back a verdict on thin traffic", () => {
    const out = run(view([{ version: "v2", role: "canary" }]), { v2: traffic(99, { tool_blocked: 50 }) });
    expect(out.planned).toEqual([]);
    expect(out.statuses[0]).toMatchObject({ state: "insufficient" });
    expect(
      run(view([{ version: "v2", role: "canary" }]), { v2: traffic(100, { tool_blocked: 2 }) }).planned,
    ).toHaveLength(1);
  });

  it("a rate equal to maxRate is not a breach; only exceeding it is", () => {
    const out = run(view([{ version: "v2", role: "canary" }]), { v2: traffic(100, { tool_blocked: 1 }) });
    expect(out.planned).toEqual([]);
    expect(out.statuses[0]).toMatchObject({ state: "ok", rate: 0.01 });
  });

  it("failures older than the window do not count", () => {
    const out = run(view([{ version: "v2", role: "canary" }]), {
      v2: traffic(200, { tool_blocked: 4 }, T - 301_000),
    });
    expect(out.statuses[0]).toMatchObject({ state: "insufficient", counts: { served: 0 } });
  });

  it.each([
    { role: "canary", action: "rollback", kind: "canary.abort" },
    { role: "active", action: "rollback", kind: "rollback" },
    { role: "canary", action: "abort-canary", kind: "canary.abort" },
  ] as const)("$action on the $role release becomes $kind", ({ role, action, kind }) => {
    const out = run(view([{ version: "v2", role, triggers: [{ ...blocked, action }] }]), {
      v2: traffic(200, { tool_blocked: 4 }),
    });
    expect(out.planned[0]?.command.kind).toBe(kind);
  });

  it("a set action becomes an override scoped to that release", () => {
    const out = run(view([{ version: "v1", triggers: [errors] }]), { v1: traffic(100, { upstream_error: 6 }) });
    expect(out.planned[0]?.command).toMatchObject({
      kind: "override.add",
      scope: { agent: "bot", release: "v1" },
      set: { mode: "draft-only" },
    });
  });
});

describe("once, and not again while its effect stands", () => {
  it("the failures behind one action never cause a second one", () => {
    const counts = { v2: traffic(200, { tool_blocked: 4 }) };
    const marker = acted("v2", 0, T - 1000);
    // Even if the canary were still live (an operator restarted it), the old failures no longer count.
    const out = run(view([{ version: "v2", role: "canary" }]), counts, [{ ...marker, endedAt: T - 500 }]);
    expect(out.planned).toEqual([]);
    expect(out.statuses[0]).toMatchObject({ state: "insufficient", actedAt: T - 1000 });
  });

  it("a set override stands while it is in force; once removed, counting restarts from then", () => {
    const counts = { v1: traffic(100, { upstream_error: 20 }, T - 10_000) };
    const marker = acted("v1", 0, T - 20_000, { command: "override.add", overrideId: "ovr_1" });
    const withOverride: GuardOverride = {
      id: "ovr_1",
      actor: "guard",
      scope: { agent: "bot", release: "v1" },
      reason: `${tagOf("v1", 0)}: ...`,
    };
    const standing = run(view([{ version: "v1", triggers: [errors] }], [withOverride]), counts, [marker]);
    expect(standing.statuses[0]).toMatchObject({ state: "acted", overrideId: "ovr_1" });
    expect(standing.planned).toEqual([]);
    expect(standing.ended).toEqual([]);

    // Removed by a releaser: the failures counted while the safer lane stood do not re-fire it at once.
    const removed = run(view([{ version: "v1", triggers: [errors] }]), counts, [marker]);
    expect(removed.planned).toEqual([]);
    expect(removed.ended).toEqual([{ release: "v1", trigger: 0 }]);
    expect(removed.statuses[0]).toMatchObject({ state: "insufficient" });

    // A fresh breach after that does act again.
    const later = { v1: traffic(100, { upstream_error: 20 }, T + 5000) };
    const again = run(view([{ version: "v1", triggers: [errors] }]), later, [{ ...marker, endedAt: T }], T + 6000);
    expect(again.planned).toHaveLength(1);
  });

  it("a guard override is recognized by its tag even when its id was never recorded", () => {
    const o: GuardOverride = {
      id: "ovr_9",
      actor: "guard",
      scope: { agent: "bot", release: "v1" },
      reason: `${tagOf("v1", 0)}: x`,
    };
    const out = run(view([{ version: "v1", triggers: [errors] }], [o]), { v1: traffic(100, { upstream_error: 20 }) });
    expect(out.statuses[0]).toMatchObject({ state: "acted", overrideId: "ovr_9" });
    expect(out.planned).toEqual([]);
  });

  it("a refused command is retried after REFUSAL_RETRY_MS, not on every evaluation", () => {
    const counts = { v1: traffic(200, { tool_blocked: 4 }, T - 2000) };
    const v = view([{ version: "v1", triggers: [{ ...blocked, action: "rollback" }] }]);
    const refused = acted("v1", 0, T - 1000, { outcome: "refused", command: "rollback", detail: "no_fallback" });
    expect(run(v, counts, [refused]).planned).toEqual([]);
    expect(run(v, counts, [refused]).statuses[0]).toMatchObject({ state: "breached" });
    expect(run(v, counts, [refused], T - 1000 + REFUSAL_RETRY_MS).planned).toHaveLength(1);
  });

  it("property: after acting at t, no history up to t makes the trigger act again", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ago: fc.integer({ min: 0, max: 400_000 }), served: fc.nat(500), failed: fc.nat(500) }), {
          maxLength: 40,
        }),
        fc.integer({ min: 0, max: 600_000 }),
        (history, later) => {
          const b: Buckets = new Map();
          for (const h of history)
            addToBuckets(b, T - h.ago, { served: h.served, failures: { tool_blocked: h.failed } });
          const v = view([{ version: "v2", role: "canary", triggers: [{ ...blocked, minRequests: 1, maxRate: 0 }] }]);
          const m = acted("v2", 0, T, { endedAt: T });
          expect(run(v, { v2: b }, [m], T + later).planned).toEqual([]);
        },
      ),
    );
  });
});
