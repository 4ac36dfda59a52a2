/**
 * Writes a rendered revision to Workers KV and collects what no revision names any more (docs/storage.md).
 *
 * Order: every value the revision names that KV does not hold yet (manifests, shards, then the root), then
 * `head`. Nothing is written with an expiry: a quiet spell of any length leaves the KV fallback whole. Which
 * keys KV holds is tracked in the `kv_keys` table; a key the newest revision no longer names is marked, and
 * deleted once it has been unnamed for UNNAMED_GRACE_MS (a reader that saw an older `head` still finds what
 * it names). A key named again before that is unmarked; after it, it is written again. The clock and the writer
 * are injected, so a test can drive a long quiet spell against the real KV binding.
 */
import { HEAD_KEY, UNNAMED_GRACE_MS } from "./kv-layout";
import type { Rendered } from "./publication";

export type KvWriter = Pick<KVNamespace, "put" | "delete">;

/** Writes in flight at once. */
const PARALLEL = 8;

const SCHEMA = "CREATE TABLE IF NOT EXISTS kv_keys (key TEXT PRIMARY KEY, unnamed_since INTEGER);";

type Row = Record<string, SqlStorageValue>;

async function bounded<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
}

export interface PublisherOptions {
  sql: SqlStorage;
  kv: KvWriter;
  now: () => number;
  /** The canonical text of a stored release, by digest. */
  manifestText: (digest: string) => string | null;
}

export class KvPublisher {
  constructor(private readonly opts: PublisherOptions) {
    opts.sql.exec(SCHEMA);
  }

  /**
   * Writes what `r` needs that KV lacks, then `head`. Throws on any failed write (nothing is marked then).
   * `relayout`: the root is written even if KV holds its key — the same revision in an older layout (a root's
   * key is its revision; every other key names its content). Readers of the older root still find all it names
   * for the grace.
   */
  async publish(r: Rendered, relayout = false): Promise<void> {
    const { sql, kv } = this.opts;
    const held = new Set<string>();
    for (const row of sql.exec<Row>("SELECT key FROM kv_keys")) held.add(String(row.key));
    const missing = [...r.named].filter((k) => !held.has(k) && k !== r.rootKey);
    await bounded(missing, async (key) => {
      await kv.put(key, this.text(r, key));
      sql.exec("INSERT INTO kv_keys (key, unnamed_since) VALUES (?, NULL) ON CONFLICT(key) DO NOTHING", key);
    });
    if (relayout || !held.has(r.rootKey)) {
      await kv.put(r.rootKey, r.rootText);
      sql.exec("INSERT INTO kv_keys (key, unnamed_since) VALUES (?, NULL) ON CONFLICT(key) DO NOTHING", r.rootKey);
    }
    await kv.put(HEAD_KEY, JSON.stringify({ revision: r.revision, key: r.rootKey, publishedAt: r.publishedAt }));
    const now = this.opts.now();
    for (const row of sql.exec<Row>("SELECT key, unnamed_since FROM kv_keys")) {
      const key = String(row.key);
      const named = r.named.has(key);
      if (named && row.unnamed_since !== null) sql.exec("UPDATE kv_keys SET unnamed_since = NULL WHERE key = ?", key);
      if (!named && row.unnamed_since === null)
        sql.exec("UPDATE kv_keys SET unnamed_since = ? WHERE key = ?", now, key);
    }
  }

  /** Deletes keys unnamed for longer than the grace. Returns when the next one is due (ms), or null. */
  async collect(): Promise<number | null> {
    const { sql, kv } = this.opts;
    const cutoff = this.opts.now() - UNNAMED_GRACE_MS;
    const due = [...sql.exec<Row>("SELECT key FROM kv_keys WHERE unnamed_since <= ?", cutoff)].map((r) =>
      String(r.key),
    );
    await bounded(due, async (key) => {
      await kv.delete(key);
      sql.exec("DELETE FROM kv_keys WHERE key = ? AND unnamed_since IS NOT NULL", key);
    });
    return this.nextCollection();
  }

  nextCollection(): number | null {
    const row = this.opts.sql.exec<Row>("SELECT MIN(unnamed_since) AS t FROM kv_keys").one();
    return row.t === null ? null : Number(row.t) + UNNAMED_GRACE_MS;
  }

  /** How many keys KV holds for the control plane (tests, health). */
  keyCount(): number {
    return Number(this.opts.sql.exec<Row>("SELECT COUNT(*) AS n FROM kv_keys").one().n);
  }

  private text(r: Rendered, key: string): string {
    const shard = r.shards.get(key);
    if (shard !== undefined) return shard;
    const digest = r.releases.get(key);
    const text = digest === undefined ? null : this.opts.manifestText(digest);
    if (text === null) throw new Error(`no stored value for ${key}`);
    return text;
  }
}
