/**
 * Mutations are serialized (CONTRACT §4.2 "two at once never lose either"): 50 mutations sent at once, as 50
 * separate requests through the Worker, over five agents — overrides, canary starts and raises, promotes,
 * rollbacks, new releases. Every one is applied, each gets its own revision, the audit `seq` and `revision`
 * run without a gap, every entry's `before` is exactly the previous entry's `after` for that agent, and
 * replaying the audit in order from the state before the burst gives the final state.
 */
import { describe, expect, it, vi } from "vitest";
import type { Pointers } from "../../src/routing/snapshot";
import { type AuditEntry, audit, call, state } from "../helpers/admin";
import { put, release } from "./support";

vi.setConfig({ testTimeout: 30_000 });

const AGENTS = ["burst-a", "burst-b", "burst-c", "burst-d", "burst-e"];

interface Sent {
  method: string;
  path: string;
  body: Record<string, unknown>;
  status: number;
}

/**
 * Ten mutations per agent. Each succeeds and changes something in any order: the canary is always v2 at a
 * percent of its own, promotes are of v3 or v4, and the one rollback goes to v1 or "off", never promoted here.
 */
function mutations(agent: string): Sent[] {
  const a = `/agents/${agent}`;
  const canary = (percent: number) => ({
    method: "POST",
    path: `${a}/canary`,
    body: { version: "v2", percent, reason: `canary ${percent}` },
    status: 200,
  });
  const override = (mode: string) => ({
    method: "POST",
    path: "/overrides",
    body: { scope: { agent }, set: { mode }, reason: `lane ${mode}` },
    status: 201,
  });
  return [
    canary(5),
    override("draft-only"),
    { method: "POST", path: `${a}/promote`, body: { version: "v3", reason: "ship v3" }, status: 200 },
    canary(10),
    { method: "PUT", path: `${a}/releases/v5`, body: release(agent, "v5", "burst") as never, status: 201 },
    canary(25.5),
    { method: "POST", path: `${a}/rollback`, body: { reason: "back" }, status: 200 },
    override("off"),
    { method: "POST", path: `${a}/promote`, body: { version: "v4", reason: "ship v4" }, status: 200 },
    canary(50),
  ];
}

/** The state the audit entries describe, when applied in order to `start`. Checks each entry's `before`. */
function replay(
  start: { revision: number; agents: Record<string, unknown>; overrides: Array<Record<string, unknown>> },
  entries: AuditEntry[],
) {
  const agents: Record<string, unknown> = structuredClone(start.agents);
  let overrides = structuredClone(start.overrides);
  let revision = start.revision;
  for (const e of entries) {
    expect(e.revision, `seq ${e.seq}`).toBe(revision + 1);
    revision = e.revision;
    switch (e.action) {
      case "release.put":
        agents[e.agent!] ??= { active: null, fallback: null, canary: null, offFrom: null };
        break;
      case "promote":
      case "canary.set":
      case "canary.abort":
      case "rollback":
        // The decision was made on exactly the state the previous entry left: nothing interleaved.
        expect(e.before, `seq ${e.seq} ${e.action} ${e.agent}`).toEqual(agents[e.agent!]);
        agents[e.agent!] = e.after;
        break;
      case "override.add":
        overrides.push(e.after as Record<string, unknown>);
        break;
      case "override.remove":
        overrides = overrides.filter((o) => o.id !== (e.before as { id: string }).id);
        break;
      default:
        throw new Error(`unexpected action ${e.action} at seq ${e.seq}`);
    }
  }
  return { revision, agents, overrides };
}

describe("50 concurrent mutations", () => {
  it("are all applied, audited without a gap, and replaying the audit gives the final state", async () => {
    for (const agent of AGENTS) {
      await put(release(agent, "v1", "burst"));
      await put(release(agent, "v2", "burst", { fallback: "v1" }));
      await put(release(agent, "v3", "burst", { fallback: "v1" }));
      await put(release(agent, "v4", "burst", { fallback: "v1" }));
      await call("admin", "POST", `/agents/${agent}/promote`, { version: "v1", reason: "setup" });
    }
    const before = await state();
    const lastSeq = (await audit("?limit=1")).entries[0]!.seq;

    const sent = AGENTS.flatMap(mutations);
    // Interleave the agents, so that requests for one agent are not all queued back to back.
    const order = sent.map((_, i) => sent[(i % AGENTS.length) * 10 + Math.floor(i / AGENTS.length)]!);
    expect(order).toHaveLength(50);
    const answers = await Promise.all(
      order.map(async (m) => {
        const res = await call("admin", m.method, m.path, m.body);
        const body = (await res.json()) as { revision: number; changed: boolean; id?: string };
        return { m, status: res.status, etag: res.headers.get("etag"), body };
      }),
    );

    for (const a of answers) {
      expect(a.status, `${a.m.method} ${a.m.path} ${JSON.stringify(a.body)}`).toBe(a.m.status);
      expect(a.body.changed).toBe(true);
      expect(a.etag).toBe(`"${a.body.revision}"`);
    }
    const revisions = answers.map((a) => a.body.revision).sort((x, y) => x - y);
    expect(revisions).toEqual(Array.from({ length: 50 }, (_, i) => before.revision + 1 + i));

    const after = await state();
    expect(after.revision).toBe(before.revision + 50);

    const burst = (await audit("?limit=500")).entries.filter((e) => e.seq > lastSeq).reverse();
    expect(burst).toHaveLength(50);
    expect(burst.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => lastSeq + 1 + i));
    expect(burst.map((e) => e.revision)).toEqual(revisions);
    expect(burst.every((e) => e.actor === "admin@test" && e.role === "admin")).toBe(true);

    // Each request is in the audit exactly once, with its own reason, agent and action.
    const count = (xs: string[]) => {
      const n: Record<string, number> = {};
      for (const x of xs) n[x] = (n[x] ?? 0) + 1;
      return n;
    };
    expect(count(burst.map((e) => `${e.agent} ${e.action}`))).toEqual(
      Object.fromEntries(
        AGENTS.flatMap((a) => [
          [`${a} canary.set`, 4],
          [`${a} override.add`, 2],
          [`${a} promote`, 2],
          [`${a} release.put`, 1],
          [`${a} rollback`, 1],
        ]),
      ),
    );
    const ids = answers.flatMap((a) => (a.body.id === undefined ? [] : [a.body.id]));
    expect(ids).toHaveLength(10);
    expect(
      new Set(burst.filter((e) => e.action === "override.add").map((e) => (e.after as { id: string }).id)),
    ).toEqual(new Set(ids));

    const replayed = replay(before, burst);
    expect(replayed.revision).toBe(after.revision);
    expect(after.agents).toEqual(replayed.agents);
    expect(after.overrides).toEqual(replayed.overrides);

    // And every agent's new release is stored.
    for (const agent of AGENTS) {
      const res = await call("viewer", "GET", `/agents/${agent}/releases/v5`);
      expect(res.status).toBe(200);
      await res.body?.cancel();
    }
    // The final pointers are those of the last pointer move of each agent (a sanity check of the replay itself).
    for (const agent of AGENTS) {
      const last = burst.filter((e) => e.agent === agent && e.action !== "release.put" && e.action !== "override.add");
      expect(after.agents[agent]).toEqual(last.at(-1)!.after as Pointers);
    }
  });
});
