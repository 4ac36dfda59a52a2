/**
 * Guarded rollout (CONTRACT §4.4): which `rollout.triggers` of the live releases are breached, and which
 * action to take for each — as the same commands an operator would send, applied by the actor `guard`.
 *
 * Pure: the live releases, the overrides in force, the counts and the guard's own markers come in, a verdict
 * per trigger and a list of planned commands go out. The Durable Object that calls this re-evaluates against
 * a fresh view before each command and commits it with If-Match, so a plan made on stale state never lands.
 *
 * "Once, and not again while its effect stands" (docs/guard.md):
 * - Counting for a trigger restarts after the guard acts on it, and again when the guard first sees the effect
 *   gone (the canary restarted, the override removed): the failures behind one action can never cause a second,
 *   and a release an operator put back starts from a clean slate.
 * - `abort-canary` acts only while the release is the canary; on the active release it does not apply.
 * - `rollback` on the active release rolls the agent back to its fallback; on the canary it aborts the canary,
 *   which takes that release out of service without touching the stable one (rolling back the active release
 *   for a canary's failures would punish the wrong release).
 * - `{ set }` lays an override scoped to the release; it stands while that override is in force.
 */

import { GUARD } from "../control/roles";
import type { OverrideSet, Trigger } from "../release/schema";
import { type Buckets, type Counts, rateOf, type Span, spanOf, sumSpan } from "./window";

export type LiveRole = "active" | "canary";

export interface LiveRelease {
  version: string;
  digest: string;
  role: LiveRole;
  triggers: readonly Trigger[];
}

/** The parts of an override the guard looks at. */
export interface GuardOverride {
  id: string;
  actor: string;
  scope: { agent: string; release?: string | undefined };
  reason: string;
}

/** The control plane's state as the guard of one agent sees it. */
export interface GuardView {
  agent: string;
  revision: number;
  /** The canary first, then the active release. */
  live: readonly LiveRelease[];
  /** Overrides in force (expired ones already left out). */
  overrides: readonly GuardOverride[];
}

export type GuardCommand =
  | { kind: "canary.abort"; agent: string; reason: string }
  | { kind: "rollback"; agent: string; reason: string }
  | {
      kind: "override.add";
      scope: { agent: string; release: string };
      set: OverrideSet;
      reason: string;
      /** A canary's trigger: the breach also stops the canary's plan (§4.4). */
      stopsPlan?: boolean;
    };

/** What the guard last did for one trigger of one release. */
export interface Marker {
  release: string;
  trigger: number;
  at: number;
  command: GuardCommand["kind"];
  outcome: "acted" | "refused";
  overrideId: string | null;
  revision: number | null;
  /** The reason sent with the command, or the refusal's message. */
  detail: string;
  /** When the guard first saw the action's effect gone (canary restarted, override removed); counting restarts. */
  endedAt: number | null;
}

export type TriggerState = "ok" | "insufficient" | "breached" | "acted" | "inapplicable";

export interface TriggerStatus {
  release: string;
  role: LiveRole;
  index: number;
  trigger: Trigger;
  span: Span;
  counts: Counts;
  /** The trigger's class rate over the span; null when nothing was served. */
  rate: number | null;
  state: TriggerState;
  actedAt: number | null;
  overrideId: string | null;
  note: string;
}

export interface Planned {
  release: string;
  trigger: number;
  command: GuardCommand;
}

/** A refused command (e.g. no fallback to roll back to) is tried again after this long, not every second. */
export const REFUSAL_RETRY_MS = 60_000;

/** The tag that opens the reason of every guard command: names the release and trigger in the audit log. */
export const tagOf = (release: string, index: number): string => `guard[${release}#${index}]`;

const pct = (r: number): string => `${(r * 100).toFixed(2)} %`;

function commandKind(role: LiveRole, action: Trigger["action"]): GuardCommand["kind"] | null {
  if (action === "abort-canary") return role === "canary" ? "canary.abort" : null;
  if (action === "rollback") return role === "canary" ? "canary.abort" : "rollback";
  return "override.add";
}

function command(agent: string, r: LiveRelease, t: Trigger, kind: GuardCommand["kind"], reason: string): GuardCommand {
  if (kind !== "override.add") return { kind, agent, reason };
  const set = (t.action as { set: OverrideSet }).set;
  return {
    kind,
    scope: { agent, release: r.version },
    set,
    reason,
    ...(r.role === "canary" ? { stopsPlan: true } : {}),
  };
}

