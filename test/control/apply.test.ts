/**
 * The pure control core (src/control): apply(state, command, world) as plain calls. Table-driven: which role
 * each move needs, every refusal, the pointers each move leaves, what changes nothing, and expiry.
 */
import { describe, expect, it } from "vitest";
import { apply, expiredAt } from "../../src/control/apply";
import type { Command } from "../../src/control/commands";
import {
  type Applied,
  type ControlState,
  NO_POINTERS,
  type Outcome,
  type Refusal,
  type StoredRelease,
  type World,
} from "../../src/control/model";
import { atLeast, EXPIRY, GUARD, ROLES, type Role } from "../../src/control/roles";
import { buildPublication } from "../../src/control/snapshot";
import type { Manifest } from "../../src/release/schema";
import type { Override } from "../../src/routing/override";
import { type Pointers, SHARD_COUNT, shardOf } from "../../src/routing/snapshot";
import { manifest, override } from "../helpers/fixtures";

const UP = "http://upstream.test";
const NOW = Date.parse("2026-01-01T00:00:00.000Z");

/** A release that passes the readiness gate, with the given `rollout.fallback`. */
function ready(version: string, fallback = "off", agent = "bot"): Manifest {
  const m = manifest(agent, version, UP);
  return { ...m, rollout: { ...m.rollout!, fallback } };
}

/** A draft: stored, but it answers none of the rollout questions. */
function draft(version: string, agent = "bot"): Manifest {
  const { rollout: _, ...m } = manifest(agent, version, UP);
  return m;
}

const stored = (m: Manifest, everActive = false): StoredRelease => ({
  manifest: m,
  digest: `sha256:${m.agent}-${m.version}`,
  createdAt: new Date(NOW).toISOString(),
  createdBy: "releaser@test",
  everActive,
});

/**
 * The releases of agent `bot`: v1 (the fallback, never served), v2 (active), v3 (the canary), old (served once),
 * fresh (ready, never served), draft (no rollout answers).
 */
const RELEASES: StoredRelease[] = [
  stored(ready("v1")),
  stored(ready("v2", "v1"), true),
  stored(ready("v3", "v1")),
  stored(ready("old"), true),
  stored(ready("fresh", "v1")),
  stored(draft("draft")),
];

function world(role: Role, releases: StoredRelease[] = RELEASES, now = NOW): World {
  return {
    now,
    actor: { name: `${role}@test`, role },
    release: (agent, version) =>
      releases.find((r) => r.manifest.agent === agent && r.manifest.version === version) ?? null,
    releaseCount: (agent) => releases.filter((r) => r.manifest.agent === agent).length,
    storedBytes: () => 0,
  };
}

const LIVE: Pointers = { active: "v2", fallback: "v1", canary: { version: "v3", percent: 10 }, offFrom: null };
const OVR = override("ovr_a", { agent: "bot" }, { mode: "draft-only" });

function stateOf(bot: Partial<Pointers> = LIVE, overrides: Override[] = [OVR], revision = 10): ControlState {
  return { revision, agents: { bot: { ...NO_POINTERS, ...bot } }, overrides, plans: {} };
}

function applied(out: Outcome): Applied {
  if (!out.ok) throw new Error(`expected the command to apply, got ${out.status} ${out.code}: ${out.message}`);
  return out;
}

function refused(out: Outcome): Refusal {
  if (out.ok) throw new Error("expected a refusal");
  return out;
}

