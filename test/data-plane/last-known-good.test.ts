/**
 * The read path's safety (CONTRACT §3) against real KV: once an isolate holds a valid state, nothing the store
 * returns can take it away — garbage, a schema-invalid snapshot, a missing head — it keeps serving, marked
 * `; stale`. A cold isolate with nothing valid answers 503 `config_unavailable` with Retry-After and never
 * guesses. /healthz says which revision is served and how old it is.
 */
import { env, SELF } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { snapshotCache } from "../../src/state/isolate";
import { HEAD_KEY, snapshotKey } from "../../src/state/kv-layout";
import { manifest, snapshot } from "../helpers/fixtures";
import { freshIsolate, publish } from "../helpers/publish";

const upstream = inject("upstream");

async function good(revision: number, active = "v1") {
  return snapshot(revision, {
    bot: {
      releases: [manifest("bot", "v1", upstream), manifest("bot", "v2", upstream)],
      pointers: { active, fallback: "off" },
    },
  });
}

/** Waits out any background refresh a request started, then makes one full read of the store as it is now. */
async function settle(): Promise<void> {
  const cache = snapshotCache(env);
  await cache.refresh();
  await cache.refresh();
}

async function head(revision: number): Promise<void> {
  await env.STATE.put(
    HEAD_KEY,
    JSON.stringify({ revision, key: snapshotKey(revision), publishedAt: new Date(0).toISOString() }),
  );
}

async function serve(): Promise<{ status: number; release: string | null; decision: string | null }> {
  const res = await SELF.fetch("https://gw/agents/bot/x");
  await res.body?.cancel();
  return {
    status: res.status,
    release: res.headers.get("x-agent-release"),
    decision: res.headers.get("x-agent-decision"),
  };
}

interface Health {
  ok: boolean;
  revision: number | null;
  ageMs: number | null;
  stale: boolean;
  lastError: string | null;
}
const health = async () => {
  const res = await SELF.fetch("https://gw/healthz");
  return { status: res.status, body: (await res.json()) as Health };
};

const corruptions: [string, () => Promise<void>][] = [
  ["head is not JSON", () => env.STATE.put(HEAD_KEY, "{not json")],
  ["head has the wrong shape", () => env.STATE.put(HEAD_KEY, JSON.stringify({ revision: "2" }))],
  ["head is deleted", () => env.STATE.delete(HEAD_KEY)],
  ["head names a missing snapshot", () => head(2)],
  [
    "the new snapshot is not JSON",
    async () => {
      await env.STATE.put(snapshotKey(2), '{"format":1,"revision":2,');
      await head(2);
    },
  ],
  [
    "the new snapshot names a release it does not hold",
    async () => {
      const s = await good(2);
      s.agents.bot!.pointers.active = "v9";
      await publish(s);
    },
  ],
  [
    "the new snapshot has an invalid manifest",
    async () => {
      const s = await good(2, "v2");
      (s.agents.bot!.releases.v2!.manifest as unknown as Record<string, unknown>).tools = "all of them";
      await publish(s);
    },
  ],
  [
    "the new snapshot holds an older revision",
    async () => {
      await env.STATE.put(snapshotKey(2), JSON.stringify(await good(1, "v2")));
      await head(2);
    },
  ],
];

describe("last-known-good", () => {
  it.each(corruptions)(
    "when %s, the last good state keeps serving, marked stale, never 503",
    async (_what, corrupt) => {
      await freshIsolate(await good(1));
      expect(await serve()).toEqual({ status: 200, release: "v1", decision: "stable" });

      await corrupt();
      await settle();
      for (let i = 0; i < 3; i++) {
        expect(await serve()).toEqual({ status: 200, release: "v1", decision: "stable; stale" });
      }
      const h = await health();
      expect(h.status).toBe(200);
      expect(h.body).toMatchObject({ ok: true, revision: 1, stale: true, lastError: expect.any(String) });

      // A good publish heals it.
      await publish(await good(3, "v2"));
      await settle();
      expect(await serve()).toEqual({ status: 200, release: "v2", decision: "stable" });
      expect((await health()).body).toMatchObject({ revision: 3, stale: false, lastError: null });
    },
  );

  it("an older revision never replaces a newer one", async () => {
    await freshIsolate(await good(5, "v2"));
    expect((await serve()).release).toBe("v2");
    await publish(await good(4, "v1"));
    await settle();
    expect(await serve()).toEqual({ status: 200, release: "v2", decision: "stable" });
  });

  it("a newer good revision is picked up by the next refresh", async () => {
    await freshIsolate(await good(1, "v1"));
    expect((await serve()).release).toBe("v1");
    await publish(await good(2, "v2"));
    await settle();
    expect((await serve()).release).toBe("v2");
  });
});

describe("a cold isolate with nothing valid", () => {
  it.each<[string, () => Promise<void>]>([
    ["no head", () => env.STATE.delete(HEAD_KEY)],
    ["a garbage head", () => env.STATE.put(HEAD_KEY, "garbage")],
    [
      "an invalid snapshot",
      async () => {
        const s = await good(1);
        s.agents.bot!.pointers.active = "v9";
        await publish(s);
      },
    ],
  ])("with %s answers 503 config_unavailable with Retry-After, every time", async (_what, prepare) => {
    await freshIsolate();
    await prepare();
    for (let i = 0; i < 2; i++) {
      const res = await SELF.fetch("https://gw/agents/bot/x");
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(res.headers.get("x-agent-release")).toBeNull();
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("config_unavailable");
    }
    const h = await health();
    expect(h.status).toBe(503);
    expect(h.body).toMatchObject({ ok: false, revision: null, ageMs: null });
  });
});

describe("/healthz", () => {
  it("reports the revision served and how long since it was confirmed", async () => {
    await freshIsolate(await good(42));
    const h = await health();
    expect(h.status).toBe(200);
    expect(h.body.ok).toBe(true);
    expect(h.body.revision).toBe(42);
    expect(h.body.stale).toBe(false);
    expect(h.body.ageMs).toBeGreaterThanOrEqual(0);
    expect(h.body.ageMs).toBeLessThan(5000);
  });
});
