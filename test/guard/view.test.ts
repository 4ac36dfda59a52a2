/**
 * The guard's view of one agent (src/state/guard-view.ts), read through a fake control plane. Agent ids are
 * user-chosen: `constructor`, `toString` and `__proto__`-like names must read as "no such agent", never as an
 * Object.prototype member (docs/reliability.md, gap 2).
 */
import { describe, expect, it } from "vitest";
import type { StoredRelease } from "../../src/control/model";
import type { Pointers } from "../../src/routing/snapshot";
import { type ControlRpc, readView } from "../../src/state/guard-view";
import { manifest } from "../helpers/fixtures";

function fakeControl(agents: Record<string, Pointers>): ControlRpc {
  return {
    head: async () => ({ revision: 7 }),
    current: async () => ({ revision: 7, agents, overrides: [], plans: {} }),
    release: async (agent, version): Promise<StoredRelease | null> =>
      Object.hasOwn(agents, agent)
        ? {
            manifest: manifest(agent, version, "http://upstream.test"),
            digest: `sha256:${version}`,
            createdAt: "2026-01-01T00:00:00.000Z",
            createdBy: "test",
            everActive: true,
          }
        : null,
    mutate: async () => {
      throw new Error("the view never mutates");
    },
  };
}

describe("readView", () => {
  const cp = fakeControl({ bot: { active: "v1", fallback: "off", canary: null, offFrom: null } });

  it("reads a known agent's live releases", async () => {
    const view = await readView(cp, "bot", null, new Map());
    expect(view?.live.map((r) => [r.version, r.role])).toEqual([["v1", "active"]]);
  });

  it.each(["constructor", "toString", "hasOwnProperty", "valueOf", "__proto__"])(
    "an agent named %s that does not exist is no agent",
    async (agent) => {
      expect(await readView(cp, agent, null, new Map())).toBeNull();
    },
  );
});
