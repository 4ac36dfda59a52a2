/**
 * apply(state, command, world) → the next state with its audit entry and storage effects, or a refusal.
 *
 * Pure: the clock, the actor and the release store come in through `world`, so every rule here is a plain
 * function call in a test. Roles are checked here because some depend on the state: lowering a canary is a
 * safer move (operator), raising it or starting a new one is riskier (releaser); rolling back to a release that
 * has served before is safer, "rolling back" to one that never served is a promote in disguise (releaser, and the
 * readiness gate like any promote).
 */
import { own } from "../release/own";
import { readinessGaps } from "../release/readiness";
import type { Pointers } from "../routing/snapshot";
import type { Command } from "./commands";
import { checkOverride, checkRelease } from "./limits";
import {
  type Applied,
  type ControlState,
  type Effect,
  NO_POINTERS,
  type Outcome,
  type Refusal,
  type World,
} from "./model";
import { atLeast, type Role } from "./roles";

const refuse = (status: Refusal["status"], code: string, message: string, details?: unknown): Refusal => ({
  ok: false,
  status,
  code,
  message,
  ...(details === undefined ? {} : { details }),
});

const forbidden = (need: Role, what: string): Refusal =>
  refuse(403, "forbidden", `${what} needs the role ${need} or higher`, { requiredRole: need });

function unchanged(state: ControlState, result: Record<string, unknown> = {}): Applied {
  return { ok: true, changed: false, state, audit: null, effects: [], result: { ...result, unchanged: true } };
}

const samePointers = (a: Pointers, b: Pointers): boolean =>
  a.active === b.active &&
  a.fallback === b.fallback &&
  a.offFrom === b.offFrom &&
  a.canary?.version === b.canary?.version &&
  a.canary?.percent === b.canary?.percent;

function withPointers(
  state: ControlState,
  agent: string,
  action: string,
  reason: string,
  next: Pointers,
  extra: Effect[] = [],
): Applied {
  const before = own(state.agents, agent) ?? NO_POINTERS;
  // A move that leaves every pointer as it was (promoting the active release, rolling back to "off" again,
  // setting the canary's own percent) is no change: no revision, no audit entry, nothing to publish.
  if (samePointers(before, next)) return unchanged(state);
  return {
    ok: true,
    changed: true,
    state: { ...state, revision: state.revision + 1, agents: { ...state.agents, [agent]: next } },
    audit: { action, agent, reason, before, after: next },
    effects: [{ kind: "pointers", agent, pointers: next }, ...extra],
    result: {},
  };
}

/** The release must exist and answer the five readiness questions (§4.3) before going live. */
function gate(world: World, agent: string, version: string): Refusal | null {
  const r = world.release(agent, version);
  if (r === null) return refuse(404, "unknown_release", `no release ${agent}@${version}`);
  const missing = readinessGaps({
    manifest: r.manifest,
    digest: r.digest,
    releaseExists: (v) => world.release(agent, v) !== null,
  });
  if (missing.length > 0) return refuse(422, "not_ready", `${agent}@${version} is not ready to go live`, { missing });
  return null;
}