describe("role each move needs", () => {
  const rows: Array<{ move: string; state?: ControlState; command: Command; need: Role }> = [
    {
      move: "store a new release",
      command: { kind: "release.put", agent: "bot", version: "v9", manifest: ready("v9"), digest: "sha256:v9" },
      need: "releaser",
    },
    {
      move: "store the same content again",
      command: { kind: "release.put", agent: "bot", version: "v1", manifest: ready("v1"), digest: "sha256:bot-v1" },
      need: "releaser",
    },
    { move: "promote", command: { kind: "promote", agent: "bot", version: "fresh", reason: "r" }, need: "releaser" },
    {
      move: "start a canary of another version",
      command: { kind: "canary.set", agent: "bot", version: "fresh", percent: 1, reason: "r" },
      need: "releaser",
    },
    {
      move: "start a canary where none is set",
      state: stateOf({ ...LIVE, canary: null }),
      command: { kind: "canary.set", agent: "bot", version: "v3", percent: 0, reason: "r" },
      need: "releaser",
    },
    {
      move: "raise the canary",
      command: { kind: "canary.set", agent: "bot", version: "v3", percent: 10.01, reason: "r" },
      need: "releaser",
    },
    {
      move: "lower the canary",
      command: { kind: "canary.set", agent: "bot", version: "v3", percent: 9.99, reason: "r" },
      need: "operator",
    },
    {
      move: "lower the canary to 0",
      command: { kind: "canary.set", agent: "bot", version: "v3", percent: 0, reason: "r" },
      need: "operator",
    },
    {
      move: "keep the canary's percent",
      command: { kind: "canary.set", agent: "bot", version: "v3", percent: 10, reason: "r" },
      need: "operator",
    },
    { move: "abort the canary", command: { kind: "canary.abort", agent: "bot", reason: "r" }, need: "operator" },
    {
      move: "roll back to the fallback (which never served)",
      command: { kind: "rollback", agent: "bot", reason: "r" },
      need: "operator",
    },
    {
      move: "roll back to a release that served before",
      command: { kind: "rollback", agent: "bot", to: "old", reason: "r" },
      need: "operator",
    },
    {
      move: "roll back to off",
      command: { kind: "rollback", agent: "bot", to: "off", reason: "r" },
      need: "operator",
    },
    {
      move: "roll back to a release that never served",
      command: { kind: "rollback", agent: "bot", to: "fresh", reason: "r" },
      need: "releaser",
    },
    {
      move: "add an override",
      command: { kind: "override.add", id: "ovr_b", scope: { agent: "bot" }, set: { mode: "off" }, reason: "r" },
      need: "operator",
    },
    {
      move: "add an override for every agent",
      command: { kind: "override.add", id: "ovr_b", scope: { agent: "*" }, set: { disableTools: ["x"] }, reason: "r" },
      need: "operator",
    },
    {
      move: "remove an override",
      command: { kind: "override.remove", id: "ovr_a", reason: "r" },
      need: "releaser",
    },
  ];

  for (const row of rows) {
    describe(row.move, () => {
      it.each(ROLES.map((role) => [role]))("as %s", (role) => {
        const out = apply(row.state ?? stateOf(), row.command, world(role));
        if (atLeast(role, row.need)) {
          expect(applied(out).ok).toBe(true);
        } else {
          const r = refused(out);
          expect(r).toMatchObject({ status: 403, code: "forbidden" });
          // The role named is one the actor lacks, and no more than the move needs (a viewer hears "operator").
          const named = (r.details as { requiredRole: Role }).requiredRole;
          expect(atLeast(role, named)).toBe(false);
          expect(atLeast(row.need, named)).toBe(true);
        }
      });
    });
  }

  it("the automatic actors are operators: they may make things safer, never riskier", () => {
    for (const actor of [GUARD, EXPIRY]) {
      const w = { ...world("operator"), actor };
      expect(applied(apply(stateOf(), { kind: "canary.abort", agent: "bot", reason: "r" }, w)).changed).toBe(true);
      expect(
        refused(apply(stateOf(), { kind: "promote", agent: "bot", version: "fresh", reason: "r" }, w)).status,
      ).toBe(403);
    }
  });
});

