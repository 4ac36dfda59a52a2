/**
 * The lane merge (CONTRACT §1.2). Every override that applies to a request is folded into one restriction:
 * the safest mode, the union of disabled tools and forced approvals, the intersection of tool scopes, and the
 * workflow of the most specific scope. Nothing in the fold can widen what another override narrowed, so the
 * result only ever restricts. An override whose expiry has passed at `now` is skipped, cleaned up or not.
 * An override applies from the moment it is published (its `createdAt` is not compared with the isolate's
 * clock, so clock skew can never delay a restriction).
 */
import { MODES, type Mode, modeRank, type Risk } from "../release/schema";
import { type Override, specificity } from "./override";

/** An override with its times parsed once, when the snapshot is indexed. */
export interface IndexedOverride {
  override: Override;
  specificity: number;
  createdMs: number;
  expiresMs: number; // Infinity when it never expires
}

export interface Lane {
  mode: Mode;
  disableTools: ReadonlySet<string>;
  toolScope: ReadonlySet<string> | null; // null: no scope restriction
  forceApproval: ReadonlySet<Risk>;
  workflow: { name: string; override: string } | null;
  /** Ids of the overrides that were in force, most specific first. */
  overrideIds: readonly string[];
  /** The lane holds until this instant (ms): the first expiry among the overrides in force. */
  validUntil: number;
}

export function indexOverride(override: Override): IndexedOverride {
  return {
    override,
    specificity: specificity(override.scope),
    createdMs: Date.parse(override.createdAt),
    expiresMs: override.expiresAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(override.expiresAt),
  };
}

/** Most specific first; within one specificity the newest first. This order decides the `workflow` knob. */
export function byPrecedence(a: IndexedOverride, b: IndexedOverride): number {
  return b.specificity - a.specificity || b.createdMs - a.createdMs || (a.override.id < b.override.id ? -1 : 1);
}

/** Folds overrides (already filtered to the request's scope and sorted by precedence) into one lane. */
export function mergeLane(overrides: readonly IndexedOverride[], now: number): Lane {
  let mode: Mode = MODES[0];
  const disableTools = new Set<string>();
  const forceApproval = new Set<Risk>();
  let toolScope: ReadonlySet<string> | null = null;
  let workflow: Lane["workflow"] = null;
  const overrideIds: string[] = [];
  let validUntil = Number.POSITIVE_INFINITY;

  for (const o of overrides) {
    if (o.expiresMs <= now) continue;
    validUntil = Math.min(validUntil, o.expiresMs);
    overrideIds.push(o.override.id);
    const set = o.override.set;
    if (set.mode !== undefined && modeRank(set.mode) > modeRank(mode)) mode = set.mode;
    for (const t of set.disableTools ?? []) disableTools.add(t);
    for (const r of set.forceApproval ?? []) forceApproval.add(r);
    if (set.toolScope !== undefined) {
      const allowed: ReadonlySet<string> = new Set(set.toolScope);
      toolScope = intersect(toolScope, allowed);
    }
    if (set.workflow !== undefined && workflow === null) workflow = { name: set.workflow, override: o.override.id };
  }
  return {
    mode,
    disableTools,
    toolScope,
    forceApproval,
    workflow,
    overrideIds,
    validUntil,
  };
}

function intersect(current: ReadonlySet<string> | null, allowed: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const t of current ?? allowed) if (allowed.has(t)) out.add(t);
  return out;
}
