/**
 * A publication as stored values (docs/storage.md): each shard serialized once and named by the SHA-256 of its
 * text, the root that names them, and the set of every key the revision needs. Manifests are not serialized
 * here: their key is their release digest, and their text (canonical JSON) is read from the control store only
 * when a key is actually written or asked for.
 */
import type { Publication } from "../control/snapshot";
import { sha256Hex } from "../release/digest";
import { shardText } from "../routing/shard";
import { releaseKey } from "../routing/snapshot";
import { snapshotKey } from "./kv-layout";

export interface Rendered {
  revision: number;
  publishedAt: string;
  rootKey: string;
  rootText: string;
  /** Shard texts by `shard:<digest>` key. */
  shards: ReadonlyMap<string, string>;
  /** `release:<digest>` keys with their digest. */
  releases: ReadonlyMap<string, string>;
  /** Every key this revision names, its root included. */
  named: ReadonlySet<string>;
}

/** Shards already serialized and named: a shard object reused by buildPublication is not serialized again. */
const renderedShards = new WeakMap<object, { key: string; text: string }>();

export async function render(p: Publication): Promise<Rendered> {
  const shards = new Map<string, string>();
  const releases = new Map<string, string>();
  const keys: (string | null)[] = [];
  for (const shard of p.shards) {
    if (shard === null) {
      keys.push(null);
      continue;
    }
    let done = renderedShards.get(shard);
    if (done === undefined) {
      const text = shardText(shard);
      done = { key: `shard:sha256:${await sha256Hex(text)}`, text };
      renderedShards.set(shard, done);
    }
    const { key, text } = done;
    shards.set(key, text);
    keys.push(key);
    for (const a of Object.values(shard.agents))
      for (const d of Object.values(a.releases)) releases.set(releaseKey(d), d);
  }
  const rootKey = snapshotKey(p.revision);
  const rootText = JSON.stringify({
    format: p.format,
    revision: p.revision,
    publishedAt: p.publishedAt,
    shards: keys,
    overrides: p.overrides,
  });
  const named = new Set<string>([rootKey, ...shards.keys(), ...releases.keys()]);
  return { revision: p.revision, publishedAt: p.publishedAt, rootKey, rootText, shards, releases, named };
}