describe("refusals", () => {
  const noPointers = stateOf(NO_POINTERS);
  const rows: Array<{ why: string; state?: ControlState; command: Command; status: number; code: string }> = [
    {
      why: "promote of an unknown agent",
      command: { kind: "promote", agent: "nobody", version: "v1", reason: "r" },
      status: 404,
      code: "unknown_agent",
    },
    {
      why: "promote of an unknown release",
      command: { kind: "promote", agent: "bot", version: "v9", reason: "r" },
      status: 404,
      code: "unknown_release",
    },
    {
      why: "promote of a draft",
      command: { kind: "promote", agent: "bot", version: "draft", reason: "r" },
      status: 422,
      code: "not_ready",
    },
    {
      why: "canary of the active release",
      command: { kind: "canary.set", agent: "bot", version: "v2", percent: 5, reason: "r" },
      status: 409,
      code: "already_active",
    },
    {
      why: "canary of an unknown agent",
      command: { kind: "canary.set", agent: "nobody", version: "v1", percent: 5, reason: "r" },
      status: 404,
      code: "unknown_agent",
    },
    {
      why: "canary of an unknown release",
      command: { kind: "canary.set", agent: "bot", version: "v9", percent: 5, reason: "r" },
      status: 404,
      code: "unknown_release",
    },
    {
      why: "canary of a draft",
      command: { kind: "canary.set", agent: "bot", version: "draft", percent: 5, reason: "r" },
      status: 422,
      code: "not_ready",
    },
    {
      why: "abort on an unknown agent",
      command: { kind: "canary.abort", agent: "nobody", reason: "r" },
      status: 404,
      code: "unknown_agent",
    },
    {
      why: "rollback of an unknown agent",
      command: { kind: "rollback", agent: "nobody", reason: "r" },
      status: 404,
      code: "unknown_agent",
    },
    {
      why: "rollback to an unknown release",
      command: { kind: "rollback", agent: "bot", to: "v9", reason: "r" },
      status: 404,
      code: "unknown_release",
    },
    {
      why: "rollback without a fallback",
      state: noPointers,
      command: { kind: "rollback", agent: "bot", reason: "r" },
      status: 409,
      code: "no_fallback",
    },
    {
      why: "rollback to off with nothing active",
      state: noPointers,
      command: { kind: "rollback", agent: "bot", to: "off", reason: "r" },
      status: 409,
      code: "nothing_active",
    },
    {
      why: "rollback to a draft that never served (a promote in disguise skips no gate)",
      command: { kind: "rollback", agent: "bot", to: "draft", reason: "r" },
      status: 422,
      code: "not_ready",
    },
    {
      why: "rollback to a fallback that is a draft and never served",
      state: stateOf({ ...LIVE, fallback: "draft" }),
      command: { kind: "rollback", agent: "bot", reason: "r" },
      status: 422,
      code: "not_ready",
    },
    {
      why: "other content under a stored version",
      command: { kind: "release.put", agent: "bot", version: "v1", manifest: ready("v1", "v2"), digest: "sha256:x" },
      status: 409,
      code: "release_exists",
    },
    {
      why: "override for an unknown agent",
      command: { kind: "override.add", id: "ovr_b", scope: { agent: "nobody" }, set: { mode: "off" }, reason: "r" },
      status: 404,
      code: "unknown_agent",
    },
    {
      why: "override for an unknown release",
      command: {
        kind: "override.add",
        id: "ovr_b",
        scope: { agent: "bot", release: "v9" },
        set: { mode: "off" },
        reason: "r",
      },
      status: 404,
      code: "unknown_release",
    },
    {
      why: "removing an unknown override",
      command: { kind: "override.remove", id: "ovr_zzz", reason: "r" },
      status: 404,
      code: "unknown_override",
    },
  ];

  it.each(rows)("$why → $status $code", ({ state, command, status, code }) => {
    const out = refused(apply(state ?? stateOf(), command, world("admin")));
    expect(out).toMatchObject({ ok: false, status, code });
    expect(out.message).toEqual(expect.any(String));
  });

  it("a 409 for other content names the digest that stays", () => {
    const out = refused(
      apply(
        stateOf(),
        { kind: "release.put", agent: "bot", version: "v1", manifest: ready("v1", "v2"), digest: "sha256:x" },
        world("releaser"),
      ),
    );
    expect(out.details).toEqual({ digest: "sha256:bot-v1" });
  });
});