/** Whether the override a `{ set }` trigger laid is still in force. */
function overrideStanding(view: GuardView, r: LiveRelease, index: number, marker: Marker | undefined): string | null {
  const tag = tagOf(r.version, index);
  const o = view.overrides.find(
    (o) =>
      (marker?.overrideId != null && o.id === marker.overrideId) ||
      (o.actor === GUARD.name &&
        o.scope.agent === view.agent &&
        o.scope.release === r.version &&
        o.reason.startsWith(tag)),
  );
  return o?.id ?? null;
}

export interface EvaluateInput {
  view: GuardView;
  buckets: (release: string) => Buckets | undefined;
  marker: (release: string, index: number) => Marker | undefined;
  now: number;
}

/** One trigger's verdict, and the command to send when it is breached and may act. */
function judge(
  view: GuardView,
  r: LiveRelease,
  index: number,
  input: EvaluateInput,
): { status: TriggerStatus; command: GuardCommand | null; ended: boolean } {
  const t = r.triggers[index] as Trigger;
  const m = input.marker(r.version, index);
  const kind = commandKind(r.role, t.action);
  const standing = kind === "override.add" ? overrideStanding(view, r, index, m) : null;
  const acted = m?.outcome === "acted" ? m : undefined;
  // The effect is gone once the release is back in a role the action applies to and no override of it stands.
  const ended = acted !== undefined && acted.endedAt === null && kind !== null && standing === null;
  const since = acted === undefined ? null : Math.max(acted.at, ended ? input.now : (acted.endedAt ?? acted.at));
  const span = spanOf(input.now, t.windowSeconds, since);
  const counts = sumSpan(input.buckets(r.version), span);
  const raw = rateOf(counts, t.failureClass);
  const base = {
    release: r.version,
    role: r.role,
    index,
    trigger: t,
    span,
    counts,
    rate: Number.isFinite(raw) ? raw : null,
    actedAt: acted?.at ?? null,
    overrideId: standing ?? m?.overrideId ?? null,
  };
  const verdict = (state: TriggerState, note: string, command: GuardCommand | null = null) => ({
    status: { ...base, state, note },
    command,
    ended,
  });

  if (kind === null) return verdict("inapplicable", "abort-canary acts only while this release is the canary");
  if (standing !== null) return verdict("acted", `override ${standing} in force`);
  const sinceNote =
    since === null ? "" : ` (counted from ${new Date(since).toISOString()}: the guard acted on it before)`;
  if (counts.served < t.minRequests) {
    return verdict("insufficient", `${counts.served} of ${t.minRequests} requests needed for a verdict${sinceNote}`);
  }
  const failed = counts.failures[t.failureClass] ?? 0;
  const finding = `${t.failureClass} at ${pct(raw)} (${failed} of ${counts.served} requests) over the last ${t.windowSeconds} s${sinceNote}`;
  if (raw <= t.maxRate) return verdict("ok", `${finding}, within maxRate ${pct(t.maxRate)}`);
  if (m?.outcome === "refused" && input.now - m.at < REFUSAL_RETRY_MS) {
    return verdict("breached", `${finding}; the last attempt was refused: ${m.detail}`);
  }
  const action = typeof t.action === "string" ? t.action : `set ${JSON.stringify(t.action.set)}`;
  const reason =
    `${tagOf(r.version, index)}: ${finding} exceeds maxRate ${pct(t.maxRate)} ` +
    `(minRequests ${t.minRequests}) on the ${r.role} release ${r.version}; action ${action}`;
  return verdict(
    "breached",
    `${finding} exceeds maxRate ${pct(t.maxRate)}; acting: ${kind}`,
    command(view.agent, r, t, kind, reason),
  );
}

export interface Evaluation {
  statuses: TriggerStatus[];
  /** Commands to send, in order: the canary's first. */
  planned: Planned[];
  /** Markers whose effect was first seen gone at `now`: the caller records `endedAt`. */
  ended: Array<{ release: string; trigger: number }>;
}

export function evaluate(input: EvaluateInput): Evaluation {
  const out: Evaluation = { statuses: [], planned: [], ended: [] };
  for (const r of input.view.live) {
    for (let index = 0; index < r.triggers.length; index++) {
      const { status, command, ended } = judge(input.view, r, index, input);
      out.statuses.push(status);
      if (command !== null) out.planned.push({ release: r.version, trigger: index, command });
      if (ended) out.ended.push({ release: r.version, trigger: index });
    }
  }
  return out;
}

/** The longest window of any live trigger: how long the guard must keep buckets. */
export const longestWindow = (view: GuardView): number =>
  Math.max(0, ...view.live.flatMap((r) => r.triggers.map((t) => t.windowSeconds)));
