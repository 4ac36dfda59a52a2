/** The control plane's view of the world, as the pure `apply` sees it. */
import type { Manifest } from "../release/schema";
import type { PlanState } from "../rollout/plan";
import type { Override } from "../routing/override";
import type { Pointers } from "../routing/snapshot";
import type { Actor } from "./roles";

export interface ControlState {
  revision: number;
  /** Every agent that has at least one stored release, with its pointers. */
  agents: Readonly<Record<string, Pointers>>;
  overrides: readonly Override[];
  /** Per agent, the release plan of its canary, while one runs, is paused or stopped (docs/plans.md). */
  plans: Readonly<Record<string, PlanState>>;
}

export interface StoredRelease {
  manifest: Manifest;
  digest: string;
  createdAt: string;
  createdBy: string;
  /** Whether it has ever been the active release: an operator may roll back to such a release. */
  everActive: boolean;
}

/** What apply may look at besides the state: the clock, who is acting, and the stored releases. */
export interface World {
  now: number;
  actor: Actor;
  release(agent: string, version: string): StoredRelease | null;
  /** How many releases the agent has stored (the releases_per_agent bound). */
  releaseCount(agent: string): number;
  /** Bytes of manifests stored in all (the stored_bytes bound). */
  storedBytes(): number;
}

export type Effect =
  | { kind: "release.insert"; agent: string; version: string; manifest: Manifest; digest: string }
  | { kind: "release.activated"; agent: string; version: string }
  | { kind: "pointers"; agent: string; pointers: Pointers }
  | { kind: "override.insert"; override: Override }
  | { kind: "override.delete"; id: string }
  | { kind: "plan"; agent: string; plan: PlanState | null };

export interface AuditDraft {
  action: string;
  agent: string | null;
  reason: string;
  before: unknown;
  after: unknown;
}

/** The refusals of the control core: part of the closed list of error codes (src/errors.ts). */
export type RefusalCode =
  | "forbidden"
  | "unknown_agent"
  | "unknown_release"
  | "unknown_override"
  | "release_exists"
  | "already_active"
  | "no_fallback"
  | "nothing_active"
  | "not_ready"
  | "revision_mismatch"
  | "limit_exceeded"
  | "no_plan"
  | "plan_complete"
  | "plan_moved"
  | "plan_start"
  | "invalid_request";

export interface Refusal {
  ok: false;
  status: 400 | 403 | 404 | 409 | 412 | 422;
  code: RefusalCode;
  message: string;
  details?: unknown;
}

export interface Applied {
  ok: true;
  /** False for a command that changes nothing (same release content again, aborting no canary). */
  changed: boolean;
  state: ControlState;
  audit: AuditDraft | null;
  effects: Effect[];
  /** Command-specific fields for the HTTP answer, e.g. { digest } or { id }. */
  result: Record<string, unknown>;
}

export type Outcome = Applied | Refusal;

export const NO_POINTERS: Pointers = { active: null, fallback: null, canary: null, offFrom: null };