describe("readiness gate", () => {
  const base = ready("cand", "v1");
  const rollout = base.rollout!;
  const rows: Array<{ missing: string; manifest: Manifest; digest?: string; expect: string[] }> = [
    { missing: "digest", manifest: base, digest: "", expect: ["digest"] },
    { missing: "fallback", manifest: { ...base, rollout: { ...rollout, fallback: undefined } }, expect: ["fallback"] },
    {
      missing: "fallback (names no release)",
      manifest: { ...base, rollout: { ...rollout, fallback: "v404" } },
      expect: ["fallback"],
    },
    {
      missing: "fallback (names itself)",
      manifest: { ...base, rollout: { ...rollout, fallback: "cand" } },
      expect: ["fallback"],
    },
    { missing: "owners", manifest: { ...base, rollout: { ...rollout, owners: [] } }, expect: ["owners"] },
    { missing: "triggers", manifest: { ...base, rollout: { ...rollout, triggers: undefined } }, expect: ["triggers"] },
    {
      missing: "userFallback",
      manifest: { ...base, rollout: { ...rollout, userFallback: undefined } },
      expect: ["userFallback"],
    },
    {
      missing: "all five",
      manifest: draft("cand"),
      digest: "",
      expect: ["digest", "fallback", "owners", "triggers", "userFallback"],
    },
  ];
  const key = (m: string) => m.split(":")[0]!.replace("rollout.", "");

  it.each(rows)("$missing → 422 naming exactly that", ({ manifest: m, digest, expect: gaps }) => {
    const r = { ...stored(m), ...(digest === undefined ? {} : { digest }) };
    const w = world("admin", [...RELEASES, r]);
    for (const command of [
      { kind: "promote", agent: "bot", version: "cand", reason: "r" },
      { kind: "canary.set", agent: "bot", version: "cand", percent: 1, reason: "r" },
    ] as const) {
      const out = refused(apply(stateOf(), command, w));
      expect(out).toMatchObject({ status: 422, code: "not_ready" });
      expect((out.details as { missing: string[] }).missing.map(key)).toEqual(gaps);
    }
  });

  it("a ready release passes", () => {
    const w = world("admin", [...RELEASES, stored(base)]);
    expect(applied(apply(stateOf(), { kind: "promote", agent: "bot", version: "cand", reason: "r" }, w)).changed).toBe(
      true,
    );
  });
});

describe("pointers each move leaves", () => {
  const OFF: Pointers = { active: "off", fallback: "off", canary: null, offFrom: "v2" };
  const rows: Array<{
    move: string;
    state?: ControlState;
    command: Command;
    after: Pointers;
    activated: string | null;
  }> = [
    {
      move: "promote the canary's version: canary cleared, fallback from its manifest",
      command: { kind: "promote", agent: "bot", version: "v3", reason: "r" },
      after: { active: "v3", fallback: "v1", canary: null, offFrom: null },
      activated: "v3",
    },
    {
      move: "promote another version: canary kept",
      command: { kind: "promote", agent: "bot", version: "old", reason: "r" },
      after: { active: "old", fallback: "off", canary: { version: "v3", percent: 10 }, offFrom: null },
      activated: "old",
    },
    {
      move: "promote while off: offFrom cleared",
      state: stateOf(OFF),
      command: { kind: "promote", agent: "bot", version: "v1", reason: "r" },
      after: { active: "v1", fallback: "off", canary: null, offFrom: null },
      activated: "v1",
    },
    {
      move: "raise the canary",
      command: { kind: "canary.set", agent: "bot", version: "v3", percent: 55.55, reason: "r" },
      after: { ...LIVE, canary: { version: "v3", percent: 55.55 } },
      activated: null,
    },
    {
      move: "replace the canary's version",
      command: { kind: "canary.set", agent: "bot", version: "fresh", percent: 1, reason: "r" },
      after: { ...LIVE, canary: { version: "fresh", percent: 1 } },
      activated: null,
    },
    {
      move: "abort the canary",
      command: { kind: "canary.abort", agent: "bot", reason: "r" },
      after: { ...LIVE, canary: null },
      activated: null,
    },
    {
      move: "roll back to the fallback",
      command: { kind: "rollback", agent: "bot", reason: "r" },
      after: { active: "v1", fallback: "off", canary: null, offFrom: null },
      activated: "v1",
    },
    {
      move: "roll back to a named release",
      command: { kind: "rollback", agent: "bot", to: "old", reason: "r" },
      after: { active: "old", fallback: "off", canary: null, offFrom: null },
      activated: "old",
    },
    {
      move: "roll back to off: the release rolled back from is kept for its user fallback",
      command: { kind: "rollback", agent: "bot", to: "off", reason: "r" },
      after: { active: "off", fallback: "v1", canary: null, offFrom: "v2" },
      activated: null,
    },
    {
      move: "roll back when the fallback is off",
      state: stateOf({ ...LIVE, fallback: "off" }),
      command: { kind: "rollback", agent: "bot", reason: "r" },
      after: { active: "off", fallback: "off", canary: null, offFrom: "v2" },
      activated: null,
    },
    {
      move: "roll back from off to a release",
      state: stateOf(OFF),
      command: { kind: "rollback", agent: "bot", to: "old", reason: "r" },
      after: { active: "old", fallback: "off", canary: null, offFrom: null },
      activated: "old",
    },
  ];

  it.each(rows)("$move", ({ state, command, after, activated }) => {
    const before = state ?? stateOf();
    const out = applied(apply(before, command, world("admin")));
    expect(out.changed).toBe(true);
    expect(out.state.revision).toBe(before.revision + 1);
    expect(out.state.agents.bot).toEqual(after);
    expect(out.state.overrides).toBe(before.overrides);
    expect(out.audit).toEqual({
      action: command.kind,
      agent: "bot",
      reason: "r",
      before: before.agents.bot,
      after,
    });
    const effects: unknown[] = [{ kind: "pointers", agent: "bot", pointers: after }];
    if (activated !== null) effects.push({ kind: "release.activated", agent: "bot", version: activated });
    expect(out.effects).toEqual(effects);
  });

  it("never mutates the state it was given", () => {
    const before = stateOf();
    const copy = structuredClone(before);
    apply(before, { kind: "promote", agent: "bot", version: "v3", reason: "r" }, world("admin"));
    apply(before, { kind: "override.remove", id: "ovr_a", reason: "r" }, world("admin"));
    expect(before).toEqual(copy);
  });
});

