/**
 * Canary exposure (CONTRACT §2.1): `bucket < round(percent × 100)` over 10,000 sticky buckets. Checked through
 * decide() on indexed snapshots, so the threshold, the bucket and the choice are exercised together.
 */
import { describe, expect, it } from "vitest";
import { decide } from "../../src/routing/decide";
import { BUCKETS, canaryThreshold, stickyBucket } from "../../src/routing/murmur3";
import { Canary, type SnapshotIndex } from "../../src/routing/snapshot";
import { indexSnapshot } from "../../src/routing/snapshot-legacy";
import { manifest, snapshot } from "../helpers/fixtures";

const UP = "http://upstream.test";
const N = 100_000;
const keys = Array.from({ length: N }, (_, i) => `user-${i}`);

async function withCanary(version: string, percent: number): Promise<SnapshotIndex> {
  const s = await snapshot(1, {
    bot: {
      releases: [manifest("bot", "v1", UP), manifest("bot", "v2", UP), manifest("bot", "v3", UP)],
      pointers: { active: "v1", fallback: "off", canary: { version, percent } },
    },
  });
  return indexSnapshot(s);
}

/** The keys (as indices) that the canary serves. */
function canaryKeys(index: SnapshotIndex): Set<number> {
  const inside = new Set<number>();
  keys.forEach((key, i) => {
    const out = decide(index, { agent: "bot", key, pin: null }, 0);
    if (!out.ok) throw new Error(out.message);
    if (out.decision.via === "canary") inside.add(i);
  });
  return inside;
}

describe("canary distribution over 100,000 keys", () => {
  it("10 % holds 10 % ± 0.5 % of the keys", async () => {
    const inside = canaryKeys(await withCanary("v2", 10));
    expect(Math.abs(inside.size / N - 0.1)).toBeLessThan(0.005);
  });

  it.each([1, 10, 25, 50, 90])("%i %% holds its share ± 0.5 %%", async (percent) => {
    const inside = canaryKeys(await withCanary("v2", percent));
    expect(Math.abs(inside.size / N - percent / 100)).toBeLessThan(0.005);
  });

  it("raising 10 % → 30 % keeps every key that was in, and adds about 20 %", async () => {
    const at10 = canaryKeys(await withCanary("v2", 10));
    const at30 = canaryKeys(await withCanary("v2", 30));
    const dropped = [...at10].filter((i) => !at30.has(i));
    expect(dropped).toEqual([]);
    expect(Math.abs(at30.size / N - 0.3)).toBeLessThan(0.005);
  });

  it("lowering 30 % → 10 % only removes keys", async () => {
    const at30 = canaryKeys(await withCanary("v2", 30));
    const at10 = canaryKeys(await withCanary("v2", 10));
    expect([...at10].filter((i) => !at30.has(i))).toEqual([]);
  });

  it("a new canary version draws a fresh set: overlap ≈ percent², not the same keys", async () => {
    const v2 = canaryKeys(await withCanary("v2", 10));
    const v3 = canaryKeys(await withCanary("v3", 10));
    const both = [...v2].filter((i) => v3.has(i)).length;
    expect(Math.abs(v3.size / N - 0.1)).toBeLessThan(0.005);
    // Independent 10 % draws share about 1 % of all keys.
    expect(Math.abs(both / N - 0.01)).toBeLessThan(0.003);
  });

  it("reports each keyed request's bucket, canary or not", async () => {
    const index = await withCanary("v2", 10);
    for (const key of keys.slice(0, 500)) {
      const out = decide(index, { agent: "bot", key, pin: null }, 0);
      if (!out.ok) throw new Error(out.message);
      const bucket = stickyBucket("bot", "v2", key);
      expect(out.decision.bucket).toBe(bucket);
      expect(out.decision.via).toBe(bucket < 1000 ? "canary" : "stable");
      expect(out.decision.release.version).toBe(bucket < 1000 ? "v2" : "v1");
    }
  });
});

describe("keyless requests", () => {
  it.each([10, 50, 100])("never reach a %i %% canary", async (percent) => {
    const index = await withCanary("v2", percent);
    for (let i = 0; i < 50; i++) {
      const out = decide(index, { agent: "bot", key: null, pin: null }, i);
      if (!out.ok) throw new Error(out.message);
      expect(out.decision.via).toBe("stable");
      expect(out.decision.release.version).toBe("v1");
      expect(out.decision.bucket).toBeNull();
    }
  });
});

describe("threshold = round(percent × 100)", () => {
  it.each([
    [0, 0],
    [0.01, 1],
    [0.07, 7],
    [0.29, 29],
    [0.57, 57],
    [1.15, 115],
    [10, 1000],
    [12.34, 1234],
    [33.33, 3333],
    [57.01, 5701],
    [99.99, 9999],
    [100, 10_000],
  ])("%d %% → %i buckets", (percent, threshold) => {
    expect(canaryThreshold(percent)).toBe(threshold);
  });

  it("maps every 0.01 step from 0 to 100 to its exact bucket count", () => {
    for (let i = 0; i <= BUCKETS; i++) {
      expect(canaryThreshold(i / 100)).toBe(i);
      expect(canaryThreshold(Number((i * 0.01).toFixed(2)))).toBe(i);
    }
  });

  it("every 0.01 step is a valid canary percent; finer steps and out-of-range values are not", () => {
    for (let i = 0; i <= BUCKETS; i++) expect(Canary.safeParse({ version: "v2", percent: i / 100 }).success).toBe(true);
    for (const percent of [-0.01, 100.01, 0.005, 33.333, Number.NaN]) {
      expect(Canary.safeParse({ version: "v2", percent }).success).toBe(false);
    }
  });

  it("0 % serves nobody and 100 % serves every key", async () => {
    const none = await withCanary("v2", 0);
    const all = await withCanary("v2", 100);
    for (const key of keys.slice(0, 2000)) {
      const a = decide(none, { agent: "bot", key, pin: null }, 0);
      const b = decide(all, { agent: "bot", key, pin: null }, 0);
      if (!a.ok || !b.ok) throw new Error("decide failed");
      expect(a.decision.via).toBe("stable");
      expect(b.decision.via).toBe("canary");
    }
  });

  it("0.01 % serves exactly the keys in bucket 0", async () => {
    const index = await withCanary("v2", 0.01);
    const inside = canaryKeys(index);
    const bucket0 = keys.flatMap((k, i) => (stickyBucket("bot", "v2", k) === 0 ? [i] : []));
    expect(bucket0.length).toBeGreaterThan(0);
    expect([...inside].sort((a, b) => a - b)).toEqual(bucket0);
  });
});
