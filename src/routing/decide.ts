/**
 * The routing decision for one request (CONTRACT §2.1): which release serves it and in which lane, and why.
 * The same value feeds the response headers, the request log line and the admin `explain` route.
 *
 * Order: a pin (`x-agent-release`) naming the active or canary release wins; otherwise a sticky key falls in the
 * canary when its bucket is under the threshold; otherwise the active release serves. Keyless traffic never
 * sees a canary. Then the lane of every override in scope is merged; a lane in mode `off` serves the release's
 * user fallback. `failsafe` marks the one case where the gateway has to answer with its own built-in fallback:
 * mode `off` for a release that names no user fallback (the readiness gate makes this unreachable for releases
 * that went live through the admin API; it exists so a hand-edited store can never route to an upstream).
 */
import { stickyBucketAfter } from "./murmur3";
import type { Served } from "./served";
import type { ReleaseEntry, SnapshotIndex } from "./snapshot";
import { servedAt } from "./snapshot";

export type DecisionKind = "stable" | "canary" | "pinned" | "off" | "failsafe";
/** How the release was chosen, before the lane was applied. */
export type Via = "stable" | "canary" | "pinned" | "rolled-back-off";

export interface RequestFacts {
  agent: string;
  key: string | null;
  pin: string | null;
}

export interface Decision {
  agent: string;
  kind: DecisionKind;
  via: Via;
  release: ReleaseEntry;
  served: Served;
  /** The key's bucket for the current canary, when there is a canary and a key. */
  bucket: number | null;
  canary: { version: string; threshold: number } | null;
  pinIgnored: string | null;
  revision: number;
}

export type Outcome =
  | { ok: true; decision: Decision }
  | {
      ok: false;
      status: 404 | 503;
      code: "unknown_agent" | "no_active_release" | "config_unavailable";
      message: string;
    };

export function decide(index: SnapshotIndex, facts: RequestFacts, now: number): Outcome {
  // A plain Map lookup once the agent's entry is built (every request but its first).
  const entry = index.built.get(facts.agent) ?? index.agents.get(facts.agent);
  if (entry === undefined) return { ok: false, status: 404, code: "unknown_agent", message: `no agent ${facts.agent}` };
  // A release it names cannot be used (its stored manifest is invalid): never guess another (CONTRACT §3).
  if (entry.broken !== null) return { ok: false, status: 503, code: "config_unavailable", message: entry.broken };
  // Chosen in place, not through a helper returning an object: this runs on every request.
  const canary = entry.canary;
  let release: ReleaseEntry | null = null;
  let via: Via = "stable";
  let bucket: number | null = null;
  if (facts.pin !== null) {
    if (entry.active !== null && facts.pin === entry.active.version) release = entry.active;
    else if (canary !== null && facts.pin === canary.release.version) release = canary.release;
    if (release !== null) via = "pinned";
  }
  if (release === null && canary !== null && facts.key !== null) {
    bucket = stickyBucketAfter(canary.prefix, facts.key);
    if (bucket < canary.threshold) {
      release = canary.release;
      via = "canary";
    }
  }
  if (release === null) {
    if (entry.active !== null) release = entry.active;
    else if (entry.off !== null) {
      release = entry.off;
      via = "rolled-back-off";
    } else {
      return {
        ok: false,
        status: 503,
        code: "no_active_release",
        message: `agent ${facts.agent} has no active release`,
      };
    }
  }
  const served = servedAt(release, now);
  const kind: DecisionKind =
    via === "rolled-back-off" || served.mode === "off" ? (served.userFallback !== null ? "off" : "failsafe") : via;
  return {
    ok: true,
    decision: {
      agent: facts.agent,
      kind,
      via,
      release,
      served,
      bucket,
      canary: canary === null ? null : canary.view,
      pinIgnored: facts.pin !== null && via !== "pinned" ? facts.pin : null,
      revision: index.revision,
    },
  };
}

/** The effective lane mode: `off` when the agent was rolled back to off, whatever the overrides say. */
export const laneOf = (d: Decision): string => (d.kind === "off" || d.kind === "failsafe" ? "off" : d.served.mode);

/** `x-agent-decision`: the kind, then `; `-separated details (§2.1). */
export function decisionHeader(d: Decision, stale: boolean): string {
  let h: string = d.kind;
  if (d.kind === "off" || d.kind === "failsafe") h += `; via=${d.via}`;
  if (d.bucket !== null) h += `; bucket=${d.bucket}`;
  if (d.served.overrideIds.length > 0) h += `; overrides=${d.served.overrideIds.join(",")}`;
  if (d.pinIgnored !== null) h += "; pin-ignored";
  if (stale) h += "; stale";
  return h;
}

/** Every step of the decision in words, for `explain` and for people reading a log. */
export function reasonsOf(d: Decision): string[] {
  const r: string[] = [];
  const v = d.release.version;
  if (d.pinIgnored !== null) r.push(`pin ${d.pinIgnored} ignored: it is neither the active nor the canary release`);
  if (d.via === "pinned") r.push(`pinned to ${v} by x-agent-release (a live release)`);
  if (d.canary === null) r.push("no canary is set");
  else if (d.bucket === null && d.via !== "pinned")
    r.push(`canary ${d.canary.version} set, but the request has no x-agent-key, so it goes to active`);
  else if (d.bucket !== null) {
    const inside = d.bucket < d.canary.threshold;
    r.push(
      `key bucket ${d.bucket} ${inside ? "<" : ">="} canary threshold ${d.canary.threshold} for ${d.canary.version}`,
    );
  }
  if (d.via === "stable") r.push(`active release ${v} serves`);
  if (d.via === "canary") r.push(`canary release ${v} serves`);
  if (d.via === "rolled-back-off") r.push(`the agent was rolled back to off; the user fallback of ${v} is served`);
  if (d.served.overrideIds.length > 0) r.push(`overrides in force: ${d.served.overrideIds.join(", ")}`);
  else r.push("no override is in force");
  r.push(
    `lane ${laneOf(d)}; tools [${d.served.headers.tools}]; approval [${d.served.headers.approval}]; workflow ${d.served.workflowName}`,
  );
  r.push(...d.served.notes);
  if (d.kind === "off") r.push("mode off: the release's user fallback is served and no upstream is called");
  if (d.kind === "failsafe") r.push("mode off but the release names no user fallback: the gateway's own 503 is served");
  return r;
}
