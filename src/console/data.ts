/**
 * What the console pages show, read through the same control-plane and guard calls as the admin API (and the
 * same `loadTimeline`), so a page and a script can never disagree. Reads only; actions are in actions.ts.
 */
import { control } from "../admin/respond";
import { loadTimeline, RATE_STEP_S, type TimelineAnswer } from "../admin/timeline-route";
import type { StoredRelease } from "../control/model";
import { type Actor, mayActOn } from "../control/roles";
import type { Bindings } from "../env";
import { own } from "../release/own";
import type { PlanState } from "../rollout/plan";
import { type ClassSeries, rateSeries } from "../rollout/rate-series";
import type { Override } from "../routing/override";
import type { Pointers } from "../routing/snapshot";
import type { ReleaseSummary } from "../state/control-store";
import type { GuardHealth } from "../state/guard-health";
import { guardOf } from "../state/guard-object";

/** The chart's span: the guard keeps at least this much. */
export const CHART_SPAN_MS = 10 * 60_000;

export type HealthMark = "ok" | "warn" | "breached" | "quiet" | "unknown";

export interface FleetRow {
  agent: string;
  pointers: Pointers;
  plan: PlanState | null;
  overrides: Override[];
  mark: HealthMark;
  note: string;
}

const appliesTo = (o: Override, agent: string): boolean => o.scope.agent === "*" || o.scope.agent === agent;

/** One word for an agent's health: any trigger breached or acted on, close to it, fine, or no traffic. */
export function markOf(h: GuardHealth | null): { mark: HealthMark; note: string } {
  if (h === null) return { mark: "unknown", note: "the guard did not answer" };
  const triggers = h.releases.flatMap((r) => r.triggers.map((t) => ({ ...t, release: r.version })));
  const hot = triggers.find((t) => t.state === "breached" || t.state === "acted");
  if (hot) return { mark: "breached", note: `${hot.release}: ${hot.trigger.failureClass} ${hot.state}` };
  const near = triggers.find((t) => t.rate !== null && t.rate > t.trigger.maxRate / 2);
  if (near) return { mark: "warn", note: `${near.release}: ${near.trigger.failureClass} above half its threshold` };
  if (triggers.every((t) => t.requests === 0)) return { mark: "quiet", note: "no traffic in the trigger windows" };
  return { mark: "ok", note: "every trigger within its threshold" };
}

export async function fleet(env: Bindings, actor: Actor): Promise<{ revision: number; rows: FleetRow[]; at: number }> {
  const s = await control(env).current();
  const agents = Object.keys(s.agents)
    .filter((a) => mayActOn(actor, a))
    .sort();
  const rows = await Promise.all(
    agents.map(async (agent) => {
      const health = await guardOf(env, agent)
        .health(agent)
        .catch(() => null);
      return {
        agent,
        pointers: s.agents[agent] as Pointers,
        plan: own(s.plans, agent) ?? null,
        overrides: s.overrides.filter((o) => appliesTo(o, agent)),
        ...markOf(health),
      };
    }),
  );
  return { revision: s.revision, rows, at: Date.now() };
}

export interface ChartRelease {
  version: string;
  role: string | null;
  series: ClassSeries[];
}

export interface AgentPage {
  agent: string;
  at: number;
  revision: number;
  pointers: Pointers;
  plan: PlanState | null;
  overrides: Override[];
  releases: ReleaseSummary[];
  active: StoredRelease | null;
  canary: StoredRelease | null;
  health: GuardHealth | null;
  charts: ChartRelease[];
  timeline: TimelineAnswer;
}

export async function agentPage(env: Bindings, agent: string): Promise<AgentPage | null> {
  const cp = control(env);
  const [s, releases] = await Promise.all([cp.current(), cp.releases(agent)]);
  const pointers = own(s.agents, agent);
  if (pointers === undefined || releases === null) return null;
  const activeVersion = pointers.active === "off" ? pointers.offFrom : pointers.active;
  const guard = guardOf(env, agent);
  const now = Date.now();
  const [active, canary, health, history, timeline] = await Promise.all([
    activeVersion === null ? null : cp.release(agent, activeVersion),
    pointers.canary === null ? null : cp.release(agent, pointers.canary.version),
    guard.health(agent).catch(() => null),
    guard.history(agent, now - CHART_SPAN_MS - 600_000).catch(() => null),
    loadTimeline(env, agent, { since: now - 3600_000, limit: 200 }),
  ]);
  const step = RATE_STEP_S * 1000;
  const from = Math.floor((now - CHART_SPAN_MS) / step) * step;
  const charts = (history?.releases ?? [])
    .filter((r) => r.role !== null || r.seconds.some((x) => x.second * 1000 > from))
    .map((r) => ({
      version: r.version,
      role: r.role,
      // One step past now: the step in progress is drawn too.
      series: rateSeries(r.seconds, r.triggers, { from, to: now + step, stepSeconds: RATE_STEP_S }),
    }));
  return {
    agent,
    at: now,
    revision: s.revision,
    pointers,
    plan: own(s.plans, agent) ?? null,
    overrides: s.overrides.filter((o) => appliesTo(o, agent)),
    releases,
    active,
    canary,
    health,
    charts,
    timeline,
  };
}
