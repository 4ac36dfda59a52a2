/**
 * The published pointer state (docs/storage.md, format 2) and the isolate's index of it.
 *
 * A revision is a small root naming 256 shards by digest; a shard holds, per agent, the pointers, the digest of
 * every release they name, the agent's overrides and whatever other per-agent state the control plane keeps.
 * Manifests are not in it: they are immutable and stored once under their digest, so a flip re-ships one shard
 * and the root, never a manifest. The index is built per revision from the pointers (cheap), and an agent's
 * entry — the manifests resolved, checked against the pointers and indexed — is built on its first request:
 * nothing that depends on a manifest is paid for an agent that gets no traffic.
 *
 * Pure: manifests come in through `resolve`, which the isolate's by-digest store answers (validated once per
 * digest there). A pointer never names a release the reader cannot resolve (CONTRACT §3): the loader installs
 * a state only when every digest it names is held; a manifest that fails validation on first use makes its
 * agent answer 503 `config_unavailable`, never a guess.
 */
import { z } from "zod";
import { AgentId, type Manifest, Version } from "../release/schema";
import { byPrecedence, type IndexedOverride, indexOverride, type Lane, mergeLane } from "./lane";
import { canaryThreshold, type HashPrefix, hashPrefix, murmur3 } from "./murmur3";
import { Override, scopeMatches } from "./override";
import { type Served, serve } from "./served";

export const SNAPSHOT_FORMAT = 3;
/** The format before shards carried their agent line (src/routing/shard.ts): still read, never written. */
export const JSON_SHARD_FORMAT = 2;
/** Shards per revision: √(agents × entry size / digest size) at 10,000 agents, see docs/storage.md. */
export const SHARD_COUNT = 256;

export const Digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);

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

/**
 * Per-agent state besides the pointers, published as the control plane keeps it (e.g. a canary's release plan).
 * Each field is declared here with its schema, so the strict shard schema still refuses a misspelled one.
 */
export const AGENT_EXTRAS = {} satisfies z.ZodRawShape;

export const PublishedAgent = z.strictObject({
  pointers: Pointers,
  /** The digest of every release the pointers name, by version. */
  releases: z.record(Version, Digest),
  /** Overrides scoped to this agent or one of its releases, not expired at publish time. */
  overrides: z.array(Override),
  ...AGENT_EXTRAS,
});

export const Shard = z.strictObject({ agents: z.record(AgentId, PublishedAgent) });

export const Root = z.strictObject({
  format: z.literal([JSON_SHARD_FORMAT, SNAPSHOT_FORMAT]),
  revision: z.int().min(0),
  publishedAt: z.iso.datetime(),
  /** `shard:<digest>` keys, SHARD_COUNT of them; null for a shard that holds no agent. */
  shards: z
    .array(
      z
        .string()
        .regex(/^shard:sha256:[0-9a-f]{64}$/)
        .nullable(),
    )
    .length(SHARD_COUNT),
  /** Overrides scoped to every agent (`*`). */
  overrides: z.array(Override),
});

export type Canary = z.infer<typeof Canary>;
export type Pointers = z.infer<typeof Pointers>;
export type PublishedAgent = z.infer<typeof PublishedAgent>;
export type Shard = z.infer<typeof Shard>;
export type Root = z.infer<typeof Root>;

/** The shard an agent's state is published in. */
export const shardOf = (agent: string): number => murmur3(agent) % SHARD_COUNT;

export const releaseKey = (digest: string): string => `release:${digest}`;

/** The versions the pointers name (each once), the releases a reader must be able to resolve. */
export function namedVersions(p: Pointers): string[] {
  const out: string[] = [];
  for (const v of [p.active === "off" ? p.offFrom : p.active, p.fallback === "off" ? null : p.fallback])
    if (v !== null && !out.includes(v)) out.push(v);
  if (p.canary !== null && !out.includes(p.canary.version)) out.push(p.canary.version);
  return out;
}

/** A pointer names a version without a digest: the state is not self-consistent (§3). Null when it is. */
export function danglingPointer(a: PublishedAgent): string | null {
  for (const v of namedVersions(a.pointers)) if (!Object.hasOwn(a.releases, v)) return v;
  return null;
}

/** Where an agent's published state comes from: validated on first use (./shard.ts), or already valid. */
export type AgentSource = { agent(name: string): PublishedAgent | { error: string } };

