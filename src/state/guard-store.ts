/**
 * The guard's SQLite tables inside its Durable Object, one instance per agent (docs/guard.md). Synchronous:
 * a batch is de-duplicated and counted in one transaction, so a retried flush is counted exactly once.
 */

import type { Marker } from "../rollout/triggers";
import { addCounts, type Batch, type Buckets, type Counts, emptyCounts, entry, secondOf } from "../rollout/window";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS counts (
  release TEXT NOT NULL, second INTEGER NOT NULL, class TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (release, second, class));
CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS markers (release TEXT NOT NULL, trigger INTEGER NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY (release, trigger));
CREATE TABLE IF NOT EXISTS signals (
  seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, release TEXT NOT NULL, class TEXT NOT NULL,
  count INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/** The `class` under which requests served are counted: no failure class can be empty. */
const SERVED = "";
/** Signals kept for the health view. */
const SIGNALS_KEPT = 100;

export interface SignalRecord {
  at: number;
  actor: string;
  release: string;
  failureClass: string;
  count: number;
  reason: string;
}

type Row = Record<string, SqlStorageValue>;

export const markerKey = (release: string, trigger: number): string => `${release}#${trigger}`;

export class GuardStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
  }

  /** Every bucket on disk, by release (called once, when the object starts). */
  loadBuckets(): Map<string, Buckets> {
    const out = new Map<string, Buckets>();
    for (const r of this.sql.exec<Row>("SELECT release, second, class, n FROM counts")) {
      const c = entry(
        entry(out, String(r.release), () => new Map()),
        Number(r.second),
        emptyCounts,
      );
      const cls = String(r.class);
      if (cls === SERVED) c.served += Number(r.n);
      else c.failures[cls] = (c.failures[cls] ?? 0) + Number(r.n);
    }
    return out;
  }

  loadMarkers(): Map<string, Marker> {
    const out = new Map<string, Marker>();
    for (const r of this.sql.exec<Row>("SELECT body FROM markers")) {
      const m = JSON.parse(String(r.body)) as Marker;
      out.set(markerKey(m.release, m.trigger), m);
    }
    return out;
  }

  /**
   * Counts the batches not seen before, all in the bucket of `now`. Returns what was newly counted, by release,
   * for the caller to add to its in-memory buckets once the transaction has committed.
   */
  addBatches(batches: readonly Batch[], now: number): { counted: Map<string, Counts>; duplicates: number } {
    const counted = new Map<string, Counts>();
    let duplicates = 0;
    for (const batch of batches) {
      const fresh = this.sql.exec("INSERT OR IGNORE INTO batches (id, at) VALUES (?, ?)", batch.id, now).rowsWritten;
      if (fresh === 0) {
        duplicates++;
        continue;
      }
      for (const [release, c] of Object.entries(batch.releases)) {
        this.add(release, now, c);
        addCounts(entry(counted, release, emptyCounts), c);
      }
    }
    return { counted, duplicates };
  }

  /** An operator's signal: counted as failures and kept for the health view. */
  addSignal(s: SignalRecord): void {
    this.add(s.release, s.at, { served: 0, failures: { [s.failureClass]: s.count } });
    this.sql.exec(
      "INSERT INTO signals (at, actor, release, class, count, reason) VALUES (?, ?, ?, ?, ?, ?)",
      s.at,
      s.actor,
      s.release,
      s.failureClass,
      s.count,
      s.reason,
    );
  }

  recentSignals(limit: number): SignalRecord[] {
    return this.sql
      .exec<Row>("SELECT at, actor, release, class, count, reason FROM signals ORDER BY seq DESC LIMIT ?", limit)
      .toArray()
      .map((r) => ({
        at: Number(r.at),
        actor: String(r.actor),
        release: String(r.release),
        failureClass: String(r.class),
        count: Number(r.count),
        reason: String(r.reason),
      }));
  }

  putMarker(m: Marker): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO markers (release, trigger, body) VALUES (?, ?, ?)",
      m.release,
      m.trigger,
      JSON.stringify(m),
    );
  }

  /** Forgets buckets at or before `second` and batch ids older than `batchesBefore` (ms). */
  prune(second: number, batchesBefore: number): void {
    this.sql.exec("DELETE FROM counts WHERE second <= ?", second);
    this.sql.exec("DELETE FROM batches WHERE at < ?", batchesBefore);
    this.sql.exec("DELETE FROM signals WHERE seq <= (SELECT MAX(seq) FROM signals) - ?", SIGNALS_KEPT);
  }

  meta(key: string): string | null {
    const row = this.sql.exec<Row>("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
    return row === undefined ? null : String(row.value);
  }

  setMeta(key: string, value: string): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
  }

  private add(release: string, now: number, c: Counts): void {
    const upsert =
      "INSERT INTO counts (release, second, class, n) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n";
    const second = secondOf(now);
    if (c.served > 0) this.sql.exec(upsert, release, second, SERVED, c.served);
    for (const [cls, n] of Object.entries(c.failures)) if (n > 0) this.sql.exec(upsert, release, second, cls, n);
  }
}
