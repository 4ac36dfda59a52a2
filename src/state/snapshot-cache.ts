/**
 * The isolate's copy of the published state, with last-known-good semantics (CONTRACT §3).
 *
 * - A warm isolate never reads a store on a request's critical path: when its copy is older than the refresh
 *   interval, a refresh starts in the background (single-flight) and the request is served now.
 * - A cold isolate must wait for its first read; if that fails it answers 503 `config_unavailable`.
 * - An isolate whose copy has not been confirmed for a long time (idle) lets the request wait for the refresh,
 *   but never longer than `idleWaitMs`: after a quiet spell the first request should not meet a release that
 *   was rolled back minutes ago, and a slow store must not stall it either.
 * - Sources are asked in order (the control plane first, KV as the fallback, see docs/propagation.md). A read
 *   that fails everywhere keeps the last-known-good and marks it stale. A revision is installed only when it is
 *   complete (snapshot-load.ts); an older revision never replaces a newer one, whichever source offers it.
 * - Manifests are held by digest across revisions (manifest-store.ts) and shards by key, so a flip fetches the
 *   shard and the root that changed, and a new release's manifest only.
 */
import { indexState, type PointerState, type SnapshotIndex } from "../routing/snapshot";
import { ManifestStore } from "./manifest-store";
import { type BlobSource, type Held, loadRevision, namedDigests } from "./snapshot-load";

export interface SnapshotSource extends BlobSource {
  readonly name: string;
  /**
   * The newest revision this source knows; `have` is the revision the isolate holds (null when cold), so a
   * source may bring the newer snapshot along in the same round trip. Cheap; throws when it cannot answer.
   */
  revision(have: number | null): Promise<number>;
  /** The root of `revision` (or newer) as raw JSON text (format 3 or 2, or a format-1 snapshot). Throws when it cannot be read. */
  snapshot(revision: number): Promise<string>;
  /** Finishes side work (e.g. sharing answers with other isolates) after the state was installed. */
  drain?(): Promise<void>;
}

export interface CacheOptions {
  sources: readonly SnapshotSource[];
  now: () => number;
  intervalMs: number;
  /** How long one source may take before the next is tried. */
  sourceTimeoutMs?: number;
  /** A copy unconfirmed for this long makes the next request wait (bounded) for the refresh. */
  idleAfterMs?: number;
  idleWaitMs?: number;
  /** Timers, injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
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
  /** The source that last answered, e.g. "control" or "kv". */
  source: string | null;
  lastError: string | null;
  /** Errors of sources that were skipped on the last refresh (e.g. the control plane unreachable, KV used). */
  degraded: string | null;
  lastAttemptAgoMs: number | null;
}

/** Manifests held beyond those named at the last clean-up before the next one runs. */
const RETAIN_SLACK = 256;

/** The shards and manifests of a revision may take this many times one read's bound. */
const BLOBS_TIMEOUT_FACTOR = 8;

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class SnapshotCache {
  private index: SnapshotIndex | null = null;
  private confirmedAt = 0;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private lastError: string | null = null;
  private degraded: string | null = null;
  private source: string | null = null;
  private inflight: Promise<void> | null = null;
  private readonly held: Held = { manifests: new ManifestStore(), shards: new Map() };
  /** How many digests the state named when unnamed manifests were last dropped. */
  private namedCount = 0;

  constructor(private readonly opts: CacheOptions) {}

  /**
   * The state to serve this request with. `background` receives the refresh promise when one is started for
   * a warm isolate (pass `ctx.waitUntil`), so the request itself does not wait on a store.
   */
  async get(background: (p: Promise<unknown>) => void): Promise<CachedState | null> {
    const now = this.opts.now();
    if (this.index === null) {
      // Cold: the first read is awaited, but not retried faster than every 250 ms under a failing store.
      if (this.inflight === null && now - this.lastAttempt < Math.min(250, this.opts.intervalMs)) return null;
      await this.refresh();
      return this.index === null ? null : { index: this.index, stale: this.lastError !== null };
    }
    if (this.inflight === null && now - this.lastAttempt >= this.opts.intervalMs) {
      const refresh = this.refresh();
      background(refresh);
      const idleAfter = this.opts.idleAfterMs ?? Math.max(5 * this.opts.intervalMs, 5000);
      if (now - this.confirmedAt > idleAfter) {
        await Promise.race([refresh, (this.opts.sleep ?? defaultSleep)(this.opts.idleWaitMs ?? 250)]);
      }
    }
    return { index: this.index, stale: this.lastError !== null };
  }

  /** Reads the sources once (shared by concurrent callers). Never throws. */
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

  /** Installs a complete pointer state; ignored unless newer than the one held. */
  private offer(state: PointerState): boolean {
    if (this.index !== null && state.revision <= this.index.revision) return false;
    const manifests = this.held.manifests;
    // Dropping manifests no revision names walks the whole fleet, so it runs only once enough may have piled
    // up (a flip adds a few at most): a warm isolate's flip costs what changed, not the fleet.
    if (manifests.size > this.namedCount + RETAIN_SLACK) {
      const named = namedDigests(state);
      manifests.retain(named);
      this.namedCount = named.size;
    }
    this.index = indexState(state, (digest) => manifests.resolve(digest));
    return true;
  }

  health(): CacheHealth {
    const now = this.opts.now();
    return {
      revision: this.index?.revision ?? null,
      ageMs: this.index === null ? null : now - this.confirmedAt,
      stale: this.lastError !== null,
      source: this.source,
      lastError: this.lastError,
      degraded: this.degraded,
      lastAttemptAgoMs: Number.isFinite(this.lastAttempt) ? now - this.lastAttempt : null,
    };
  }

  private async load(): Promise<void> {
    const skipped: string[] = [];
    for (const source of this.opts.sources) {
      try {
        await this.loadFrom(source);
        this.source = source.name;
        this.degraded = skipped.length > 0 ? skipped.join("; ") : null;
        return;
      } catch (err) {
        skipped.push(`${source.name}: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        // After the new state is installed (or the source given up on): side work never delays serving it.
        // Bounded like a read, so a hung cache write cannot hold the single-flight refresh.
        if (source.drain) await this.timed(source.drain(), `${source.name} drain`).catch(() => undefined);
      }
    }
    this.degraded = null;
    throw new Error(skipped.join("; ") || "no state source is configured");
  }

  private async loadFrom(source: SnapshotSource): Promise<void> {
    const revision = await this.timed(source.revision(this.index?.revision ?? null), `${source.name} revision`);
    if (this.index !== null && revision <= this.index.revision) return; // nothing newer here
    const raw = await this.timed(source.snapshot(revision), `${source.name} snapshot`);
    let state: PointerState;
    try {
      // Bounded too (longer: a cold isolate fetches every manifest), so a source that stalls is skipped.
      state = await this.timed(loadRevision(source, raw, this.held), `${source.name} blobs`, BLOBS_TIMEOUT_FACTOR);
    } catch (err) {
      throw new Error(`snapshot ${revision}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (state.revision < revision) throw new Error(`snapshot ${revision} holds revision ${state.revision}`);
    this.offer(state);
  }

  private timed<T>(p: Promise<T>, what: string, factor = 1): Promise<T> {
    if (this.opts.sourceTimeoutMs === undefined) return p;
    const ms = this.opts.sourceTimeoutMs * factor;
    const sleep = this.opts.sleep ?? defaultSleep;
    return Promise.race([
      p,
      sleep(ms).then(() => {
        throw new Error(`${what} took longer than ${ms} ms`);
      }),
    ]);
  }
}
