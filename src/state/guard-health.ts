/**
 * The answer of `GET /admin/v1/agents/{agent}/health`, built from the pure evaluation: per live release, each
 * trigger's window, requests, failures and rates by class, and its state; then the guard's recent actions and
 * the operators' recent signals. Times are ISO-8601.
 */

import type { Trigger } from "../release/schema";
import type { PlanView } from "../rollout/plan";
import type { SecondCounts } from "../rollout/rate-series";
import type { GuardView, Marker, TriggerStatus } from "../rollout/triggers";
import { type Buckets, ratesOf } from "../rollout/window";
import type { SignalRecord } from "./guard-store";

const iso = (ms: number): string => new Date(ms).toISOString();

export interface TriggerHealth {
  index: number;
  trigger: Trigger;
  /** The seconds counted: the trigger's window, cut short after the guard last acted on it. */
  window: { from: string; to: string; seconds: number };
  requests: number;
  failures: Record<string, number>;
  rates: Record<string, number | null>;
  /** The rate of the trigger's own failure class. */
  rate: number | null;
  state: TriggerStatus["state"];
  actedAt: string | null;
  overrideId: string | null;
  note: string;
}

export interface GuardHealth {
  agent: string;
  at: string;
  revision: number;
  releases: Array<{ version: string; role: string; digest: string; triggers: TriggerHealth[] }>;
  actions: Array<Omit<Marker, "at"> & { at: string }>;
  signals: Array<Omit<SignalRecord, "at"> & { at: string }>;
  /** The canary's release plan, when it has one (docs/plans.md). */
  plan: PlanView | null;
}

function triggerHealth(s: TriggerStatus): TriggerHealth {
  return {
    index: s.index,
    trigger: s.trigger,
    // The span holds the seconds from < s <= to: it starts when second `from` ends.
    window: { from: iso((s.span.from + 1) * 1000), to: iso((s.span.to + 1) * 1000), seconds: s.span.to - s.span.from },
    requests: s.counts.served,
    failures: s.counts.failures,
    rates: ratesOf(s.counts),
    rate: s.rate,
    state: s.state,
    actedAt: s.actedAt === null ? null : iso(s.actedAt),
    overrideId: s.overrideId,
    note: s.note,
  };
}

export function healthOf(
  view: GuardView,
  statuses: readonly TriggerStatus[],
  markers: readonly Marker[],
  signals: readonly SignalRecord[],
  now: number,
  plan: PlanView | null,
): GuardHealth {
  return {
    agent: view.agent,
    at: iso(now),
    revision: view.revision,
    releases: view.live.map((r) => ({
      version: r.version,
      role: r.role,
      digest: r.digest,
      triggers: statuses.filter((s) => s.release === r.version).map(triggerHealth),
    })),
    actions: [...markers]
      .sort((a, b) => b.at - a.at)
      .slice(0, 20)
      .map((m) => ({ ...m, at: iso(m.at) })),
    signals: signals.map((s) => ({ ...s, at: iso(s.at) })),
    plan,
  };
}

/** The guard's raw history for the timeline and the chart: counts per second from `from` on, and its markers. */
export interface GuardHistory {
  agent: string;
  now: number;
  /** ms since the epoch: the oldest second the guard still holds (it keeps at least its longest window). */
  heldFrom: number | null;
  releases: Array<{ version: string; role: string | null; triggers: Trigger[]; seconds: SecondCounts[] }>;
  markers: Marker[];
}

export function historyOf(
  view: GuardView,
  buckets: ReadonlyMap<string, Buckets>,
  triggersOf: (release: string) => readonly Trigger[],
  markers: readonly Marker[],
  fromSecond: number,
  now: number,
): GuardHistory {
  let held: number | null = null;
  const releases: GuardHistory["releases"] = [];
  const versions = new Set([...view.live.map((r) => r.version), ...buckets.keys()]);
  for (const version of versions) {
    const seconds: SecondCounts[] = [];
    for (const [second, c] of buckets.get(version) ?? []) {
      held = held === null ? second : Math.min(held, second);
      if (second >= fromSecond) seconds.push({ second, served: c.served, failures: { ...c.failures } });
    }
    seconds.sort((a, b) => a.second - b.second);
    const role = view.live.find((r) => r.version === version)?.role ?? null;
    releases.push({ version, role, triggers: [...triggersOf(version)], seconds });
  }
  return { agent: view.agent, now, heldFrom: held === null ? null : held * 1000, releases, markers: [...markers] };
}
