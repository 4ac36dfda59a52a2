/**
 * The isolate's read path on format 3 (issue 14): a revision is installed only when every shard and digest it
 * names is held (the last-known-good stays whole otherwise); a flip fetches only what the isolate lacks; a
 * manifest is parsed and validated once per digest, on first use; one that fails answers 503, never a guess.
 * A shard's agent line (what loading reads instead of the shard) is checked against the shard on first use; a
 * format-2 revision (JSON-only shards, what a control plane before this change wrote) is read as it was.
 */
import { describe, expect, it } from "vitest";
import type { ControlState } from "../../src/control/model";
import { buildPublication } from "../../src/control/snapshot";
import { canonicalJson, digestOf } from "../../src/release/digest";
import type { Manifest } from "../../src/release/schema";
import { decide } from "../../src/routing/decide";
import { type Pointers, shardOf } from "../../src/routing/snapshot";
import { render } from "../../src/state/publication";
import { SnapshotCache, type SnapshotSource } from "../../src/state/snapshot-cache";
import { manifest } from "../helpers/fixtures";

const UP = "http://127.0.0.1:9";

/** A source holding rendered revisions and stored values, counting what it is asked for. */
class Store implements SnapshotSource {
  readonly name = "store";
  readonly values = new Map<string, string>();
  roots = new Map<number, string>();
  newest = 0;
  asked: string[] = [];
  async revision(): Promise<number> {
    return this.newest;
  }
  async snapshot(revision: number): Promise<string> {
    const root = this.roots.get(revision);
    if (root === undefined) throw new Error("no such revision");
    return root;
  }
  async blobs(keys: readonly string[]): Promise<ReadonlyMap<string, string>> {
    this.asked.push(...keys);
    const out = new Map<string, string>();
    for (const k of keys) {
      const v = this.values.get(k);
      if (v !== undefined) out.set(k, v);
    }
    return out;
  }
  /** Publishes a state: its root, shards and the manifests given (by digest). */
  async put(state: ControlState, manifests: Map<string, Manifest>, digests: Record<string, string>) {
    const r = await render(buildPublication(state, (_a, v) => digests[`${_a}@${v}`] ?? null, 0));
    for (const [k, text] of r.shards) this.values.set(k, text);
    for (const [k, d] of r.releases) {
      const m = manifests.get(d);
      if (m !== undefined) this.values.set(k, canonicalJson(m));
    }
    this.roots.set(r.revision, r.rootText);
    this.newest = r.revision;
    return r;
  }
}

async function world(agents: string[]) {
  const manifests = new Map<string, Manifest>();
  const digests: Record<string, string> = {};
  for (const a of agents)
    for (const v of ["v1", "v2"]) {
      const m = manifest(a, v, UP);
      const d = await digestOf(m);
      manifests.set(d, m);
      digests[`${a}@${v}`] = d;
    }
  const state = (revision: number, p: (agent: string) => Partial<Pointers>): ControlState => ({
    revision,
    agents: Object.fromEntries(
      agents.map((a) => [a, { active: null, fallback: "off", canary: null, offFrom: null, ...p(a) }]),
    ),
    overrides: [],
    plans: {},
  });
  return { manifests, digests, state };
}

function rig(source: SnapshotSource) {
  const cache = new SnapshotCache({ sources: [source], now: () => 0, intervalMs: 0 });
  const active = async (agent: string) => {
    const s = await cache.get(() => undefined);
    if (s === null) return null;
    const o = decide(s.index, { agent, key: null, pin: null }, 0);
    return o.ok ? o.decision.release.version : o.code;
  };
  return { cache, active };
}

/** A format-3 shard text split into its agent line and its JSON. */
const split = (text: string) => {
  const end = text.indexOf("\n");
  return { line: JSON.parse(text.slice(0, end)) as [string[], string[]], body: JSON.parse(text.slice(end + 1)) };
};

