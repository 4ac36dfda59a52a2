/**
 * Sliding-window arithmetic over per-second buckets (src/rollout/window.ts): which seconds a window
 * holds, how `since` cuts it, and that counting is additive however the counts were batched. Plain calls.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addToBuckets,
  type Buckets,
  pruneBuckets,
  rateOf,
  ratesOf,
  secondOf,
  spanOf,
  sumSpan,
} from "../../src/rollout/window";

const T = 1_800_000_000_000; // a whole second

describe("spans", () => {
  it.each([
    { now: T, w: 60, since: null, span: { from: T / 1000 - 60, to: T / 1000 } },
    { now: T + 999, w: 60, since: null, span: { from: T / 1000 - 60, to: T / 1000 } },
    { now: T + 1000, w: 1, since: null, span: { from: T / 1000, to: T / 1000 + 1 } },
    // An action 10 s ago cuts a 60 s window to the 10 whole seconds after the action's own second.
    { now: T, w: 60, since: T - 10_000 + 500, span: { from: T / 1000 - 10, to: T / 1000 } },
    // An action longer ago than the window does not widen it.
    { now: T, w: 60, since: T - 600_000, span: { from: T / 1000 - 60, to: T / 1000 } },
  ])("window $w s at now+$now with since $since", ({ now, w, since, span }) => {
    expect(spanOf(now, w, since)).toEqual(span);
  });

  it("holds the current second and drops the oldest one whole", () => {
    const b: Buckets = new Map();
    addToBuckets(b, T - 60_000, { served: 100, failures: { x: 100 } }); // exactly 60 s ago: out of a 60 s window
    addToBuckets(b, T - 59_000, { served: 10, failures: { x: 1 } });
    addToBuckets(b, T + 400, { served: 5, failures: {} }); // this second, so far
    expect(sumSpan(b, spanOf(T + 500, 60, null))).toEqual({ served: 15, failures: { x: 1 } });
  });

  it("an action in the middle of a second leaves that whole second out", () => {
    const b: Buckets = new Map();
    addToBuckets(b, T + 100, { served: 1, failures: { x: 1 } }); // before the action
    addToBuckets(b, T + 900, { served: 1, failures: {} }); // after it, same second: left out too (conservative)
    addToBuckets(b, T + 1100, { served: 1, failures: {} });
    expect(sumSpan(b, spanOf(T + 2000, 60, T + 500))).toEqual({ served: 1, failures: {} });
  });
});

describe("rates", () => {
  it("is failures over served; nothing served and nothing failed is 0", () => {
    expect(rateOf({ served: 200, failures: { tool_blocked: 4 } }, "tool_blocked")).toBe(0.02);
    expect(rateOf({ served: 0, failures: {} }, "x")).toBe(0);
    expect(rateOf({ served: 0, failures: { x: 2 } }, "x")).toBe(Number.POSITIVE_INFINITY);
    expect(ratesOf({ served: 0, failures: { x: 2 } })).toEqual({ x: null }); // JSON has no Infinity
  });
});

describe("pruning", () => {
  it("drops buckets at or before a second", () => {
    const b: Buckets = new Map();
    for (let i = 0; i < 5; i++) addToBuckets(b, T + i * 1000, { served: 1, failures: {} });
    expect(pruneBuckets(b, secondOf(T) + 1)).toBe(2);
    expect([...b.keys()]).toEqual([secondOf(T) + 2, secondOf(T) + 3, secondOf(T) + 4]);
  });
});

describe("additivity (property)", () => {
  const arrival = fc.record({
    offsetMs: fc.integer({ min: 0, max: 120_000 }),
    served: fc.integer({ min: 0, max: 50 }),
    failed: fc.integer({ min: 0, max: 5 }),
  });

  it("a window's sum is the sum of the arrivals in it, whatever the batching and order", () => {
    fc.assert(
      fc.property(fc.array(arrival, { maxLength: 60 }), fc.integer({ min: 1, max: 120 }), (arrivals, w) => {
        const b: Buckets = new Map();
        for (const a of arrivals) addToBuckets(b, T + a.offsetMs, { served: a.served, failures: { x: a.failed } });
        const now = T + 120_000;
        const span = spanOf(now, w, null);
        const inside = arrivals.filter((a) => secondOf(T + a.offsetMs) > span.from);
        const got = sumSpan(b, span);
        expect(got.served).toBe(inside.reduce((n, a) => n + a.served, 0));
        expect(got.failures.x ?? 0).toBe(inside.reduce((n, a) => n + a.failed, 0));
      }),
    );
  });
});
