/**
 * The pure timeline core (src/control/timeline.ts, src/rollout/rate-series.ts): merge order across sources, paging by
 * cursor without repeats or gaps, field-level diffs, which fleet-wide entries concern an agent, and when a
 * failure rate counts as changed.
 */
import { describe, expect, it } from "vitest";
import {
  type AuditRecord,
  type GuardRecord,
  parseCursor,
  type TimelineItem,
  timeline,
} from "../../src/control/timeline";
import type { Trigger } from "../../src/release/schema";
import { rateChanges, rateSeries, type SecondCounts } from "../../src/rollout/rate-series";

const T0 = Date.parse("2026-12-01T10:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

let seq = 0;
function entry(at: number, action: string, before: unknown, after: unknown, extra: Partial<AuditRecord> = {}) {
  seq++;
  return {
    seq,
    at: iso(at),
    actor: "alice",
    role: "operator",
    action,
    agent: "bot",
    reason: "r",
    before,
    after,
    ...extra,
    revision: seq,
  } as AuditRecord;
}

const pointers = (active: string, canary: { version: string; percent: number } | null = null) => ({
  active,
  fallback: "off",
  canary,
  offFrom: null,
});

const trigger: Trigger = {
  failureClass: "upstream_error",
  maxRate: 0.1,
  minRequests: 10,
  windowSeconds: 10,
  action: "rollback",
};

describe("timeline", () => {
  it("merges audit, guard records and rate changes oldest first, each with its diff", () => {
    const audit = [
      entry(T0 + 1000, "promote", pointers("v1"), pointers("v2")),
      entry(T0 + 5000, "canary.set", pointers("v2"), pointers("v2", { version: "v3", percent: 5 })),
    ];
    const guard: GuardRecord[] = [
      {
        release: "v3",
        trigger: 0,
        at: T0 + 3000,
        command: "canary.abort",
        outcome: "refused",
        detail: "no",
        endedAt: null,
      },
      // An acted marker is already in the audit log: not shown twice; its end is.
      {
        release: "v2",
        trigger: 1,
        at: T0 + 2000,
        command: "rollback",
        outcome: "acted",
        detail: "x",
        endedAt: T0 + 4000,
      },
    ];
    const rates = [
      {
        at: T0 + 3000,
        release: "v2",
        failureClass: "upstream_error",
        from: 0,
        to: 0.2,
        threshold: 0.1,
        windowSeconds: 10,
        requests: 50,
        crossed: "above" as const,
      },
    ];
    const page = timeline({ agent: "bot", audit, guard, rates, since: T0, after: null, limit: 100 });
    expect(page.items.map((i) => [i.at, i.kind, i.action])).toEqual([
      [iso(T0 + 1000), "change", "promote"],
      [iso(T0 + 3000), "guard", "guard.refused"],
      [iso(T0 + 3000), "rate", "rate.rose"],
      [iso(T0 + 4000), "guard", "guard.effect-ended"],
      [iso(T0 + 5000), "change", "canary.set"],
    ]);
    expect(page.items[0]!.changes).toEqual([{ path: "active", from: "v1", to: "v2" }]);
    expect(page.items[4]!.changes).toEqual([
      { path: "canary.percent", from: null, to: 5 },
      { path: "canary.version", from: null, to: "v3" },
    ]);
    expect(page.items[2]!.changes).toEqual([{ path: "rates.upstream_error", from: 0, to: 0.2 }]);
    expect(page.more).toBe(false);
  });

  it("pages by cursor: every item exactly once, in order, even when many share one instant", () => {
    const audit = Array.from({ length: 23 }, (_, i) =>
      entry(
        T0 + Math.floor(i / 4) * 1000,
        "canary.set",
        pointers("v1", { version: "v2", percent: i }),
        pointers("v1", { version: "v2", percent: i + 1 }),
      ),
    );
    const seen: TimelineItem[] = [];
    let after = null;
    for (let pages = 0; pages < 10; pages++) {
      const page = timeline({ agent: "bot", audit, guard: [], rates: [], since: T0, after, limit: 5 });
      seen.push(...page.items);
      after = page.next === null ? null : parseCursor(page.next);
      if (!page.more) break;
    }
    expect(seen.map((i) => i.seq)).toEqual(audit.map((e) => e.seq));
    // The last page's cursor stays put when nothing new has happened.
    const tail = timeline({ agent: "bot", audit, guard: [], rates: [], since: T0, after, limit: 5 });
    expect(tail.items).toEqual([]);
    expect(tail.next).not.toBeNull();
  });

  it("leaves out what is before `since` and other agents' entries, keeps fleet-wide overrides", () => {
    const fleet = {
      id: "ovr_a",
      scope: { agent: "*" },
      set: { mode: "draft-only" },
      reason: "panic",
      actor: "bob",
      createdAt: iso(T0),
    };
    const other = {
      id: "ovr_b",
      scope: { agent: "other" },
      set: { mode: "off" },
      reason: "x",
      actor: "bob",
      createdAt: iso(T0),
    };
    const audit = [
      entry(T0 - 1000, "promote", pointers("v0"), pointers("v1")),
      entry(T0 + 1000, "override.add", null, fleet, { agent: null }),
      entry(T0 + 2000, "override.expire", [fleet, other], null, { agent: null, actor: "expiry", reason: "expired" }),
      entry(T0 + 3000, "override.expire", [other], null, { agent: null, actor: "expiry", reason: "expired" }),
      entry(T0 + 4000, "promote", pointers("v0"), pointers("v1"), { agent: "other" }),
    ];
    const page = timeline({ agent: "bot", audit, guard: [], rates: [], since: T0, after: null, limit: 100 });
    expect(page.items.map((i) => [i.action, i.kind])).toEqual([
      ["override.add", "change"],
      ["override.expire", "expiry"],
    ]);
    expect(page.items[0]!.changes).toEqual(
      expect.arrayContaining([
        { path: "set.mode", from: null, to: "draft-only" },
        { path: "scope.agent", from: null, to: "*" },
      ]),
    );
    expect(page.items[1]!.changes.map((c) => c.path)).toEqual(["overrides.ovr_a", "overrides.ovr_b"]);
  });

  it("tells the guard's plan steps from its trigger actions", () => {
    const audit = [
      entry(
        T0,
        "canary.set",
        pointers("v1", { version: "v2", percent: 1 }),
        pointers("v1", { version: "v2", percent: 10 }),
        { actor: "guard", reason: "plan step 2" },
      ),
      entry(T0 + 1, "canary.abort", pointers("v1", { version: "v2", percent: 10 }), pointers("v1"), {
        actor: "guard",
        reason: "guard[v2#0]: breach",
      }),
    ];
    const page = timeline({ agent: "bot", audit, guard: [], rates: [], since: T0, after: null, limit: 100 });
    expect(page.items.map((i) => i.kind)).toEqual(["plan", "guard"]);
  });
});

describe("rate series and changes", () => {
  const second = (s: number, served: number, failed: number): SecondCounts => ({
    second: T0 / 1000 + s,
    served,
    failures: failed > 0 ? { upstream_error: failed } : {},
  });

  it("computes each step's rate over the trigger's window; too few requests give no rate", () => {
    const seconds = [second(1, 5, 0), second(5, 20, 0), second(12, 20, 6), second(25, 3, 3)];
    const [series] = rateSeries(seconds, [trigger], { from: T0, to: T0 + 30_000, stepSeconds: 10 });
    expect(series).toMatchObject({ failureClass: "upstream_error", windowSeconds: 10, threshold: 0.1 });
    expect(series!.points.map((p) => [p.requests, p.failures, p.rate])).toEqual([
      [25, 0, 0],
      [20, 6, 0.3],
      [3, 3, null],
    ]);
  });

  it("a rise across the threshold is a change, noise inside a band is not, and the fall is one too", () => {
    const seconds = [
      ...[1, 2, 3].map((s) => second(s * 10, 100, 1)), // 1 %
      second(40, 100, 2), // 2 %: same band (bands are 5 % wide for a 10 % threshold)
      second(50, 100, 30), // 30 %: above
      second(60, 100, 0), // 0 %
    ];
    const [series] = rateSeries(seconds, [trigger], { from: T0, to: T0 + 60_000, stepSeconds: 10 });
    const changes = rateChanges("v2", series!);
    expect(changes.map((c) => [c.to, c.crossed])).toEqual([
      [0.01, null],
      [0.3, "above"],
      [0, "below"],
    ]);
    expect(changes[1]).toMatchObject({ release: "v2", from: 0.02, threshold: 0.1, requests: 100 });
  });

  it("watches classes no trigger names, with the default window and band", () => {
    const seconds = [{ second: T0 / 1000 + 5, served: 50, failures: { complaint: 10 } }];
    const series = rateSeries(seconds, [], { from: T0, to: T0 + 10_000, stepSeconds: 10 });
    expect(series).toMatchObject([{ failureClass: "complaint", windowSeconds: 60, threshold: null }]);
    expect(rateChanges("v1", series[0]!)).toMatchObject([{ to: 0.2, crossed: null }]);
  });
});
