/**
 * KV read faults (issue 7, docs/reliability.md): KV failing, hanging or holding garbage, under a warm isolate
 * and a cold one, with the control-plane path off (FRESHNESS = "kv", so KV is the only source) and on.
 *
 * Expected (CONTRACT §3): a warm isolate keeps serving its last-known-good, marked `; stale`, and says why in
 * /healthz; a cold one answers 503 `config_unavailable` with Retry-After and never guesses a release; once KV
 * is readable again the newest state is served; a change committed meanwhile is not lost.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { resetIsolateForTests, snapshotCache } from "../../src/state/isolate";
import { call, ok } from "../helpers/admin";
import { AGENT, fetchWithin, seedLiveAgent } from "../security/support";
import { coldIsolate, FaultyKv, type KvFault, unreachableControl } from "./faulty-kv";

const upstream = inject("upstream");
vi.setConfig({ testTimeout: 30_000, hookTimeout: 30_000 });

const FAULTS: KvFault[] = [
  "fail",
  "hang",
  "head-not-json",
  "head-invalid",
  "head-dangling",
  "snapshot-not-json",
  "snapshot-invalid",
  "snapshot-dangling-pointer",
  "snapshot-wrong-revision",
];

interface Health {
  ok: boolean;
  revision: number | null;
  stale: boolean;
  source: string | null;
  lastError: string | null;
  degraded: string | null;
}

const health = async () => (await (await fetchWithin("https://gw/healthz")).json()) as Health;
const agentCall = (headers: Record<string, string> = {}) =>
  fetchWithin(`https://gw/agents/${AGENT}/chat`, { headers }, 5000);

/**
 * Refreshes until the isolate is no longer stale. A background refresh a request started while the fault was
 * on may still be in flight (a hanging read takes the 750 ms source timeout) and is joined, not replaced.
 */
async function recovered(): Promise<void> {
  for (let i = 0; i < 40 && snapshotCache(env).health().stale; i++) {
    await snapshotCache(env).refresh();
    if (snapshotCache(env).health().stale) await new Promise((r) => setTimeout(r, 50));
  }
}

let revision = 0;
beforeAll(async () => {
  await seedLiveAgent(upstream);
  // Publishing is coalesced to one KV write a second: wait until KV holds the seeded revision.
  for (let i = 0; i < 50; i++) {
    const s = await ok<{ revision: number; publishedRevision: number }>(call("viewer", "GET", "/state"));
    revision = s.revision;
    if (s.publishedRevision === s.revision) break;
    await new Promise((r) => setTimeout(r, 100));
  }
});

afterEach(() => resetIsolateForTests());

describe.each(FAULTS)("KV read fault: %s", (fault) => {
  it("a warm isolate keeps serving its last-known-good, marked stale, and /healthz says why", async () => {
    const kv = new FaultyKv(env.STATE);
    coldIsolate({ STATE: kv as unknown as KVNamespace }, true);
    let res = await agentCall();
    expect(res.status).toBe(200);
    expect(res.headers.get("x-agent-release")).toBe("v1");
    await res.body?.cancel();

    kv.fault = fault;
    await snapshotCache(env).refresh(); // the background refresh the next request would start
    res = await agentCall();
    expect(res.status).toBe(200);
    expect(res.headers.get("x-agent-release")).toBe("v1");
    expect(res.headers.get("x-agent-decision")).toMatch(/; stale$/);
    await res.body?.cancel();
    const h = await health();
    expect(h).toMatchObject({ ok: true, revision, stale: true, source: "kv" });
    expect(h.lastError).toMatch(/kv: /);

    kv.fault = "none";
    await recovered();
    res = await agentCall();
    expect(res.headers.get("x-agent-decision")).not.toContain("stale");
    await res.body?.cancel();
    expect(await health()).toMatchObject({ stale: false, lastError: null, revision });
  });

  it("a cold isolate answers 503 config_unavailable with Retry-After, and never guesses a release", async () => {
    const kv = new FaultyKv(env.STATE);
    kv.fault = fault;
    coldIsolate({ STATE: kv as unknown as KVNamespace }, true);
    const started = Date.now();
    const res = await agentCall({ "x-agent-key": "user-2", "x-agent-release": "v1" });
    // A hanging KV costs the cold request the source timeout (750 ms), no more.
    expect(Date.now() - started).toBeLessThan(3000);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(res.headers.get("x-agent-release")).toBeNull();
    const body = (await res.json()) as { error: { code: string; details?: { lastError?: string } } };
    expect(body.error.code).toBe("config_unavailable");
    expect(body.error.details?.lastError).toMatch(/kv: /);
    const h = await health();
    expect(h).toMatchObject({ ok: false, revision: null, stale: true });
  });
});

