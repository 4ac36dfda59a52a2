/**
 * Loading one revision from a source into a complete pointer state (docs/storage.md, CONTRACT §3).
 *
 * The root is read and validated; then only the shards and manifests the isolate does not hold yet are
 * fetched, in bounded batches, a few at a time. Of a shard only its agent line is parsed here, and manifests
 * are kept as text; each is parsed and validated on the first request that needs it, once per key
 * (src/routing/shard.ts, manifest-store.ts). The state is returned only when every shard and every digest it
 * names is held: anything missing or invalid throws, and the caller keeps its last-known-good whole. Format-2
 * roots (shards of JSON only) and format-1 snapshots (before manifests were stored by digest) are read too.
 */

import { LazyShard } from "../routing/shard";
import { JSON_SHARD_FORMAT, type PointerState, Root, releaseKey, SNAPSHOT_FORMAT, shardOf } from "../routing/snapshot";
import { fromLegacy, LEGACY_FORMAT, Snapshot as LegacySnapshot } from "../routing/snapshot-legacy";
import type { ManifestStore } from "./manifest-store";

/** Keys per `blobs` call, and calls in flight at once (KV bulk reads take up to 100 keys). */
export const BLOB_BATCH = 100;
export const BLOB_PARALLEL = 4;

export interface BlobSource {
  readonly name: string;
  /** Texts of the named immutable values (`shard:…`, `release:…`); a key left out of the answer is missing. */
  blobs?(keys: readonly string[]): Promise<ReadonlyMap<string, string>>;
}

/**
 * Fetches `keys` from the source in batches, BLOB_PARALLEL at a time, handing each text to `take` with its
 * key's position (no copy of the answers is made: a cold isolate takes thousands). Throws when any is missing.
 */
export async function fetchBlobs(
  source: BlobSource,
  keys: readonly string[],
  take: (position: number, text: string) => void,
): Promise<void> {
  if (keys.length === 0) return;
  const blobs = source.blobs?.bind(source);
  if (blobs === undefined) throw new Error(`${source.name} cannot serve stored values`);
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const from = next;
      next = Math.min(keys.length, next + BLOB_BATCH);
      const batch = keys.slice(from, next);
      const got = await blobs(batch);
      for (let i = 0; i < batch.length; i++) {
        const text = got.get(batch[i] as string);
        if (text === undefined) throw new Error(`${batch[i]} is missing from ${source.name}`);
        take(from + i, text);
      }
    }
  };
  const batches = Math.ceil(keys.length / BLOB_BATCH);
  await Promise.all(Array.from({ length: Math.min(BLOB_PARALLEL, batches) }, worker));
}

export interface Held {
  manifests: ManifestStore;
  /** Shards by key, kept across revisions (a flip changes one). */
  shards: Map<string, LazyShard>;
  /** The shard keys and agent map of the last revision loaded, so a flip rebuilds only what changed. */
  last?: { shards: readonly (string | null)[]; agents: ReadonlyMap<string, LazyShard> };
}

/** Turns the root text read from `source` into a complete pointer state, fetching what `held` lacks. */
export async function loadRevision(source: BlobSource, raw: string, held: Held): Promise<PointerState> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error("the snapshot is not JSON");
  }
  const format = (json as { format?: unknown } | null)?.format;
  if (format === LEGACY_FORMAT) {
    const legacy = LegacySnapshot.safeParse(json);
    if (!legacy.success) throw new Error(`the format-1 snapshot is invalid: ${legacy.error.issues[0]?.message}`);
    const { state, manifests } = fromLegacy(legacy.data);
    held.last = undefined;
    for (const [digest, m] of manifests) held.manifests.addValid(digest, m);
    return state;
  }
  if (format !== SNAPSHOT_FORMAT && format !== JSON_SHARD_FORMAT)
    throw new Error(`the snapshot has format ${String(format)}, not ${SNAPSHOT_FORMAT}`);
  const root = Root.safeParse(json);
  if (!root.success) throw new Error(`the snapshot is invalid: ${root.error.issues[0]?.message}`);

  // The shards this isolate lacks, each once (the same content sits at two positions only if it holds no agent).
  const seen = new Set<string>();
  const wanted: string[] = [];
  const positions: number[] = [];
  root.data.shards.forEach((k, i) => {
    if (k === null || held.shards.has(k) || seen.has(k)) return;
    seen.add(k);
    wanted.push(k);
    positions.push(i);
  });
  await fetchBlobs(source, wanted, (n, text) => {
    const key = wanted[n] as string;
    try {
      held.shards.set(key, readShard(text, positions[n] as number, format));
    } catch (err) {
      throw new Error(`${key} is invalid: ${err instanceof Error ? err.message : String(err)}`);
    }
  });

  // Start from the last revision's agents and redo only the positions whose shard changed (a flip: one).
  const last = held.last;
  const agents = new Map<string, LazyShard>(last?.agents ?? []);
  const missing = new Set<string>();
  const fresh: LazyShard[] = [];
  root.data.shards.forEach((key, i) => {
    const before = last?.shards[i] ?? null;
    if (last !== undefined && key === before) return;
    if (before !== null) for (const agent of held.shards.get(before)?.agents ?? []) agents.delete(agent);
    if (key === null) return;
    const shard = held.shards.get(key) as LazyShard;
    // The same content may sit at two positions only if it is empty of agents; otherwise its agents hash here.
    if (shard.agents.length > 0 && shardOf(shard.agents[0] as string) !== i)
      throw new Error(`${key} is named at shard ${i}, not its own`);
    for (const agent of shard.agents) agents.set(agent, shard);
    if (shard.complete) return;
    fresh.push(shard);
    for (const d of shard.digests) if (!held.manifests.has(d)) missing.add(d);
  });
  const digests = [...missing];
  // Keyed by the digest strings themselves, not slices of the keys: V8 compares sliced strings slowly as Map keys.
  await fetchBlobs(source, digests.map(releaseKey), (n, text) => held.manifests.addText(digests[n] as string, text));

  for (const shard of fresh) shard.complete = true;
  const live = new Set(root.data.shards.filter((k): k is string => k !== null));
  for (const k of held.shards.keys()) if (!live.has(k)) held.shards.delete(k);
  held.last = { shards: root.data.shards, agents };
  return {
    revision: root.data.revision,
    publishedAt: root.data.publishedAt,
    agents,
    globalOverrides: root.data.overrides,
  };
}

/** A shard text as its revision's format writes it: format 3 with its agent line, format 2 JSON only. */
function readShard(text: string, index: number, format: number): LazyShard {
  if (format === SNAPSHOT_FORMAT) return LazyShard.fromText(text, index);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error("not JSON");
  }
  return LazyShard.fromJson(json, index);
}

/** Every digest a state names: what the manifest store must keep. */
export function namedDigests(state: PointerState): Set<string> {
  const out = new Set<string>();
  const seen = new Set<LazyShard>();
  for (const [agent, source] of state.agents) {
    if (source instanceof LazyShard) {
      if (seen.has(source)) continue;
      seen.add(source);
      for (const d of source.digests) out.add(d);
    } else {
      const a = source.agent(agent);
      if (!("error" in a)) for (const d of Object.values(a.releases)) out.add(d);
    }
  }
  return out;
}