describe("what changes nothing", () => {
  const rows: Array<{ what: string; state?: ControlState; command: Command; result: Record<string, unknown> }> = [
    {
      what: "the same release content again",
      command: { kind: "release.put", agent: "bot", version: "v1", manifest: ready("v1"), digest: "sha256:bot-v1" },
      result: { digest: "sha256:bot-v1", unchanged: true },
    },
    {
      what: "aborting when no canary is set",
      state: stateOf({ ...LIVE, canary: null }),
      command: { kind: "canary.abort", agent: "bot", reason: "r" },
      result: { unchanged: true },
    },
    {
      what: "expiring overrides that are already gone",
      command: { kind: "override.expire", ids: ["ovr_gone"] },
      result: { unchanged: true },
    },
    {
      what: "promoting the active release (its canary kept, its fallback the same)",
      command: { kind: "promote", agent: "bot", version: "v2", reason: "r" },
      result: { unchanged: true },
    },
    {
      what: "promoting the active release with no canary",
      state: stateOf({ ...LIVE, canary: null }),
      command: { kind: "promote", agent: "bot", version: "v2", reason: "r" },
      result: { unchanged: true },
    },
    {
      what: "setting the canary to the percent it has",
      command: { kind: "canary.set", agent: "bot", version: "v3", percent: 10, reason: "r" },
      result: { unchanged: true },
    },
    {
      what: "rolling back to the active release when no canary is set",
      state: stateOf({ ...LIVE, canary: null }),
      command: { kind: "rollback", agent: "bot", to: "v2", reason: "r" },
      result: { unchanged: true },
    },
    {
      what: "rolling back to off again: still the user fallback of the release first rolled back from",
      state: stateOf({ active: "off", fallback: "off", canary: null, offFrom: "v2" }),
      command: { kind: "rollback", agent: "bot", reason: "r" },
      result: { unchanged: true },
    },
  ];

  it.each(rows)("$what", ({ state, command, result }) => {
    const before = state ?? stateOf();
    const out = applied(apply(before, command, world("admin")));
    expect(out).toEqual({ ok: true, changed: false, state: before, audit: null, effects: [], result });
  });
});

