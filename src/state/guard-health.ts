/**
 * The answer of `GET /admin/v1/agents/{agent}/health`, built from the pure evaluation: per live release, each
 * trigger's window, requests, failures and rates by class, and its state; then the guard's recent actions and
 * the operators' recent signals. Times are ISO-8601.
 */
import type { GuardView, Marker, TriggerStatus } from "../control/guard";
import { ratesOf } from "../control/guard-window";
import type { Trigger } from "../release/schema";
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
  };
}
