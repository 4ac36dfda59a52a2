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
import { startPlan } from "../rollout/plan";
import type { Pointers } from "../routing/snapshot";
import { applyPlanCommand } from "./apply-plan";
import type { Command } from "./commands";
import { checkOverride, checkRelease } from "./limits";
import { type ControlState, NO_POINTERS, type Outcome, type Refusal, type World } from "./model";
import { forbidden, gate, refuse, unchanged, withPlan, withPointers } from "./outcome";
import { atLeast, type Role } from "./roles";
import { outOfScope } from "./scope";

export function apply(state: ControlState, command: Command, world: World): Outcome {
  const scoped = outOfScope(world.actor, state, command);
  if (scoped) return scoped;
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
          // The pusher's reason (`?reason=`) when given, else the manifest's description.
          reason: command.reason ?? command.manifest.description ?? "release stored",
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
      // A canary started for a release with a plan begins at the plan's first step (§4.4).
      const plan = world.release(command.agent, command.version)?.manifest.rollout?.plan;
      const starting = p.canary?.version !== command.version;
      const first = plan?.steps[0]?.percent;
      if (starting && first !== undefined && command.percent !== undefined && command.percent !== first) {
        return refuse(
          409,
          "plan_start",
          `${command.version} has a plan that starts at ${first} %: send that percent, or none`,
          {
            percent: first,
          },
        );
      }
      const percent = command.percent ?? (starting ? first : undefined);
      if (percent === undefined) {
        return refuse(
          400,
          "invalid_request",
          "percent is required (only a canary started for a release with a plan may leave it out)",
          {
            problems: [{ path: "percent", message: "required" }],
          },
        );
      }
      const lowering = p.canary?.version === command.version && percent <= p.canary.percent;
      const denied = lowering
        ? need("operator", "lowering a canary")
        : need("releaser", "starting or raising a canary");
      if (denied) return denied;
      const next: Pointers = { ...p, canary: { version: command.version, percent } };
      const held = own(state.plans, command.agent) ?? null;
      // Moving a running plan's canary by hand pauses the plan: a person has taken the wheel.
      const afterPlan = starting
        ? plan === undefined
          ? null
          : startPlan(command.version, world.now)
        : held?.status === "running" && percent !== p.canary?.percent
          ? {
              ...held,
              status: "paused" as const,
              note: `${world.actor.name} set the percent by hand to ${percent} %: ${command.reason}`,
            }
          : held;
      return withPointers(state, command.agent, command.kind, command.reason, next, [], afterPlan);
    }

    case "canary.pause":
    case "canary.resume":
    case "plan.advance":
      return applyPlanCommand(state, command, world);

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
      // A canary trigger's breach stops that canary's plan in the same change (§4.4).
      const plan = scope.agent === "*" ? undefined : own(state.plans, scope.agent);
      const stop = command.stopsPlan === true && plan?.status === "running" && plan.version === scope.release;
      const [next, planEffect] = stop
        ? withPlan(state, scope.agent, { ...plan, status: "stopped", note: `breach: ${command.reason}` })
        : [state, null];
      return {
        ok: true,
        changed: true,
        state: { ...next, revision: state.revision + 1, overrides: [...state.overrides, override] },
        audit: {
          action: command.kind,
          agent: scope.agent === "*" ? null : scope.agent,
          reason: command.reason,
          before: null,
          after: override,
        },
        effects:
          planEffect === null
            ? [{ kind: "override.insert", override }]
            : [{ kind: "override.insert", override }, planEffect],
        result: { id: override.id, expiresAt: override.expiresAt ?? null, ...(stop ? { planStopped: true } : {}) },
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