describe("storing releases", () => {
  it("the first release of an agent creates it with empty pointers", () => {
    const m = ready("v1", "off", "new-bot");
    const out = applied(
      apply(
        stateOf(),
        { kind: "release.put", agent: "new-bot", version: "v1", manifest: m, digest: "sha256:n" },
        world("releaser"),
      ),
    );
    expect(out.state.revision).toBe(11);
    expect(out.state.agents["new-bot"]).toEqual(NO_POINTERS);
    expect(out.state.agents.bot).toEqual(LIVE);
    expect(out.effects).toEqual([
      { kind: "release.insert", agent: "new-bot", version: "v1", manifest: m, digest: "sha256:n" },
      { kind: "pointers", agent: "new-bot", pointers: NO_POINTERS },
    ]);
    expect(out.audit).toEqual({
      action: "release.put",
      agent: "new-bot",
      reason: m.description,
      before: null,
      after: { version: "v1", digest: "sha256:n" },
    });
    expect(out.result).toEqual({ digest: "sha256:n" });
  });

  it("another release of a known agent leaves its pointers alone", () => {
    const m = ready("v9");
    const out = applied(
      apply(
        stateOf(),
        { kind: "release.put", agent: "bot", version: "v9", manifest: m, digest: "sha256:9" },
        world("releaser"),
      ),
    );
    expect(out.state.agents).toEqual(stateOf().agents);
    expect(out.effects).toEqual([
      { kind: "release.insert", agent: "bot", version: "v9", manifest: m, digest: "sha256:9" },
    ]);
  });
});

describe("overrides", () => {
  it("an added override records the actor, the time and its expiry", () => {
    const out = applied(
      apply(
        stateOf(),
        {
          kind: "override.add",
          id: "ovr_b",
          scope: { agent: "bot", release: "v2" },
          set: { disableTools: ["send_email"] },
          reason: "incident",
          ttlSeconds: 90,
        },
        world("operator"),
      ),
    );
    const added = {
      id: "ovr_b",
      scope: { agent: "bot", release: "v2" },
      set: { disableTools: ["send_email"] },
      reason: "incident",
      actor: "operator@test",
      createdAt: "2026-01-01T00:00:00.000Z",
      expiresAt: "2026-01-01T00:01:30.000Z",
    };
    expect(out.state.overrides).toEqual([OVR, added]);
    expect(out.state.revision).toBe(11);
    expect(out.effects).toEqual([{ kind: "override.insert", override: added }]);
    expect(out.audit).toEqual({ action: "override.add", agent: "bot", reason: "incident", before: null, after: added });
    expect(out.result).toEqual({ id: "ovr_b", expiresAt: "2026-01-01T00:01:30.000Z" });
  });

  it("an override without ttl never expires; one for every agent is audited without an agent", () => {
    const out = applied(
      apply(
        stateOf(),
        { kind: "override.add", id: "ovr_c", scope: { agent: "*" }, set: { mode: "off" }, reason: "r" },
        world("operator"),
      ),
    );
    expect(out.state.overrides[1]).not.toHaveProperty("expiresAt");
    expect(out.result).toEqual({ id: "ovr_c", expiresAt: null });
    expect(out.audit?.agent).toBeNull();
  });

  it("removing one keeps the others and audits what was removed", () => {
    const other = override("ovr_z", { agent: "*" }, { mode: "off" });
    const out = applied(
      apply(stateOf(LIVE, [OVR, other]), { kind: "override.remove", id: "ovr_a", reason: "done" }, world("releaser")),
    );
    expect(out.state.overrides).toEqual([other]);
    expect(out.effects).toEqual([{ kind: "override.delete", id: "ovr_a" }]);
    expect(out.audit).toEqual({ action: "override.remove", agent: "bot", reason: "done", before: OVR, after: null });
  });

  it("expiry removes exactly the listed overrides, in one audited revision", () => {
    const b = override("ovr_b", { agent: "*" }, { mode: "off" }, "2026-01-01T00:00:00.000Z");
    const c = override("ovr_c", { agent: "bot" }, { mode: "off" }, "2026-01-01T00:00:01.000Z");
    const out = applied(
      apply(
        stateOf(LIVE, [OVR, b, c]),
        { kind: "override.expire", ids: ["ovr_b", "ovr_gone"] },
        { ...world("operator"), actor: EXPIRY },
      ),
    );
    expect(out.state.overrides).toEqual([OVR, c]);
    expect(out.state.revision).toBe(11);
    expect(out.effects).toEqual([{ kind: "override.delete", id: "ovr_b" }]);
    expect(out.audit).toEqual({ action: "override.expire", agent: null, reason: "expired", before: [b], after: null });
  });
});

