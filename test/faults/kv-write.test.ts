/**
 * KV write faults during publish (issue 7, docs/reliability.md), injected into the real control-plane Durable
 * Object through the tests' subclass (test/helpers/kv-writer.ts).
 *
 * Expected: a mutation commits whatever KV does (the answer says `published: false`, GET /state shows
 * `publishedRevision` behind `revision`); the data plane serves it through the control-plane path; a KV-only
 * reader keeps a consistent older revision (never half of a newer one); once KV takes writes again the alarm
 * publishes the newest revision, exactly as committed; the audit holds every change.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { type KvWriter, PUBLISH_WAIT_MS } from "../../src/state/control-plane";
import { resetIsolateForTests, snapshotCache } from "../../src/state/isolate";
import { HEAD_KEY } from "../../src/state/kv-layout";
import { call, ok } from "../helpers/admin";
import { useKvWriter } from "../helpers/kv-writer";
import { AGENT, fetchWithin, seedLiveAgent } from "../security/support";
import { coldIsolate } from "./faulty-kv";

const upstream = inject("upstream");
vi.setConfig({ testTimeout: 30_000, hookTimeout: 30_000 });

const stub = () => env.CONTROL.get(env.CONTROL.idFromName("global"));
const useWriter = (w: KvWriter | null) => useKvWriter(w);

interface State {
  revision: number;
  publishedRevision: number;
  agents: Record<string, { active: string; canary: { version: string; percent: number } | null }>;
  overrides: Array<{ id: string }>;
}
const state = () => ok<State>(call("viewer", "GET", "/state"));
const kvHead = async () =>
  JSON.parse((await env.STATE.get(HEAD_KEY)) ?? "null") as { revision: number; key: string } | null;

/** Runs the publish alarm until KV holds the committed revision (publishing is paced to one write a second). */
async function settle(): Promise<State> {
  for (let i = 0; i < 60; i++) {
    const s = await state();
    if (s.publishedRevision === s.revision) return s;
    await runDurableObjectAlarm(stub());
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("KV never caught up with the committed revision");
}

/** Settled, and past the publish pacing (one KV write a second): the next commit writes KV at once. */
async function quiet(): Promise<void> {
  await settle();
  await new Promise((r) => setTimeout(r, 1100));
}

/** KV holds exactly what the control plane committed: the snapshot under head is the control plane's own. */
async function expectKvMatchesControl(): Promise<void> {
  const s = await settle();
  const head = await kvHead();
  expect(head?.revision).toBe(s.revision);
  const control = await runInDurableObject(stub(), (i) => i.snapshotText());
  expect(control.revision).toBe(s.revision);
  expect(await env.STATE.get(head!.key)).toBe(control.text);
}

async function auditSeqs(): Promise<number[]> {
  const a = await ok<{ entries: Array<{ seq: number; revision: number }> }>(call("viewer", "GET", "/audit?limit=500"));
  return a.entries.map((e) => e.seq).reverse();
}

beforeAll(async () => {
  await seedLiveAgent(upstream);
  await settle();
});

afterEach(async () => {
  await useWriter(null);
  resetIsolateForTests();
});

describe("every KV write failing", () => {
  it("commits, serves through the control plane, keeps KV consistent, and publishes once KV is back", async () => {
    await quiet();
    const headBefore = await kvHead();
    const calls: string[] = [];
    await useWriter({
      put: async (key: string) => {
        calls.push(key);
        throw new Error("KV PUT failed: 500 (injected)");
      },
    });
    // One after the other: the promote must come after the canary (promoting v2 first would make the canary's
    // version the active one, which the canary call refuses).
    const changes = [
      () => call("releaser", "POST", `/agents/${AGENT}/canary`, { version: "v2", percent: 50, reason: "kv down 1" }),
      () =>
        call("operator", "POST", "/overrides", {
          scope: { agent: AGENT },
          set: { disableTools: ["send_email"] },
          reason: "kv down 2",
        }),
      () => call("releaser", "POST", `/agents/${AGENT}/promote`, { version: "v2", reason: "kv down 3" }),
    ];
    const answers: Array<{ revision: number; published: boolean }> = [];
    for (const change of changes) {
      const res = change();
      answers.push(await ok(res, (await res).status === 201 ? 201 : 200));
    }
    expect(answers.map((a) => a.published)).toEqual([false, false, false]);
    expect(calls.length).toBeGreaterThan(0); // it did try

    // What the operator sees: the state is committed, and says KV is behind.
    const s = await state();
    // At least these three; the guard (src/state/guard.ts) may act on its own meanwhile.
    expect(s.revision).toBeGreaterThanOrEqual(answers.at(-1)!.revision);
    expect(s.publishedRevision).toBeLessThan(s.revision);
    expect(s.agents[AGENT]!.active).toBe("v2");
    // KV still names the old revision, and that snapshot is whole.
    expect(await kvHead()).toEqual(headBefore);
    // The data plane serves the change from the control plane.
    coldIsolate({}, false);
    const res = await fetchWithin(`https://gw/agents/${AGENT}/x`);
    expect(res.headers.get("x-agent-release")).toBe("v2");
    expect(res.headers.get("x-agent-lane")).toBe("autonomous");
    const echo = (await res.json()) as { headers: Record<string, string> };
    expect(echo.headers["x-agent-tools"]).not.toContain("send_email");
    expect(snapshotCache(env).health().source).toBe("control");
    // A KV-only reader keeps the older revision, whole and unmarked: nothing it holds is half-written.
    coldIsolate({}, true);
    const kvRes = await fetchWithin(`https://gw/agents/${AGENT}/x`);
    expect(kvRes.status).toBe(200);
    expect(kvRes.headers.get("x-agent-release")).toBe("v1");
    await kvRes.body?.cancel();

    // KV is back: the alarm armed by the failures publishes the newest revision.
    await useWriter(null);
    await expectKvMatchesControl();
    coldIsolate({}, true);
    const after = await fetchWithin(`https://gw/agents/${AGENT}/x`);
    expect(after.headers.get("x-agent-release")).toBe("v2");
    await after.body?.cancel();
    const seqs = await auditSeqs();
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(seqs.length).toBe((await state()).revision);
  });
});

describe("only the head write failing", () => {
  it("leaves KV readers on the older whole revision until the head can be written", async () => {
    await quiet();
    const headBefore = await kvHead();
    await useWriter({
      put: async (key: string, value: string, options?: KVNamespacePutOptions) => {
        if (key === HEAD_KEY) throw new Error("KV PUT head failed (injected)");
        return env.STATE.put(key, value, options);
      },
    });
    const flip = await ok<{ revision: number; published: boolean }>(
      call("releaser", "POST", `/agents/${AGENT}/promote`, { version: "v1", reason: "head fails" }),
    );
    expect(flip.published).toBe(false);
    expect(await kvHead()).toEqual(headBefore); // the new snapshot may be there; nothing names it yet
    coldIsolate({}, true);
    const res = await fetchWithin(`https://gw/agents/${AGENT}/x`);
    expect(res.headers.get("x-agent-release")).toBe("v2");
    await res.body?.cancel();
    await useWriter(null);
    await expectKvMatchesControl();
  });
});

describe("a KV write that does not settle", () => {
  it("answers the mutation within PUBLISH_WAIT_MS with published: false, and KV catches up later", async () => {
    await quiet();
    await useWriter({
      put: async (key: string, value: string, options?: KVNamespacePutOptions) => {
        await new Promise((r) => setTimeout(r, 4000)); // twice the bound, for each of the two puts
        return env.STATE.put(key, value, options);
      },
    });
    const started = Date.now();
    const flip = await ok<{ revision: number; published: boolean }>(
      call("releaser", "POST", `/agents/${AGENT}/promote`, { version: "v2", reason: "kv slow" }),
    );
    const elapsed = Date.now() - started;
    expect(flip.published).toBe(false);
    expect(elapsed).toBeGreaterThanOrEqual(PUBLISH_WAIT_MS - 50);
    expect(elapsed).toBeLessThan(PUBLISH_WAIT_MS + 1500); // not the 8 s the two puts take
    expect((await state()).agents[AGENT]!.active).toBe("v2"); // committed all the same
    await useWriter(null); // the put in flight still finishes; later ones go straight to KV
    await expectKvMatchesControl();
  });
});

describe("KV writes failing intermittently under a burst of changes", () => {
  it("publishes the final committed state, and the audit holds every change in order", async () => {
    let n = 0;
    await useWriter({
      put: async (key: string, value: string, options?: KVNamespacePutOptions) => {
        if (n++ % 2 === 0) throw new Error("KV PUT flaked (injected)");
        return env.STATE.put(key, value, options);
      },
    });
    await quiet();
    const before = (await state()).revision;
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        call("operator", "POST", "/overrides", {
          scope: { agent: AGENT },
          set: { forceApproval: ["read"] },
          reason: `burst ${i}`,
          ttlSeconds: 3600,
        }).then((r) => ok<{ id: string; revision: number }>(r, 201)),
      ),
    );
    const revisions = answers.map((a) => a.revision).sort((a, b) => a - b);
    expect(revisions).toEqual(Array.from({ length: 12 }, (_, i) => before + i + 1)); // serialized, none lost
    await useWriter(null);
    await expectKvMatchesControl();
    const s = await state();
    for (const a of answers) expect(s.overrides.map((o) => o.id)).toContain(a.id);
    const seqs = await auditSeqs();
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(seqs.length).toBe((await state()).revision);
  });
});
