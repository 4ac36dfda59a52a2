/**
 * Counting from isolates (src/state/counter.ts) into the real guard Durable Object: batches leave at most once
 * per interval, never one call per request; a batch whose answer was lost is re-sent under the same id and
 * counted once; and many isolates flushing at once lose nothing and count nothing twice.
 */
import { describe, expect, inject, it } from "vitest";
import type { Batch } from "../../src/rollout/window";
import { Counter, failureClasses } from "../../src/state/counter";
import type { GuardHealth } from "../../src/state/guard-health";
import { call, ok } from "../helpers/admin";
import { blocked, guardClock, guardStub, liveAgent } from "./helpers";

const upstream = inject("upstream");

/** A counter on a hand-moved clock whose sleeps resolve when the test says so. */
function fakeIsolate(send: (agent: string, batches: Batch[]) => Promise<unknown>) {
  const clock = { now: 1_000_000 };
  const sleeps: Array<() => void> = [];
  const counter = new Counter({
    send,
    now: () => clock.now,
    sleep: () => new Promise<void>((r) => sleeps.push(r)),
  });
  const background: Array<Promise<unknown>> = [];
  return { clock, sleeps, counter, background, bg: (p: Promise<unknown>) => background.push(p) };
}

describe("batching", () => {
  it("sends one call per interval however many requests, and the rest when the interval ends", async () => {
    const calls: Batch[][] = [];
    const iso = fakeIsolate(async (_agent, b) => calls.push(b));
    for (let i = 0; i < 1000; i++) iso.counter.record("bot", "v1", i % 100 === 0 ? ["tool_blocked"] : [], iso.bg);
    await Promise.resolve();
    await Promise.resolve();
    expect(calls).toHaveLength(1); // the first request's flush went at once...
    expect(iso.background).toHaveLength(1); // ...and one waitUntil carries the follow-up
    for (let i = 0; i < 500; i++) iso.counter.record("bot", "v1", [], iso.bg);
    expect(calls).toHaveLength(1);
    iso.clock.now += 1000;
    iso.sleeps.shift()?.();
    await iso.background[0];
    expect(calls).toHaveLength(2); // the rest left a second later, though no request came after them
    const total = calls.flat().reduce((n, b) => n + (b.releases.v1?.served ?? 0), 0);
    const failed = calls.flat().reduce((n, b) => n + (b.releases.v1?.failures.tool_blocked ?? 0), 0);
    expect([total, failed]).toEqual([1500, 10]);
  });

  it("counts that arrive during a loop's last flush get a loop of their own, not a wait for the next request", async () => {
    const sent: number[] = [];
    let release: (() => void) | null = null;
    const iso = fakeIsolate(async (_agent, b) => {
      sent.push(b.reduce((n, x) => n + (x.releases.v1?.served ?? 0), 0));
      // Traffic keeps coming while each of the first three flushes is on the wire; the third is slow.
      if (sent.length <= 3) iso.counter.record("bot", "v1", [], iso.bg);
      if (sent.length === 3) await new Promise<void>((r) => (release = r));
    });
    const tick = async () => {
      iso.clock.now += 1000;
      iso.sleeps.shift()?.();
      for (let i = 0; i < 10; i++) await Promise.resolve();
    };
    iso.counter.record("bot", "v1", [], iso.bg); // loop A, flush 1 at once
    await tick(); // flush 2
    await tick(); // flush 3, A's last: the request arriving meanwhile starts loop B
    expect(sent).toHaveLength(3);
    expect(iso.background).toHaveLength(2);
    release!();
    await iso.background[0];
    await tick(); // B's flush, a second after A's last
    await iso.background[1];
    expect(sent).toEqual([1, 1, 1, 1]);
  });

  it("re-sends a batch whose call failed under the same id", async () => {
    const seen: string[][] = [];
    let fail = true;
    const iso = fakeIsolate(async (_agent, b) => {
      seen.push(b.map((x) => x.id));
      if (fail) throw new Error("connection reset");
    });
    iso.counter.record("bot", "v1", [], iso.bg);
    await iso.counter.flush();
    fail = false;
    iso.counter.record("bot", "v1", [], iso.bg);
    await iso.counter.flush();
    expect(seen[1]).toEqual([seen[0]![0], expect.any(String)]);
    expect(seen[1]![1]).not.toBe(seen[0]![0]);
  });

  it("counts only valid failure classes, lower-cased, once each", () => {
    expect(failureClasses(["Tool_Blocked", "tool_blocked", null, "not valid!", " eval.red "])).toEqual([
      "tool_blocked",
      "eval.red",
    ]);
    expect(failureClasses(null)).toEqual([]);
  });
});

it("many isolates flushing at once, some retrying after a lost answer: nothing lost, nothing counted twice", async () => {
  const agent = "g-many";
  // A trigger that cannot fire (a rate never exceeds 1), so the health view shows the plain counts.
  await liveAgent(agent, upstream, [{ ...blocked, maxRate: 1, windowSeconds: 600 }], { canary: true });
  await guardClock(agent, Date.now());
  const g = guardStub(agent);
  let duplicates = 0;
  const isolates = Array.from({ length: 24 }, (_, i) => {
    let lostOnce = i % 3 === 0; // every third isolate's first call lands but its answer is lost
    return new Counter({
      now: Date.now,
      send: async (a, batches) => {
        const out = await g.record(a, batches);
        duplicates += out.duplicates;
        if (lostOnce) {
          lostOnce = false;
          throw new Error("answer lost");
        }
      },
    });
  });
  let served = 0;
  let failed = 0;
  const loops: Array<Promise<unknown>> = []; // what each isolate hands to waitUntil
  for (const [i, iso] of isolates.entries()) {
    for (let r = 0; r < 40 + i; r++) {
      const f = (r + i) % 7 === 0;
      iso.record(agent, r % 2 === 0 ? "v1" : "v2", f ? ["tool_blocked"] : [], (p) => loops.push(p));
      served++;
      if (f) failed++;
    }
  }
  // Every isolate sent its first request at once and the rest a second later, all together; the ones whose
  // first answer was lost sent that batch again with the next.
  await Promise.all(loops);
  expect(duplicates).toBe(8);

  const health = await ok<GuardHealth>(call("viewer", "GET", `/agents/${agent}/health`));
  const sum = (k: "requests" | "failed") =>
    health.releases.reduce((n, r) => {
      const t = r.triggers[0]!;
      return n + (k === "requests" ? t.requests : (t.failures.tool_blocked ?? 0));
    }, 0);
  expect(sum("requests")).toBe(served);
  expect(sum("failed")).toBe(failed);
});