describe("format 3 on the isolate", () => {
  it("installs a revision only when every digest it names is held, and keeps the last good whole", async () => {
    const { manifests, digests, state } = await world(["a", "b"]);
    const store = new Store();
    await store.put(
      state(1, () => ({ active: "v1" })),
      manifests,
      digests,
    );
    const { cache, active } = rig(store);
    expect(await active("a")).toBe("v1");

    // Revision 2 promotes v2 of both, but b's v2 manifest never arrived in the store.
    const without = new Map([...manifests].filter(([d]) => d !== digests["b@v2"]));
    await store.put(
      state(2, () => ({ active: "v2" })),
      without,
      digests,
    );
    await cache.refresh();
    expect(cache.health()).toMatchObject({ revision: 1, stale: true });
    expect(cache.health().lastError).toContain(`release:${digests["b@v2"]} is missing`);
    expect(await active("a")).toBe("v1"); // not half of revision 2
    expect(await active("b")).toBe("v1");

    // It arrives: revision 2 is installed whole.
    await store.put(
      state(2, () => ({ active: "v2" })),
      manifests,
      digests,
    );
    await cache.refresh();
    expect(cache.health()).toMatchObject({ revision: 2, stale: false });
    expect([await active("a"), await active("b")]).toEqual(["v2", "v2"]);
  });

  it("a flip fetches only the shard that changed; manifests already held are not fetched again", async () => {
    const agents = Array.from({ length: 40 }, (_, i) => `agent-${i}`);
    const { manifests, digests, state } = await world(agents);
    const store = new Store();
    await store.put(
      state(1, () => ({ active: "v1", canary: { version: "v2", percent: 1 } })),
      manifests,
      digests,
    );
    const { cache, active } = rig(store);
    expect(await active("agent-7")).toBe("v1");
    expect(store.asked.filter((k) => k.startsWith("release:"))).toHaveLength(80);

    store.asked = [];
    const flip = (a: string): Partial<Pointers> =>
      a === "agent-7" ? { active: "v2" } : { active: "v1", canary: { version: "v2", percent: 1 } };
    await store.put(state(2, flip), manifests, digests);
    await cache.refresh();
    expect(await active("agent-7")).toBe("v2");
    expect(store.asked).toHaveLength(1);
    expect(store.asked[0]).toMatch(/^shard:/);

    // A later revision where a new agent appears and another flips back: both seen, the rest untouched.
    const more = await world([...agents, "newcomer"]);
    for (const [d, m] of more.manifests) manifests.set(d, m);
    Object.assign(digests, more.digests);
    await store.put(
      more.state(3, () => ({ active: "v1" })),
      manifests,
      digests,
    );
    await cache.refresh();
    expect([await active("newcomer"), await active("agent-7"), await active("agent-9")]).toEqual(["v1", "v1", "v1"]);
    expect(await active("nobody")).toBe("unknown_agent");
  });

  it("a manifest that fails validation on first use makes its agent answer 503, once per digest", async () => {
    const { manifests, digests, state } = await world(["good", "bad"]);
    const store = new Store();
    await store.put(
      state(1, () => ({ active: "v1" })),
      manifests,
      digests,
    );
    store.values.set(`release:${digests["bad@v1"]}`, JSON.stringify({ agent: "bad", version: "v1" }));
    const { active } = rig(store);
    expect(await active("good")).toBe("v1");
    expect(await active("bad")).toBe("config_unavailable");
    expect(await active("bad")).toBe("config_unavailable");
  });

  it("a manifest stored under another release's digest is refused, not served", async () => {
    const { manifests, digests, state } = await world(["x"]);
    const store = new Store();
    await store.put(
      state(1, () => ({ active: "v1", fallback: "v2" })),
      manifests,
      digests,
    );
    store.values.set(`release:${digests["x@v1"]}`, store.values.get(`release:${digests["x@v2"]}`) as string);
    const { active } = rig(store);
    expect(await active("x")).toBe("config_unavailable");
  });

  it("a shard is validated on first use: one zod refuses answers 503 for its agents only; one that is not a shard is never installed", async () => {
    const { manifests, digests, state } = await world(["alpha", "beta"]);
    const store = new Store();
    const r = await store.put(
      state(1, () => ({ active: "v1" })),
      manifests,
      digests,
    );
    const alphaShard = JSON.parse(r.rootText).shards[shardOf("alpha")] as string;
    const { line, body: broken } = split(store.values.get(alphaShard) as string);
    broken.agents.alpha.pointers.active = 42; // shaped like a shard, refused by the schema
    store.values.set(alphaShard, `${JSON.stringify(line)}\n${JSON.stringify(broken)}`);
    const { cache, active } = rig(store);
    expect(await active("alpha")).toBe("config_unavailable");
    expect(await active("beta")).toBe("v1");
    expect(cache.health()).toMatchObject({ revision: 1 });

    const r2 = await store.put(
      state(2, () => ({ active: "v2" })),
      manifests,
      digests,
    );
    store.values.set(JSON.parse(r2.rootText).shards[shardOf("beta")] as string, "<html>502</html>");
    await cache.refresh();
    expect(cache.health()).toMatchObject({ revision: 1, stale: true });
    expect(await active("beta")).toBe("v1");
  });
  it("checks a shard's agent line against the shard on first use: a digest it leaves out was never fetched, so 503", async () => {
    const { manifests, digests, state } = await world(["alpha", "beta"]);
    const store = new Store();
    const r = await store.put(
      state(1, () => ({ active: "v1", fallback: "v2" })),
      manifests,
      digests,
    );
    const key = JSON.parse(r.rootText).shards[shardOf("alpha")] as string;
    const { line, body } = split(store.values.get(key) as string);
    // The line leaves alpha's v2 out: loading would not fetch it, and the shard must not be served.
    const without = [line[0], line[1].filter((d) => d !== digests["alpha@v2"])];
    expect(without[1]).toHaveLength(line[1].length - 1);
    store.values.set(key, `${JSON.stringify(without)}\n${JSON.stringify(body)}`);
    const { cache, active } = rig(store);
    expect(await active("alpha")).toBe("config_unavailable");
    expect(await active("beta")).toBe("v1");
    const s = await cache.get(() => undefined);
    const o = s === null ? null : decide(s.index, { agent: "alpha", key: null, pin: null }, 0);
    expect(o !== null && !o.ok ? o.message : "").toContain("agent line disagrees");
  });

  it("refuses at first use a shard whose line names other agents than it holds, or whose JSON is cut", async () => {
    const { manifests, digests, state } = await world(["alpha", "beta"]);
    // Listed nowhere: the isolate does not know alpha (404). Listed but cut: the shard is unusable (503).
    const spoils: [string, (line: [string[], string[]], body: unknown) => string][] = [
      ["unknown_agent", (line, body) => `${JSON.stringify([[], line[1]])}\n${JSON.stringify(body)}`],
      ["config_unavailable", (line, body) => `${JSON.stringify(line)}\n${JSON.stringify(body).slice(0, -2)}`],
    ];
    for (const [expected, spoil] of spoils) {
      const store = new Store();
      const r = await store.put(
        state(1, () => ({ active: "v1" })),
        manifests,
        digests,
      );
      const key = JSON.parse(r.rootText).shards[shardOf("alpha")] as string;
      const { line, body } = split(store.values.get(key) as string);
      store.values.set(key, spoil(line, body));
      const { active } = rig(store);
      expect(await active("beta")).toBe("v1");
      expect(await active("alpha")).toBe(expected); // never served
    }
  });

  it("reads a format-2 revision (JSON-only shards), as the control plane before this layout wrote it", async () => {
    const { manifests, digests, state } = await world(["alpha", "beta"]);
    const store = new Store();
    const r = await store.put(
      state(1, () => ({ active: "v2", fallback: "v1" })),
      manifests,
      digests,
    );
    const root = JSON.parse(r.rootText) as { format: number; shards: (string | null)[] };
    expect(root.format).toBe(3);
    const shards = await Promise.all(
      root.shards.map(async (k) => {
        if (k === null) return null;
        const body = JSON.stringify(split(store.values.get(k) as string).body);
        const old = `shard:${await digestOf(JSON.parse(body))}`;
        store.values.set(old, body);
        return old;
      }),
    );
    store.roots.set(1, JSON.stringify({ ...root, format: 2, shards }));
    const { cache, active } = rig(store);
    expect(await active("alpha")).toBe("v2");
    expect(await active("beta")).toBe("v2");
    expect(await active("gamma")).toBe("unknown_agent");
    expect(cache.health()).toMatchObject({ revision: 1 });
    expect(store.asked.filter((k) => k.startsWith("shard:"))).toEqual(shards.filter((k) => k !== null));
  });
});