export function apply(state: ControlState, command: Command, world: World): Outcome {
  const role = world.actor.role;
  const need = (r: Role, what: string): Refusal | null => (atLeast(role, r) ? null : forbidden(r, what));
  const known = (agent: string): Refusal | null =>
    own(state.agents, agent) === undefined ? refuse(404, "unknown_agent", `no agent ${agent}`) : null;

  switch (command.kind) {
    case "release.put": {
      const denied = need("releaser", "storing a release");
      if (denied) return denied;
      const existing = world.release(command.agent, command.version);
      if (existing !== null) {
        if (existing.digest === command.digest) return unchanged(state, { digest: existing.digest });
        return refuse(409, "release_exists", `${command.agent}@${command.version} already holds other content`, {
          digest: existing.digest,
        });
      }
      const isNew = own(state.agents, command.agent) === undefined;
      const overLimit = checkRelease(command.manifest, {
        agents: Object.keys(state.agents).length,
        newAgent: isNew,
        releasesOfAgent: isNew ? 0 : world.releaseCount(command.agent),
        storedBytes: world.storedBytes(),
      });
      if (overLimit) return overLimit;
      return {
        ok: true,
        changed: true,
        state: {
          ...state,
          revision: state.revision + 1,
          agents: isNew ? { ...state.agents, [command.agent]: NO_POINTERS } : state.agents,
        },
        audit: {
          action: command.kind,
          agent: command.agent,
          reason: command.manifest.description ?? "release stored",
          before: null,
          after: { version: command.version, digest: command.digest },
        },
        effects: [
          {
            kind: "release.insert",
            agent: command.agent,
            version: command.version,
            manifest: command.manifest,
            digest: command.digest,
          },
          ...(isNew ? [{ kind: "pointers" as const, agent: command.agent, pointers: NO_POINTERS }] : []),
        ],
        result: { digest: command.digest },
      };
    }

    case "promote": {
      const refused =
        need("releaser", "promote") ?? known(command.agent) ?? gate(world, command.agent, command.version);
      if (refused) return refused;
      const p = own(state.agents, command.agent) as Pointers;
      const r = world.release(command.agent, command.version)!;
      const next: Pointers = {
        active: command.version,
        fallback: r.manifest.rollout?.fallback ?? null,
        canary: p.canary?.version === command.version ? null : p.canary,
        offFrom: null,
      };
      return withPointers(state, command.agent, command.kind, command.reason, next, [
        { kind: "release.activated", agent: command.agent, version: command.version },
      ]);
    }

    case "canary.set": {
      const refused = known(command.agent) ?? gate(world, command.agent, command.version);
      if (refused) return refused;
      const p = own(state.agents, command.agent) as Pointers;
      if (p.active === command.version) {
        return refuse(409, "already_active", `${command.version} is already the active release`);
      }
      const lowering = p.canary?.version === command.version && command.percent <= p.canary.percent;
      const denied = lowering
        ? need("operator", "lowering a canary")
        : need("releaser", "starting or raising a canary");
      if (denied) return denied;
      const next: Pointers = { ...p, canary: { version: command.version, percent: command.percent } };
      return withPointers(state, command.agent, command.kind, command.reason, next);
    }

    case "canary.abort": {
      const refused = need("operator", "aborting a canary") ?? known(command.agent);
      if (refused) return refused;
      const p = own(state.agents, command.agent) as Pointers;
      if (p.canary === null) return unchanged(state);
      return withPointers(state, command.agent, command.kind, command.reason, { ...p, canary: null });
    }

    case "rollback": {
      const refused = need("operator", "rollback") ?? known(command.agent);
      if (refused) return refused;
      const p = own(state.agents, command.agent) as Pointers;
      const target = command.to ?? p.fallback;
      if (target === null) {
        return refuse(409, "no_fallback", `${command.agent} has no fallback; name one with "to"`);
      }
      if (target === "off") {
        const from = p.active === "off" ? p.offFrom : p.active;
        if (from === null)
          return refuse(409, "nothing_active", `${command.agent} has no active release to roll back from`);
        const next: Pointers = { active: "off", fallback: p.fallback, canary: null, offFrom: from };
        return withPointers(state, command.agent, command.kind, command.reason, next);
      }
      const r = world.release(command.agent, target);
      if (r === null) return refuse(404, "unknown_release", `no release ${command.agent}@${target}`);
      if (!r.everActive) {
        // A release that never served has never passed the readiness gate as a live release: it must now (§1.1).
        const denied =
          target === p.fallback ? null : need("releaser", `rolling back to ${target}, which has never served,`);
        const notReady = denied ?? gate(world, command.agent, target);
        if (notReady) return notReady;
      }
      const next: Pointers = {
        active: target,
        fallback: r.manifest.rollout?.fallback ?? null,
        canary: null,
        offFrom: null,
      };
      return withPointers(state, command.agent, command.kind, command.reason, next, [
        { kind: "release.activated", agent: command.agent, version: target },
      ]);
    }

    case "override.add": {
      const refused = need("operator", "adding an override");
      if (refused) return refused;
      const { scope } = command;
      if (scope.agent !== "*") {
        const unknown = known(scope.agent);
        if (unknown) return unknown;
        if (scope.release !== undefined && world.release(scope.agent, scope.release) === null) {
          return refuse(404, "unknown_release", `no release ${scope.agent}@${scope.release}`);
        }
      }
      const override = {
        id: command.id,
        scope,
        set: command.set,
        reason: command.reason,
        actor: world.actor.name,
        createdAt: new Date(world.now).toISOString(),
        ...(command.ttlSeconds === undefined
          ? {}
          : { expiresAt: new Date(world.now + command.ttlSeconds * 1000).toISOString() }),
      };
      const overLimit = checkOverride(override, state.overrides.length - expiredAt(state, world.now).length);
      if (overLimit) return overLimit;
      return {
        ok: true,
        changed: true,
        state: { ...state, revision: state.revision + 1, overrides: [...state.overrides, override] },
        audit: {
          action: command.kind,
          agent: scope.agent === "*" ? null : scope.agent,
          reason: command.reason,
          before: null,
          after: override,
        },
        effects: [{ kind: "override.insert", override }],
        result: { id: override.id, expiresAt: override.expiresAt ?? null },
      };
    }

    case "override.remove": {
      const refused = need("releaser", "removing an override");
      if (refused) return refused;
      const existing = state.overrides.find((o) => o.id === command.id);
      if (existing === undefined) return refuse(404, "unknown_override", `no override ${command.id}`);
      return {
        ok: true,
        changed: true,
        state: {
          ...state,
          revision: state.revision + 1,
          overrides: state.overrides.filter((o) => o.id !== command.id),
        },
        audit: {
          action: command.kind,
          agent: existing.scope.agent === "*" ? null : existing.scope.agent,
          reason: command.reason,
          before: existing,
          after: null,
        },
        effects: [{ kind: "override.delete", id: command.id }],
        result: {},
      };
    }

    case "override.expire": {
      const gone = state.overrides.filter((o) => command.ids.includes(o.id));
      if (gone.length === 0) return unchanged(state);
      return {
        ok: true,
        changed: true,
        state: {
          ...state,
          revision: state.revision + 1,
          overrides: state.overrides.filter((o) => !command.ids.includes(o.id)),
        },
        audit: { action: command.kind, agent: null, reason: "expired", before: gone, after: null },
        effects: gone.map((o) => ({ kind: "override.delete" as const, id: o.id })),
        result: {},
      };
    }
  }
}

/** Overrides whose expiry has passed at `now`: to be removed by the expiry actor. */
export const expiredAt = (state: ControlState, now: number): string[] =>
  state.overrides.filter((o) => o.expiresAt !== undefined && Date.parse(o.expiresAt) <= now).map((o) => o.id);
