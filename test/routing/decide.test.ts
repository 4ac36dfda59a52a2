/**
 * Release selection (CONTRACT §2.1 step 1, §4.2 rollback): pins, canary, active, rolled back to off, and the
 * outcomes that are not a decision. Plain calls on indexed snapshots; no platform code.
 */
import { describe, expect, it } from "vitest";
import type { Manifest } from "../../src/release/schema";
import { type Decision, decide, decisionHeader, laneOf, reasonsOf } from "../../src/routing/decide";
import { stickyBucket } from "../../src/routing/murmur3";
import type { Override } from "../../src/routing/override";
import type { Pointers, SnapshotIndex } from "../../src/routing/snapshot";
import { indexSnapshot } from "../../src/routing/snapshot-legacy";
import { manifest, override, snapshot } from "../helpers/fixtures";

const UP = "http://upstream.test";

function release(version: string, fallbackMessage = `paused at ${version}`): Manifest {
  const m = manifest("bot", version, UP);
  return { ...m, rollout: { ...m.rollout, userFallback: { status: 503, body: { message: fallbackMessage } } } };
}

async function index(pointers: Partial<Pointers>, overrides: Override[] = [], releases?: Manifest[]) {
  const s = await snapshot(
    7,
    { bot: { releases: releases ?? [release("v0"), release("v1"), release("v2"), release("v3")], pointers } },
    overrides,
  );
  return indexSnapshot(s);
}

function decided(index: SnapshotIndex, key: string | null, pin: string | null, now = 0): Decision {
  const out = decide(index, { agent: "bot", key, pin }, now);
  if (!out.ok) throw new Error(`expected a decision, got ${out.code}`);
  return out.decision;
}

// Golden buckets (test/routing/murmur3.test.ts pins the hash itself).
const IN_KEY = "user-2"; // bucket 1349 for bot:v2; "user-5" is 9592 (asserted below)
const live = { active: "v1", fallback: "v0", canary: { version: "v2", percent: 50 } } as const;

describe("pins", () => {
  it("the keys used here fall where the tests assume", () => {
    expect(stickyBucket("bot", "v2", IN_KEY)).toBeLessThan(5000);
    expect(stickyBucket("bot", "v2", "user-5")).toBeGreaterThanOrEqual(5000);
  });

  it.each([
    ["the active release", "v1", "v1"],
    ["the canary release", "v2", "v2"],
  ])("a pin to %s is honoured", async (_what, pin, served) => {
    const d = decided(await index(live), "user-5", pin);
    expect(d.via).toBe("pinned");
    expect(d.kind).toBe("pinned");
    expect(d.release.version).toBe(served);
    expect(d.pinIgnored).toBeNull();
    expect(decisionHeader(d, false)).toBe("pinned");
  });

  it.each([
    ["the fallback release", "v0"],
    ["a stored release that is not live", "v3"],
    ["an unknown release", "v9"],
    ["garbage", "../../etc"],
    ["the literal off", "off"],
  ])("a pin to %s is ignored and says so", async (_what, pin) => {
    const idx = await index(live);
    const keyless = decided(idx, null, pin);
    expect(keyless.via).toBe("stable");
    expect(keyless.release.version).toBe("v1");
    expect(keyless.pinIgnored).toBe(pin);
    expect(decisionHeader(keyless, false)).toBe("stable; pin-ignored");
    expect(reasonsOf(keyless)[0]).toContain(`pin ${pin} ignored`);

    const keyed = decided(idx, IN_KEY, pin);
    expect(keyed.via).toBe("canary");
    expect(keyed.release.version).toBe("v2");
    expect(decisionHeader(keyed, false)).toBe(`canary; bucket=${stickyBucket("bot", "v2", IN_KEY)}; pin-ignored`);
  });

  it("a pin to the release an agent was rolled back from (active off) is ignored", async () => {
    const d = decided(await index({ active: "off", fallback: "off", offFrom: "v1" }), null, "v1");
    expect(d.kind).toBe("off");
    expect(d.pinIgnored).toBe("v1");
  });

  it("a pin overrides the key's bucket in both directions", async () => {
    const idx = await index(live);
    expect(decided(idx, IN_KEY, "v1").release.version).toBe("v1");
    expect(decided(idx, "user-5", "v2").release.version).toBe("v2");
  });
});

