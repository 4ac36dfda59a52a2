/**
 * The published snapshot (docs/storage.md): everything a request needs, in one value, at one revision.
 * It is validated once when loaded and indexed into maps, so a request does a few lookups and no parsing.
 * Validation includes referential integrity: a pointer never names a release the reader cannot resolve (§3).
 */
import { z } from "zod";
import { AgentId, Manifest, Version } from "../release/schema";
import { byPrecedence, type IndexedOverride, indexOverride, type Lane, mergeLane } from "./lane";
import { canaryThreshold, type HashPrefix, hashPrefix } from "./murmur3";
import { Override, scopeMatches } from "./override";
import { type Served, serve } from "./served";
import { snapshotOk } from "./snapshot-check";

export const SNAPSHOT_FORMAT = 1;

export const Canary = z.strictObject({
  version: Version,
  percent: z.number().min(0).max(100).multipleOf(0.01),
});

export const Pointers = z.strictObject({
  active: z.union([z.literal("off"), Version]).nullable(),
  fallback: z.union([z.literal("off"), Version]).nullable(),
  canary: Canary.nullable(),
  /** When `active` is "off": the release rolled back from, whose user fallback is served. */
  offFrom: Version.nullable(),
});

export const PublishedRelease = z.strictObject({
  manifest: Manifest,
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
});

export const PublishedAgent = z.strictObject({
  pointers: Pointers,
  releases: z.record(Version, PublishedRelease),
});

export const Snapshot = z
  .strictObject({
    format: z.literal(SNAPSHOT_FORMAT),
    revision: z.int().min(0),
    publishedAt: z.iso.datetime(),
    agents: z.record(AgentId, PublishedAgent),
    overrides: z.array(Override),
  })
  .superRefine((s, ctx) => {
    for (const [agent, a] of Object.entries(s.agents)) {
      const p = a.pointers;
      const named = [
        p.active !== "off" ? p.active : p.offFrom,
        p.fallback !== "off" ? p.fallback : null,
        p.canary?.version ?? null,
      ];
      for (const v of named) {
        // Own keys only: a pointer to `toString` or `constructor` must not resolve to Object.prototype members.
        if (v !== null && !Object.hasOwn(a.releases, v)) {
          ctx.addIssue({ code: "custom", path: ["agents", agent], message: `pointer names ${v}, not in releases` });
        }
      }
      for (const [v, r] of Object.entries(a.releases)) {
        if (r.manifest.agent !== agent || r.manifest.version !== v) {
          ctx.addIssue({
            code: "custom",
            path: ["agents", agent, "releases", v],
            message: "manifest agent/version mismatch",
          });
        }
      }
    }
  });

export type Canary = z.infer<typeof Canary>;
export type Pointers = z.infer<typeof Pointers>;
export type Snapshot = z.infer<typeof Snapshot>;
export type PublishedRelease = z.infer<typeof PublishedRelease>;

/** A live release, with the overrides that can apply to it and a memo of what it serves in its current lane. */
export interface ReleaseEntry {
  agent: string;
  version: string;
  digest: string;
  manifest: Manifest;
  overrides: readonly IndexedOverride[];
  memo: { lane: Lane; served: Served } | null;
}

export interface AgentEntry {
  agent: string;
  pointers: Pointers;
  releases: ReadonlyMap<string, ReleaseEntry>;
  active: ReleaseEntry | null;
  /** Set when `active` is "off". */
  off: ReleaseEntry | null;
  canary: {
    release: ReleaseEntry;
    threshold: number;
    prefix: HashPrefix;
    view: { version: string; threshold: number };
  } | null;
}

export interface SnapshotIndex {
  revision: number;
  publishedAt: string;
  snapshot: Snapshot;
  agents: ReadonlyMap<string, AgentEntry>;
}

/**
 * Validates a snapshot read from a store (the value of `JSON.parse`), as `Snapshot.safeParse` would, but cheaply:
 * a hand-written structural check (./snapshot-check.ts) accepts what it can prove valid, and a manifest equal to
 * the one `previous` holds under its digest is compared, not validated again, and that validated object is kept. Anything the check doubts
 * goes to zod, whose answer and error message stand, so an invalid snapshot is refused exactly as before.
 * The accepted value is `json` itself, with the known manifests swapped in: the caller must not keep it otherwise.
 */
export function loadSnapshot(json: unknown, previous: SnapshotIndex | null): z.ZodSafeParseResult<Snapshot> {
  const known = new Map<string, Manifest>();
  if (previous !== null)
    for (const a of previous.agents.values()) for (const r of a.releases.values()) known.set(r.digest, r.manifest);
  if (snapshotOk(json, SNAPSHOT_FORMAT, known)) return { success: true, data: json as Snapshot };
  return Snapshot.safeParse(json);
}

export function indexSnapshot(snapshot: Snapshot): SnapshotIndex {
  const overrides = snapshot.overrides.map(indexOverride).sort(byPrecedence);
  // One pass buckets the sorted overrides by agent (order kept); `*` ones go in every agent's candidates.
  const global: IndexedOverride[] = [];
  const byAgent = new Map<string, IndexedOverride[]>();
  for (const o of overrides) {
    const a = o.override.scope.agent;
    if (a === "*") global.push(o);
    else {
      const list = byAgent.get(a);
      if (list === undefined) byAgent.set(a, [o]);
      else list.push(o);
    }
  }
  const agents = new Map<string, AgentEntry>();
  for (const [agent, published] of Object.entries(snapshot.agents)) {
    const own = byAgent.get(agent);
    const candidates = own === undefined ? global : global.length === 0 ? own : [...global, ...own].sort(byPrecedence);
    const releases = new Map<string, ReleaseEntry>();
    for (const [version, r] of Object.entries(published.releases)) {
      releases.set(version, {
        agent,
        version,
        digest: r.digest,
        manifest: r.manifest,
        overrides: candidates.filter((o) => scopeMatches(o.override.scope, agent, version)),
        memo: null,
      });
    }
    const p = published.pointers;
    const get = (v: string | null): ReleaseEntry | null => (v === null ? null : (releases.get(v) ?? null));
    agents.set(agent, {
      agent,
      pointers: p,
      releases,
      active: p.active === "off" ? null : get(p.active),
      off: p.active === "off" ? get(p.offFrom) : null,
      canary: p.canary
        ? {
            release: get(p.canary.version) as ReleaseEntry,
            threshold: canaryThreshold(p.canary.percent),
            prefix: hashPrefix(agent, p.canary.version),
            view: { version: p.canary.version, threshold: canaryThreshold(p.canary.percent) },
          }
        : null,
    });
  }
  return { revision: snapshot.revision, publishedAt: snapshot.publishedAt, snapshot, agents };
}

/** What a release serves at `now`. Recomputed only when an override in force expires. */
export function servedAt(release: ReleaseEntry, now: number): Served {
  const memo = release.memo;
  if (memo !== null && now < memo.lane.validUntil) return memo.served;
  const lane = mergeLane(release.overrides, now);
  const served = serve(release.manifest, release.digest, lane);
  release.memo = { lane, served };
  return served;
}
