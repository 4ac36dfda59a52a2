/**
 * The isolate's read path with an injected clock and scripted sources (issue 4): flips arrive within
 * interval + one round trip, a stale KV copy never wins over a newer control-plane revision, an unreachable
 * control plane falls back to KV without failing a request, and a warm request never waits on a refresh.
 */
import { describe, expect, it } from "vitest";
import type { Snapshot } from "../../src/routing/snapshot-legacy";
import { SnapshotCache, type SnapshotSource } from "../../src/state/snapshot-cache";
import { manifest, snapshot } from "../helpers/fixtures";

const UP = "http://127.0.0.1:9";

async function rev(revision: number, active: string): Promise<Snapshot> {
  return snapshot(revision, {
    bot: {
      releases: [manifest("bot", "v1", UP), manifest("bot", "v2", UP)],
      pointers: { active, fallback: "off" },
    },
  });
}

/** A source whose answers and latency the test controls. */
class Scripted implements SnapshotSource {
  current: Snapshot | null = null;
  down = false;
  hang = false;
  calls = 0;
  constructor(readonly name: string) {}
  async revision(): Promise<number> {
    this.calls++;
    if (this.hang) return new Promise(() => {});
    if (this.down || this.current === null) throw new Error(`${this.name} down`);
    return this.current.revision;
  }
  async snapshot(): Promise<string> {
    if (this.down || this.current === null) throw new Error(`${this.name} down`);
    return JSON.stringify(this.current);
  }
}

function rig(sources: SnapshotSource[], intervalMs = 1000) {
  const clock = { t: 1_000_000 };
  const background: Promise<unknown>[] = [];
  const cache = new SnapshotCache({
    sources,
    now: () => clock.t,
    intervalMs,
    sourceTimeoutMs: 50,
    idleAfterMs: 60_000,
    idleWaitMs: 20,
  });
  const serve = async () => {
    const s = await cache.get((p) => background.push(p));
    return s === null
      ? null
      : { revision: s.index.revision, active: s.index.agents.get("bot")?.active?.version, stale: s.stale };
  };
  const settle = async () => {
    await Promise.all(background.splice(0));
  };
  return { cache, clock, serve, settle };
}

describe("snapshot cache freshness", () => {
  it("serves a flip within one interval plus the refresh round trip", async () => {
    const control = new Scripted("control");
    control.current = await rev(1, "v1");
    const { clock, serve, settle } = rig([control]);
    expect((await serve())?.active).toBe("v1");

    control.current = await rev(2, "v2"); // the flip
    clock.t += 999;
    expect((await serve())?.active).toBe("v1"); // inside the interval: no refresh yet
    await settle();
    clock.t += 1; // interval reached: this request starts the refresh and is served at once
    expect((await serve())?.active).toBe("v1");
    await settle(); // one round trip later
    expect((await serve())?.active).toBe("v2");
  });

  it("never lets a stale KV copy replace a newer control-plane revision", async () => {
    const control = new Scripted("control");
    const kv = new Scripted("kv");
    control.current = await rev(5, "v2");
    kv.current = await rev(4, "v1");
    const { clock, serve, settle } = rig([control, kv]);
    expect(await serve()).toMatchObject({ revision: 5, active: "v2" });
    control.down = true; // now only KV answers, with its older copy
    clock.t += 1000;
    await serve();
    await settle();
    expect(await serve()).toMatchObject({ revision: 5, active: "v2", stale: false });
  });

  it("falls back to KV when the control plane is unreachable or slow, without failing a request", async () => {
    const control = new Scripted("control");
    const kv = new Scripted("kv");
    control.hang = true;
    kv.current = await rev(3, "v1");
    const { cache, clock, serve, settle } = rig([control, kv]);
    expect(await serve()).toMatchObject({ revision: 3, active: "v1", stale: false });
    expect(cache.health()).toMatchObject({
      source: "kv",
      degraded: expect.stringContaining("control revision took longer"),
    });

    kv.current = await rev(4, "v2");
    clock.t += 1000;
    expect((await serve())?.revision).toBe(3);
    await settle();
    expect((await serve())?.revision).toBe(4);

    control.hang = false;
    control.current = await rev(6, "v1");
    clock.t += 1000;
    await serve();
    await settle();
    expect(await serve()).toMatchObject({ revision: 6 });
    expect(cache.health()).toMatchObject({ source: "control", degraded: null });
  });

  it("keeps the last-known-good, marked stale, when every source fails", async () => {
    const control = new Scripted("control");
    control.current = await rev(1, "v1");
    const { cache, clock, serve, settle } = rig([control]);
    await serve();
    control.down = true;
    clock.t += 1000;
    await serve();
    await settle();
    expect(await serve()).toMatchObject({ revision: 1, active: "v1", stale: true });
    expect(cache.health().lastError).toContain("control down");
  });

  it("does not make a warm request wait for the refresh", async () => {
    const control = new Scripted("control");
    control.current = await rev(1, "v1");
    const { clock, serve } = rig([control]);
    await serve();
    control.hang = true; // the next refresh never finishes
    clock.t += 1000;
    const answer = await Promise.race([serve(), new Promise((r) => setTimeout(() => r("waited"), 10))]);
    expect(answer).toMatchObject({ revision: 1 });
  });

  it("after a long idle spell waits (bounded) for the refresh, so the first request sees the flip", async () => {
    const control = new Scripted("control");
    control.current = await rev(1, "v1");
    const { clock, serve } = rig([control]);
    await serve();
    control.current = await rev(2, "v2");
    clock.t += 120_000; // idle for two minutes
    expect((await serve())?.active).toBe("v2");
    control.hang = true;
    clock.t += 120_000;
    const started = Date.now();
    expect((await serve())?.active).toBe("v2"); // the slow source costs at most idleWaitMs
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("answers null (config_unavailable) when cold and nothing can be read", async () => {
    const control = new Scripted("control");
    control.down = true;
    const { serve } = rig([control]);
    expect(await serve()).toBeNull();
  });
});
