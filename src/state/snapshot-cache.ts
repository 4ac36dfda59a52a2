/**
 * The isolate's copy of the published state, with last-known-good semantics (CONTRACT §3).
 *
 * - A warm isolate never reads the store on a request's critical path: when the copy is older than the
 *   refresh interval, a refresh is started in the background (single-flight) and the request is served now.
 * - A cold isolate must wait for its first read; if that fails it answers 503 `config_unavailable`.
 * - A read that fails, or returns something invalid, keeps the last-known-good and marks it stale. A snapshot
 *   is validated and indexed once per revision; an older revision never replaces a newer one.
 */
import { indexSnapshot, Snapshot, type SnapshotIndex } from "../routing/snapshot";
import { Head } from "./kv-layout";

export interface SnapshotSource {
  /** The raw `head` value, or null when absent. */
  readHead(): Promise<string | null>;
  /** The raw snapshot value under `key`, or null when absent. */
  readSnapshot(key: string): Promise<string | null>;
}

export interface CacheOptions {
  source: SnapshotSource;
  now: () => number;
  intervalMs: number;
}

export interface CachedState {
  index: SnapshotIndex;
  stale: boolean;
}

export interface CacheHealth {
  revision: number | null;
  /** Milliseconds since the held revision was last confirmed current by a successful read. */
  ageMs: number | null;
  stale: boolean;
  lastError: string | null;
  lastAttemptAgoMs: number | null;
}

export class SnapshotCache {
  private index: SnapshotIndex | null = null;
  private confirmedAt = 0;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private lastError: string | null = null;
  private inflight: Promise<void> | null = null;

  constructor(private readonly opts: CacheOptions) {}

  /**
   * The state to serve this request with. `background` receives the refresh promise when one is started for
   * a warm isolate (pass `ctx.waitUntil`), so the request itself never waits on the store.
   */
  async get(background: (p: Promise<unknown>) => void): Promise<CachedState | null> {
    const now = this.opts.now();
    if (this.index === null) {
      // Cold: the first read is awaited, but not retried faster than every 250 ms under a failing store.
      if (this.inflight === null && now - this.lastAttempt < Math.min(250, this.opts.intervalMs)) return null;
      await this.refresh();
      return this.index === null ? null : { index: this.index, stale: this.lastError !== null };
    }
    if (this.inflight === null && now - this.lastAttempt >= this.opts.intervalMs) background(this.refresh());
    return { index: this.index, stale: this.lastError !== null };
  }

  /** Reads the store once (shared by concurrent callers). Never throws. */
  refresh(): Promise<void> {
    if (this.inflight === null) {
      this.lastAttempt = this.opts.now();
      this.inflight = this.load()
        .then(
          () => {
            this.lastError = null;
            this.confirmedAt = this.opts.now();
          },
          (err: unknown) => {
            this.lastError = err instanceof Error ? err.message : String(err);
          },
        )
        .finally(() => {
          this.inflight = null;
        });
    }
    return this.inflight;
  }

  /** Installs a snapshot obtained elsewhere (e.g. from the control plane); ignored if not newer. */
  offer(snapshot: Snapshot): boolean {
    if (this.index !== null && snapshot.revision <= this.index.revision) return false;
    this.index = indexSnapshot(snapshot);
    return true;
  }

  health(): CacheHealth {
    const now = this.opts.now();
    return {
      revision: this.index?.revision ?? null,
      ageMs: this.index === null ? null : now - this.confirmedAt,
      stale: this.lastError !== null,
      lastError: this.lastError,
      lastAttemptAgoMs: Number.isFinite(this.lastAttempt) ? now - this.lastAttempt : null,
    };
  }

  private async load(): Promise<void> {
    const rawHead = await this.opts.source.readHead();
    if (rawHead === null) throw new Error("no published state in the store (head missing)");
    const head = Head.safeParse(parseJson(rawHead, "head"));
    if (!head.success) throw new Error("head is invalid");
    if (this.index !== null && head.data.revision <= this.index.revision) return; // nothing newer
    const raw = await this.opts.source.readSnapshot(head.data.key);
    if (raw === null) throw new Error(`snapshot ${head.data.key} named by head is missing`);
    const parsed = Snapshot.safeParse(parseJson(raw, head.data.key));
    if (!parsed.success) throw new Error(`snapshot ${head.data.key} is invalid: ${parsed.error.issues[0]?.message}`);
    if (parsed.data.revision !== head.data.revision)
      throw new Error(`snapshot ${head.data.key} holds another revision`);
    this.offer(parsed.data);
  }
}

function parseJson(raw: string, what: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new Error(`${what} is not JSON`);
  }
}