describe("a cold isolate while KV is unreachable", () => {
  it("serves from the control plane when it is reachable, and says KV is not needed", async () => {
    const kv = new FaultyKv(env.STATE);
    kv.fault = "fail";
    coldIsolate({ STATE: kv as unknown as KVNamespace }, false);
    const res = await agentCall();
    expect(res.status).toBe(200);
    expect(res.headers.get("x-agent-release")).toBe("v1");
    expect(res.headers.get("x-agent-decision")).not.toContain("stale");
    await res.body?.cancel();
    expect(await health()).toMatchObject({ ok: true, revision, source: "control", stale: false });
    expect(kv.reads).toBe(0); // the control plane answered first: KV was never asked
  });

  it("answers 503 config_unavailable when the control plane is unreachable too", async () => {
    for (const fault of ["fail", "hang"] as const) {
      const kv = new FaultyKv(env.STATE);
      kv.fault = fault;
      coldIsolate({ STATE: kv as unknown as KVNamespace, CONTROL: unreachableControl }, false);
      const res = await agentCall();
      const err = await expectJsonErrorOr503(res);
      expect(err.code).toBe("config_unavailable");
      const h = await health();
      expect(h.ok).toBe(false);
      expect(h.lastError).toMatch(/control: Durable Object unreachable.*kv: /s);
    }
  });

  it("a warm isolate that loses both sources keeps serving the last-known-good, marked stale", async () => {
    const kv = new FaultyKv(env.STATE);
    coldIsolate({ STATE: kv as unknown as KVNamespace, CONTROL: unreachableControl }, false);
    let res = await agentCall(); // warm from KV, the control plane already gone
    expect(res.headers.get("x-agent-release")).toBe("v1");
    await res.body?.cancel();
    expect(await health()).toMatchObject({ source: "kv", stale: false, degraded: expect.stringContaining("control") });
    // /healthz may have started a background refresh (the test interval is 0): let it end before the fault,
    // or the refresh below would join it and read KV as it was.
    await snapshotCache(env).refresh();
    kv.fault = "hang";
    await snapshotCache(env).refresh();
    res = await agentCall();
    expect(res.status).toBe(200);
    expect(res.headers.get("x-agent-decision")).toMatch(/; stale$/);
    await res.body?.cancel();
    expect((await health()).lastError).toMatch(/control: .*kv: kv revision took longer than 750 ms/s);
  });
});

describe("a change committed while KV cannot be read", () => {
  it("is not lost: it is in the control state at once and served as soon as KV is readable", async () => {
    const kv = new FaultyKv(env.STATE);
    coldIsolate({ STATE: kv as unknown as KVNamespace }, true);
    await (await agentCall()).body?.cancel();
    kv.fault = "fail";
    const flip = await ok<{ revision: number }>(
      call("releaser", "POST", `/agents/${AGENT}/promote`, { version: "v2", reason: "flip during a KV outage" }),
    );
    await snapshotCache(env).refresh();
    let res = await agentCall();
    expect(res.headers.get("x-agent-release")).toBe("v1"); // the last-known-good, marked stale
    expect(res.headers.get("x-agent-decision")).toMatch(/; stale$/);
    await res.body?.cancel();
    const state = await ok<{ revision: number; agents: Record<string, { active: string }> }>(
      call("viewer", "GET", "/state"),
    );
    expect(state.revision).toBe(flip.revision);
    expect(state.agents[AGENT]!.active).toBe("v2");

    kv.fault = "none";
    for (let i = 0; i < 50; i++) {
      await snapshotCache(env).refresh();
      if (snapshotCache(env).health().revision === flip.revision) break;
      await new Promise((r) => setTimeout(r, 100)); // the control plane publishes at most once a second
    }
    res = await agentCall();
    expect(res.headers.get("x-agent-release")).toBe("v2");
    expect(res.headers.get("x-agent-decision")).not.toContain("stale");
    await res.body?.cancel();
    // Back to v1 for any test after this one.
    await ok(call("releaser", "POST", `/agents/${AGENT}/promote`, { version: "v1", reason: "restore" }));
  });
});

async function expectJsonErrorOr503(res: Response): Promise<{ code: string }> {
  expect(res.status).toBe(503);
  expect(res.headers.get("retry-after")).toBe("1");
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(typeof body.error.message).toBe("string");
  return body.error;
}