describe("expiredAt", () => {
  const at = (ms: number) => new Date(NOW + ms).toISOString();
  const rows: Array<[string, string | undefined, boolean]> = [
    ["expired a second ago", at(-1000), true],
    ["expiring exactly now", at(0), true],
    ["expiring in a millisecond", at(1), false],
    ["with no expiry", undefined, false],
  ];
  it.each(rows)("an override %s → expired: %s", (_what, expiresAt, expired) => {
    const s = stateOf(LIVE, [override("ovr_x", { agent: "*" }, { mode: "off" }, expiresAt)]);
    expect(expiredAt(s, NOW)).toEqual(expired ? ["ovr_x"] : []);
  });

  it("lists every expired override in state order", () => {
    const s = stateOf(LIVE, [
      override("ovr_1", { agent: "*" }, { mode: "off" }, at(-5)),
      override("ovr_2", { agent: "*" }, { mode: "off" }, at(5)),
      OVR,
      override("ovr_3", { agent: "*" }, { mode: "off" }, at(-1)),
    ]);
    expect(expiredAt(s, NOW)).toEqual(["ovr_1", "ovr_3"]);
  });
});

describe("buildPublication", () => {
  const digest = (agent: string, version: string) => world("viewer").release(agent, version)?.digest ?? null;

  it("publishes the digests of the releases the pointers name and the overrides still in force", () => {
    const live = override("ovr_live", { agent: "*" }, { mode: "draft-only" }, new Date(NOW + 1).toISOString());
    const gone = override("ovr_gone", { agent: "*" }, { mode: "off" }, new Date(NOW).toISOString());
    const p = buildPublication(stateOf(LIVE, [OVR, live, gone]), digest, NOW);
    expect(p.revision).toBe(10);
    expect(p.shards).toHaveLength(SHARD_COUNT);
    expect(p.shards.filter((x) => x !== null)).toHaveLength(1);
    const bot = p.shards[shardOf("bot")]?.agents.bot;
    expect(Object.keys(bot?.releases ?? {}).sort()).toEqual(["v1", "v2", "v3"]);
    expect(bot?.releases.v2).toBe(digest("bot", "v2"));
    expect(bot?.pointers).toEqual(LIVE);
    // Agent-scoped overrides travel with the agent's shard, `*` ones in the root; the expired one in neither.
    expect(bot?.overrides.map((o) => o.id)).toEqual(["ovr_a"]);
    expect(p.overrides.map((o) => o.id)).toEqual(["ovr_live"]);
  });

  it("reuses the shards whose agents did not change, and rebuilds the one that did", () => {
    const agents = Object.fromEntries(["a", "b", "c", "d", "e"].map((x) => [`agent-${x}`, LIVE]));
    const first: ControlState = { revision: 1, agents, overrides: [OVR], plans: {} };
    const p1 = buildPublication(first, () => "sha256:d", NOW);
    const moved = { ...LIVE, canary: { version: "v3", percent: 20 } };
    const p2 = buildPublication(
      { ...first, revision: 2, agents: { ...agents, "agent-c": moved } },
      () => "sha256:d",
      NOW,
      p1,
    );
    const changed = shardOf("agent-c");
    p2.shards.forEach((shard, i) => {
      if (i === changed) expect(shard).not.toBe(p1.shards[i]);
      else expect(shard).toBe(p1.shards[i]);
    });
    expect(p2.shards[changed]?.agents["agent-c"]?.pointers.canary?.percent).toBe(20);
    // An override expiring changes its agent's shard too (it is left out from then on).
    const expiring = override("ovr_x", { agent: "agent-a" }, { mode: "off" }, new Date(NOW + 10).toISOString());
    const p3 = buildPublication({ ...first, overrides: [expiring] }, () => "sha256:d", NOW);
    const p4 = buildPublication({ ...first, overrides: [expiring] }, () => "sha256:d", NOW + 10, p3);
    expect(p4.shards[shardOf("agent-a")]).not.toBe(p3.shards[shardOf("agent-a")]);
    expect(p4.shards[shardOf("agent-a")]?.agents["agent-a"]?.overrides).toEqual([]);
  });

  it("an agent rolled back to off publishes the release it rolled back from", () => {
    const p = buildPublication(stateOf({ active: "off", fallback: "off", canary: null, offFrom: "v2" }), digest, NOW);
    expect(Object.keys(p.shards[shardOf("bot")]?.agents.bot?.releases ?? {})).toEqual(["v2"]);
  });
});