describe("selection", () => {
  it("with no canary, every key goes to active and no bucket is computed", async () => {
    const d = decided(await index({ active: "v1", fallback: "v0" }), IN_KEY, null);
    expect(d.via).toBe("stable");
    expect(d.bucket).toBeNull();
    expect(d.canary).toBeNull();
    expect(decisionHeader(d, false)).toBe("stable");
  });

  it("a key outside the canary goes to active and carries its bucket", async () => {
    const d = decided(await index(live), "user-5", null);
    expect(d.kind).toBe("stable");
    expect(decisionHeader(d, true)).toBe(`stable; bucket=${stickyBucket("bot", "v2", "user-5")}; stale`);
  });

  it("the decision carries the snapshot revision", async () => {
    expect(decided(await index(live), null, null).revision).toBe(7);
  });

  it("an agent rolled back to off serves the user fallback of the release it rolled back from", async () => {
    const idx = await index({ active: "off", fallback: "off", canary: null, offFrom: "v2" });
    for (const key of [null, IN_KEY, "user-5"]) {
      const d = decided(idx, key, null);
      expect(d.kind).toBe("off");
      expect(d.via).toBe("rolled-back-off");
      expect(d.release.version).toBe("v2");
      expect(d.served.userFallback).toEqual({ status: 503, body: { message: "paused at v2" } });
      expect(laneOf(d)).toBe("off");
      expect(decisionHeader(d, false)).toBe("off; via=rolled-back-off");
    }
  });

  it("rolled back to off from a release with no user fallback: failsafe, never an upstream", async () => {
    const bare = manifest("bot", "v1", UP);
    const noFallback: Manifest = { ...bare, rollout: { fallback: "off", owners: ["a"] } };
    const d = decided(await index({ active: "off", offFrom: "v1" }, [], [noFallback]), null, null);
    expect(d.kind).toBe("failsafe");
    expect(laneOf(d)).toBe("off");
  });

  it("an override in mode off makes an active release serve its user fallback", async () => {
    const idx = await index(live, [override("ovr_off", { agent: "bot", release: "v1" }, { mode: "off" })]);
    const d = decided(idx, "user-5", null);
    expect(d.kind).toBe("off");
    expect(d.via).toBe("stable");
    expect(d.served.userFallback?.body).toEqual({ message: "paused at v1" });
    expect(decisionHeader(d, false)).toBe(`off; via=stable; bucket=${d.bucket}; overrides=ovr_off`);
    // The canary is not covered by a v1-scoped override.
    expect(decided(idx, IN_KEY, null).kind).toBe("canary");
  });

  it("an unknown agent is a 404 outcome, not a decision", async () => {
    const out = decide(await index(live), { agent: "nobody", key: "k", pin: "v1" }, 0);
    expect(out).toEqual({ ok: false, status: 404, code: "unknown_agent", message: expect.any(String) });
  });

  it.each([
    ["active null", { active: null, fallback: null, canary: null, offFrom: null }],
    ["active off with no offFrom", { active: "off", fallback: "off", canary: null, offFrom: null }],
  ] as const)("an agent with %s is a 503 no_active_release outcome", async (_what, pointers) => {
    const out = decide(await index(pointers), { agent: "bot", key: null, pin: null }, 0);
    expect(out).toMatchObject({ ok: false, status: 503, code: "no_active_release" });
  });

  it("with active null, even a pin to a stored release is not served", async () => {
    const out = decide(await index({ active: null }), { agent: "bot", key: "k", pin: "v1" }, 0);
    expect(out.ok).toBe(false);
  });
});
