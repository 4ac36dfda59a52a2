/**
 * The KV layout across a long quiet spell (issue 14), with the publisher's clock injected and the real KV
 * binding: nothing is written with an expiry, every key the newest revision names survives any quiet spell, a
 * key no revision names is deleted only after the grace, and a KV-only cold isolate still serves afterwards.
 * Also what a one-pointer flip costs: the shard that changed, the root and `head`, no manifest.
 */
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { expect, inject, it } from "vitest";
import type { ControlState } from "../../src/control/model";
import { buildPublication } from "../../src/control/snapshot";
import { canonicalJson, digestOf } from "../../src/release/digest";
import type { Manifest } from "../../src/release/schema";
import type { Pointers } from "../../src/routing/snapshot";
import { HEAD_KEY, snapshotKey, UNNAMED_GRACE_MS } from "../../src/state/kv-layout";
import { KvPublisher } from "../../src/state/kv-publisher";
import { render } from "../../src/state/publication";
import { coldIsolate, unreachableControl } from "../faults/faulty-kv";
import { manifest } from "../helpers/fixtures";

const upstream = inject("upstream");
const DAY = 86_400_000;

interface Put {
  key: string;
  bytes: number;
  options: KVNamespacePutOptions | undefined;
}

it("keeps every named key through a quiet month, deletes the rest after the grace, and KV alone still serves", async () => {
  const releases = [manifest("bot", "v1", upstream), manifest("bot", "v2", upstream)];
  const byDigest = new Map<string, Manifest>();
  const digests: Record<string, string> = {};
  for (const m of releases) {
    const d = await digestOf(m);
    byDigest.set(d, m);
    digests[m.version] = d;
  }
  const state = (revision: number, p: Partial<Pointers>): ControlState => ({
    revision,
    agents: { bot: { active: null, fallback: "off", canary: null, offFrom: null, ...p } },
    overrides: [],
    plans: {},
  });
  const clock = { t: Date.UTC(2026, 11, 4, 18) }; // a Friday evening
  const puts: Put[] = [];
  /** Every write of the whole test, never cleared: each one is checked for an expiry at the end. */
  const everyPut: Put[] = [];
  const deletes: string[] = [];
  const stub = env.CONTROL.get(env.CONTROL.idFromName("publisher-under-test"));

  await runInDurableObject(stub, async (_instance, ctx) => {
    const publisher = new KvPublisher({
      sql: ctx.storage.sql,
      kv: {
        put: async (key: string, value: string, options?: KVNamespacePutOptions) => {
          puts.push({ key, bytes: value.length, options });
          everyPut.push({ key, bytes: value.length, options });
          await env.STATE.put(key, value, options);
        },
        delete: async (key: string) => {
          deletes.push(key);
          await env.STATE.delete(key);
        },
      },
      now: () => clock.t,
      manifestText: (d) => {
        const m = byDigest.get(d);
        return m === undefined ? null : canonicalJson(m);
      },
    });
    const publish = async (s: ControlState) =>
      publisher.publish(await render(buildPublication(s, (_a, v) => digests[v] ?? null, clock.t)));

    await publish(state(1, { active: "v1", canary: { version: "v2", percent: 5 } }));
    expect(puts.map((p) => p.key).filter((k) => k.startsWith("release:"))).toHaveLength(2);

    // A one-pointer flip: the canary's percent. One shard, the root and head; no manifest is written again.
    puts.length = 0;
    clock.t += 60_000;
    await publish(state(2, { active: "v1", canary: { version: "v2", percent: 50 } }));
    expect(puts.map((p) => p.key.split(":")[0])).toEqual(["shard", "snapshot", "head"]);
    expect(puts.reduce((n, p) => n + p.bytes, 0)).toBeLessThan(64 * 1024);

    // Promote v2 and drop the canary: v1 is named by no revision from now on.
    clock.t += 60_000;
    await publish(state(3, { active: "v2" }));
    const unnamedAt = clock.t;

    // Collections inside the one-hour grace delete nothing still named or recently unnamed: a minute in, every
    // key unnamed so far (revisions 1 and 2, v1) is younger than the grace, so nothing at all goes.
    const before = new Set((await env.STATE.list()).keys.map((k) => k.name));
    clock.t = unnamedAt + 60_000;
    await publisher.collect();
    expect(deletes).toEqual([]);
    // A second short of the grace for what revision 3 unnamed: v1 and revision 2's root are still there.
    clock.t = unnamedAt + UNNAMED_GRACE_MS - 1000;
    await publisher.collect();
    for (const key of [HEAD_KEY, snapshotKey(3), `release:${digests.v2}`, `release:${digests.v1}`, snapshotKey(2)]) {
      expect(before.has(key), key).toBe(true);
      expect(deletes, key).not.toContain(key);
      expect(await env.STATE.get(key), key).not.toBeNull();
    }

    // The quiet spell: a month without a mutation. The alarm's collection runs (several times, as it would).
    for (let day = 1; day <= 30; day++) {
      clock.t += DAY;
      await publisher.collect();
    }
    // Nothing was ever written to expire (revisions 1 to 3 here; every write again at the end).
    for (const p of everyPut) expect(p.options?.expirationTtl ?? p.options?.expiration).toBeUndefined();
    const listed = await env.STATE.list();
    for (const k of listed.keys) expect(k.expiration).toBeUndefined();
    const held = new Set(listed.keys.map((k) => k.name));
    // What revision 3 names is all there; what only older revisions named is gone.
    expect(held.has(HEAD_KEY)).toBe(true);
    expect(held.has(snapshotKey(3))).toBe(true);
    expect(held.has(`release:${digests.v2}`)).toBe(true);
    expect(held.has(`release:${digests.v1}`)).toBe(false);
    expect(held.has(snapshotKey(1)) || held.has(snapshotKey(2))).toBe(false);
    expect(deletes).toContain(`release:${digests.v1}`);
    expect(publisher.nextCollection()).toBeNull();

    // v1 named again after it was deleted: written again before the head that names it.
    puts.length = 0;
    await publish(state(4, { active: "v1", fallback: "v2" }));
    expect(puts.map((p) => p.key)).toContain(`release:${digests.v1}`);
    expect(puts.at(-1)?.key).toBe(HEAD_KEY);

    // Unnamed, then named again within the grace: kept, not deleted, not written again.
    clock.t += 1000;
    await publish(state(5, { active: "v2" }));
    clock.t += UNNAMED_GRACE_MS / 2;
    puts.length = 0;
    deletes.length = 0;
    await publish(state(6, { active: "v1", fallback: "v2" }));
    clock.t += UNNAMED_GRACE_MS;
    await publisher.collect();
    expect(deletes).not.toContain(`release:${digests.v1}`);
    expect(puts.map((p) => p.key)).not.toContain(`release:${digests.v1}`);

    // Nothing was ever written to expire: every write of revisions 1 to 6, and every key KV holds now.
    expect(everyPut.filter((p) => p.key === HEAD_KEY)).toHaveLength(6);
    for (const p of everyPut) {
      expect(p.options?.expirationTtl, p.key).toBeUndefined();
      expect(p.options?.expiration, p.key).toBeUndefined();
    }
    for (const k of (await env.STATE.list()).keys) expect(k.expiration, k.name).toBeUndefined();
  });

  // KV alone (the control plane unreachable, FRESHNESS=kv): a cold isolate serves revision 6.
  coldIsolate({ CONTROL: unreachableControl }, true);
  const res = await SELF.fetch("https://gw/agents/bot/x");
  expect(res.status).toBe(200);
  expect(res.headers.get("x-agent-release")).toBe("v1");
  await res.body?.cancel();
  const health = (await (await SELF.fetch("https://gw/healthz")).json()) as Record<string, unknown>;
  expect(health).toMatchObject({ revision: 6, source: "kv" });
});
