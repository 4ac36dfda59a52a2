/**
 * The per-isolate singletons, built from the bindings on first use. Module scope is per isolate, which is
 * exactly the lifetime the last-known-good state must have.
 */
import type { Bindings } from "../env";
import { controlSource, freshnessSchedule } from "./control-source";
import { kvSource } from "./kv-source";
import { SnapshotCache, type SnapshotSource } from "./snapshot-cache";

const DEFAULT_INTERVAL_MS = 1000;
/** A control plane slower than this is skipped for KV on that refresh. */
const CONTROL_TIMEOUT_MS = 750;

let cache: SnapshotCache | null = null;

export function intervalFrom(env: Bindings): number {
  const n = Number(env.REFRESH_INTERVAL_MS);
  return env.REFRESH_INTERVAL_MS !== undefined && Number.isFinite(n) && n >= 0 ? n : DEFAULT_INTERVAL_MS;
}

/** `FRESHNESS = "kv"` turns the control-plane path off: KV only, with KV's propagation time. */
export function sourcesFrom(env: Bindings, intervalMs: number): SnapshotSource[] {
  const kv = kvSource(env.STATE);
  if (env.FRESHNESS === "kv") return [kv];
  const edgeCache = typeof caches !== "undefined" ? caches.default : null;
  return [controlSource({ namespace: env.CONTROL, cache: edgeCache, intervalMs, now: Date.now }), kv];
}

export function snapshotCache(env: Bindings): SnapshotCache {
  if (cache === null) {
    const intervalMs = intervalFrom(env);
    // With the control plane, a location's shared answer may be up to `shareMs` old: poll that much sooner so
    // that a flip is still served within the interval (plus the round trip). KV alone polls at the interval.
    const pollMs = env.FRESHNESS === "kv" ? intervalMs : freshnessSchedule(intervalMs).pollMs;
    cache = new SnapshotCache({
      sources: sourcesFrom(env, intervalMs),
      now: Date.now,
      intervalMs: pollMs,
      sourceTimeoutMs: CONTROL_TIMEOUT_MS,
    });
  }
  return cache;
}

/** Forget this isolate's state (tests only: each test starts from a cold isolate). */
export function resetIsolateForTests(): void {
  cache = null;
}
