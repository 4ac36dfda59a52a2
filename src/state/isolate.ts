/**
 * The per-isolate singletons, built from the bindings on first use. Module scope is per isolate, which is
 * exactly the lifetime the last-known-good state must have.
 */
import type { Bindings } from "../env";
import { HEAD_KEY } from "./kv-layout";
import { SnapshotCache } from "./snapshot-cache";

const DEFAULT_INTERVAL_MS = 1000;
const HEAD_CACHE_TTL_SECONDS = 30; // KV's minimum edge cache time for reads

let cache: SnapshotCache | null = null;

export function intervalFrom(env: Bindings): number {
  const n = Number(env.REFRESH_INTERVAL_MS);
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT_INTERVAL_MS;
}

export function snapshotCache(env: Bindings): SnapshotCache {
  if (cache === null) {
    const kv = env.STATE;
    cache = new SnapshotCache({
      source: {
        readHead: () => kv.get(HEAD_KEY, { type: "text", cacheTtl: HEAD_CACHE_TTL_SECONDS }),
        readSnapshot: (key) => kv.get(key, { type: "text" }),
      },
      now: Date.now,
      intervalMs: intervalFrom(env),
    });
  }
  return cache;
}

/** Forget this isolate's state (tests only: each test starts from a cold isolate). */
export function resetIsolateForTests(): void {
  cache = null;
}