/** One revision's pointer state, assembled from a root and its shards. */
export interface PointerState {
  revision: number;
  publishedAt: string;
  /** Every published agent, with the source of its state. */
  agents: ReadonlyMap<string, AgentSource>;
  globalOverrides: readonly Override[];
}

/** A manifest by digest: the manifest, or why it cannot be used. */
export type Resolve = (digest: string) => Manifest | { error: string };

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
  /** Set when a release it names cannot be used (invalid manifest): the agent answers 503, never a guess. */
  broken: string | null;
}

export interface SnapshotIndex {
  revision: number;
  publishedAt: string;
  state: PointerState;
  /** The entries built so far: the hot path's one lookup (decide.ts), falling back to `agents`. */
  built: ReadonlyMap<string, AgentEntry>;
  /** The agent's entry, built on first use. */
  agents: { get(agent: string): AgentEntry | undefined; has(agent: string): boolean; readonly size: number };
}

class LazyAgents {
  readonly built = new Map<string, AgentEntry>();
  private readonly global: IndexedOverride[];
  constructor(
    private readonly state: PointerState,
    private readonly resolve: Resolve,
  ) {
    this.global = state.globalOverrides.map(indexOverride).sort(byPrecedence);
  }
  get size(): number {
    return this.state.agents.size;
  }
  has(agent: string): boolean {
    return this.state.agents.has(agent);
  }
  get(agent: string): AgentEntry | undefined {
    const hit = this.built.get(agent);
    if (hit !== undefined) return hit;
    const source = this.state.agents.get(agent);
    if (source === undefined) return undefined;
    const published = source.agent(agent);
    const entry =
      "error" in published
        ? brokenAgent(agent, published.error)
        : buildAgent(agent, published, this.global, this.resolve);
    this.built.set(agent, entry);
    return entry;
  }
}

export function indexState(state: PointerState, resolve: Resolve): SnapshotIndex {
  const agents = new LazyAgents(state, resolve);
  return { revision: state.revision, publishedAt: state.publishedAt, state, built: agents.built, agents };
}

function buildAgent(
  agent: string,
  published: PublishedAgent,
  global: readonly IndexedOverride[],
  resolve: Resolve,
): AgentEntry {
  const own = published.overrides.map(indexOverride);
  const candidates = own.length === 0 ? global : [...global, ...own].sort(byPrecedence);
  const releases = new Map<string, ReleaseEntry>();
  let broken: string | null = danglingPointer(published);
  if (broken !== null) broken = `pointer names ${broken}, which has no digest`;
  for (const [version, digest] of Object.entries(published.releases)) {
    const manifest = resolve(digest);
    if ("error" in manifest) {
      broken ??= `release ${version} (${digest}): ${manifest.error}`;
      continue;
    }
    if (manifest.agent !== agent || manifest.version !== version) {
      broken ??= `release ${version} (${digest}) holds ${manifest.agent}@${manifest.version}`;
      continue;
    }
    releases.set(version, {
      agent,
      version,
      digest,
      manifest,
      overrides: candidates.filter((o) => scopeMatches(o.override.scope, agent, version)),
      memo: null,
    });
  }
  const p = published.pointers;
  const get = (v: string | null): ReleaseEntry | null => (v === null ? null : (releases.get(v) ?? null));
  const canaryRelease = p.canary === null ? null : get(p.canary.version);
  if (broken !== null) return brokenAgent(agent, broken);
  return {
    agent,
    pointers: p,
    releases,
    active: p.active === "off" ? null : get(p.active),
    off: p.active === "off" ? get(p.offFrom) : null,
    canary:
      p.canary !== null && canaryRelease !== null
        ? {
            release: canaryRelease,
            threshold: canaryThreshold(p.canary.percent),
            prefix: hashPrefix(agent, p.canary.version),
            view: { version: p.canary.version, threshold: canaryThreshold(p.canary.percent) },
          }
        : null,
    broken: null,
  };
}

const NO_POINTERS: Pointers = { active: null, fallback: null, canary: null, offFrom: null };

function brokenAgent(agent: string, broken: string): AgentEntry {
  return { agent, pointers: NO_POINTERS, releases: new Map(), active: null, off: null, canary: null, broken };
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
