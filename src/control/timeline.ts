/**
 * One agent's timeline (CONTRACT §4.2 `timeline`): what changed, in time order, for "what changed between the
 * good and the bad state". Three sources are merged: the audit log (operators, the guard's actions and plan
 * steps, expiry), the guard's own records of what the audit cannot hold (a refused action, an effect it saw
 * end), and the failure-rate changes of src/rollout/rate-series.ts. Each item carries its field-level diff.
 *
 * Items are ordered by (time, source rank, id), oldest first; a page ends with a cursor naming its last item,
 * and the next page starts strictly after it, so paging never repeats or skips an item. Pure.
 */
import { type Change, diffValues } from "../release/diff";
import type { RateChange } from "../rollout/rate-series";

/** An audit entry, as the control plane stores it. */
export interface AuditRecord {
  seq: number;
  at: string;
  actor: string;
  role: string;
  action: string;
  agent: string | null;
  reason: string;
  before: unknown;
  after: unknown;
  revision: number;
}

/** The guard's record of its last action on one trigger (rollout/triggers.ts Marker, with what the timeline needs). */
export interface GuardRecord {
  release: string;
  trigger: number;
  at: number;
  command: string;
  outcome: "acted" | "refused";
  detail: string;
  endedAt: number | null;
}

export type TimelineKind = "change" | "guard" | "plan" | "expiry" | "rate";

export interface TimelineItem {
  id: string;
  at: string;
  kind: TimelineKind;
  source: "audit" | "guard" | "rates";
  action: string;
  actor: string | null;
  reason: string | null;
  release: string | null;
  /** The audit entry's sequence number and the revision it made (audit items only). */
  seq: number | null;
  revision: number | null;
  changes: Change[];
}

export interface Cursor {
  at: number;
  rank: number;
  id: string;
}

export const CURSOR = /^(\d{1,15})~([0-2])~([A-Za-z0-9._#:@-]{1,300})$/;

export const cursorOf = (c: Cursor): string => `${c.at}~${c.rank}~${c.id}`;

export function parseCursor(text: string): Cursor | null {
  const m = CURSOR.exec(text);
  return m ? { at: Number(m[1]), rank: Number(m[2]), id: m[3] as string } : null;
}

const RANK = { audit: 0, guard: 1, rates: 2 } as const;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

function scopeAgent(v: unknown): unknown {
  return isRecord(v) && isRecord(v.scope) ? v.scope.agent : undefined;
}

/** Whether an audit entry concerns the agent: its own, or a fleet-wide override (scope `*`) laid, lifted or expired. */
export function concerns(e: AuditRecord, agent: string): boolean {
  if (e.agent === agent) return true;
  if (e.agent !== null) return false;
  const sides = [e.before, e.after].flatMap((v) => (Array.isArray(v) ? v : [v]));
  return sides.some((o) => scopeAgent(o) === agent || scopeAgent(o) === "*");
}

function kindOf(e: AuditRecord): TimelineKind {
  if (e.actor === "guard") return /^plan step \d+/.test(e.reason) ? "plan" : "guard";
  return e.actor === "expiry" ? "expiry" : "change";
}

/** An expiry removes a list of overrides: each shows as its own removal, under its id. */
const expired = (before: unknown): Change[] =>
  (Array.isArray(before) ? before : []).map((o, i) => ({
    path: `overrides.${isRecord(o) && typeof o.id === "string" ? o.id : i}`,
    from: o,
    to: null,
  }));

function releaseOf(e: AuditRecord): string | null {
  for (const side of [e.after, e.before]) {
    if (isRecord(side) && isRecord(side.scope) && typeof side.scope.release === "string") return side.scope.release;
    if (isRecord(side) && typeof side.version === "string") return side.version;
  }
  return null;
}

function fromAudit(e: AuditRecord): TimelineItem {
  const changes = e.action === "override.expire" ? expired(e.before) : diffValues(e.before, e.after);
  return {
    id: `audit-${String(e.seq).padStart(12, "0")}`,
    at: e.at,
    kind: kindOf(e),
    source: "audit",
    action: e.action,
    actor: e.actor,
    reason: e.reason,
    release: releaseOf(e),
    seq: e.seq,
    revision: e.revision,
    changes,
  };
}

/** What the audit log cannot show: the guard's refused actions, and the moments it saw an action's effect end. */
function fromGuard(g: GuardRecord): TimelineItem[] {
  const base = { kind: "guard" as const, source: "guard" as const, actor: "guard", release: g.release };
  const items: TimelineItem[] = [];
  const tag = `${g.release}#${g.trigger}`;
  if (g.outcome === "refused") {
    items.push({
      ...base,
      id: `guard-refused-${tag}@${g.at}`,
      at: new Date(g.at).toISOString(),
      action: `guard.refused`,
      reason: g.detail,
      seq: null,
      revision: null,
      changes: [{ path: `triggers[${g.trigger}].action`, from: null, to: `${g.command} refused` }],
    });
  }
  if (g.endedAt !== null) {
    items.push({
      ...base,
      id: `guard-ended-${tag}@${g.endedAt}`,
      at: new Date(g.endedAt).toISOString(),
      action: "guard.effect-ended",
      reason: `the effect of ${g.command} is gone; trigger ${g.trigger} counts afresh`,
      seq: null,
      revision: null,
      changes: [{ path: `triggers[${g.trigger}].state`, from: "acted", to: "counting" }],
    });
  }
  return items;
}

function fromRate(r: RateChange): TimelineItem {
  const crossed = r.crossed === null ? "" : `, ${r.crossed} the threshold ${r.threshold}`;
  return {
    id: `rate-${r.release}:${r.failureClass}@${r.at}`,
    at: new Date(r.at).toISOString(),
    kind: "rate",
    source: "rates",
    action: r.from === null || r.to > r.from ? "rate.rose" : "rate.fell",
    actor: null,
    reason: `${r.failureClass} over ${r.windowSeconds} s, ${r.requests} requests${crossed}`,
    release: r.release,
    seq: null,
    revision: null,
    changes: [{ path: `rates.${r.failureClass}`, from: r.from, to: r.to }],
  };
}

export interface TimelineInput {
  agent: string;
  audit: readonly AuditRecord[];
  guard: readonly GuardRecord[];
  rates: readonly RateChange[];
  /** ms since the epoch: items before it are left out. */
  since: number;
  after: Cursor | null;
  limit: number;
}

const keyOf = (i: TimelineItem): Cursor => ({ at: Date.parse(i.at), rank: RANK[i.source], id: i.id });

const compare = (a: Cursor, b: Cursor): number =>
  a.at - b.at || a.rank - b.rank || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export interface TimelinePage {
  items: TimelineItem[];
  /** Where the next page starts: the last item's cursor (or the one given, when this page is empty). */
  next: string | null;
  /** Whether more items exist already; false means the next page holds only what happens from now on. */
  more: boolean;
}

/** One page of the agent's timeline, oldest first. */
export function timeline(input: TimelineInput): TimelinePage {
  const all = [
    ...input.audit.filter((e) => concerns(e, input.agent)).map(fromAudit),
    ...input.guard.flatMap(fromGuard),
    ...input.rates.map(fromRate),
  ]
    .map((item) => ({ item, key: keyOf(item) }))
    .filter(({ key }) => key.at >= input.since && (input.after === null || compare(key, input.after) > 0))
    .sort((a, b) => compare(a.key, b.key));
  const page = all.slice(0, input.limit);
  const last = page.at(-1);
  const next = last ? cursorOf(last.key) : input.after === null ? null : cursorOf(input.after);
  return { items: page.map((p) => p.item), next, more: all.length > input.limit };
}
