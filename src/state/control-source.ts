/**
 * The control-plane Durable Object as a snapshot source: the freshness path of docs/propagation.md.
 *
 * An isolate asks for the newest revision through the location's Cache API first, so that the isolates of one
 * location share about one question to the Durable Object per sharing time. When it has to ask the Durable
 * Object, one `sync(have)` call answers with the revision and, when that is newer than what the isolate holds,
 * its root and the shards and manifests the isolate lacks: a flip costs one round trip, not two. Roots are shared
 * through the Cache API by revision (they never change); a cold isolate asks for shards and manifests in
 * bounded batches (`blobs`). The Cache API does nothing on `*.workers.dev`: there every isolate asks the
 * Durable Object itself, which stays correct, only busier.
 *
 * Cache writes never delay the refresh: they are collected and awaited by `drain()` after the new state is
 * installed (the refresh runs under `waitUntil`, so they still complete).
 */
import type { ControlPlane } from "./control-plane";
import type { SnapshotSource } from "./snapshot-cache";

/**
 * How the refresh interval I (the promise: a flip is served within I plus the round trip) is split between the
 * isolate's own polling period and the time a location shares one answer. A shared answer can be `shareMs` old
 * when an isolate reads it, so the isolate polls every `I − shareMs`. Sharing for 40 % of I (at most 400 ms)
 * keeps the Durable Object's load at no more than 2.5 questions per location per second at the default I = 1 s
 * (docs/propagation.md has the arithmetic).
 */
export function freshnessSchedule(intervalMs: number): { pollMs: number; shareMs: number } {
  const shareMs = Math.min(400, Math.floor(intervalMs * 0.4));
  return { pollMs: intervalMs - shareMs, shareMs };
}

const CACHE_ORIGIN = "https://switchyard-freshness.internal";
const headUrl = `${CACHE_ORIGIN}/head`;
const snapshotUrl = (revision: number) => `${CACHE_ORIGIN}/snapshot/${revision}`;

/**
 * What `ControlPlane.sync(have)` answers: `text` (the root) only when `revision` is newer than `have`, and with
 * it the values named now and not at `have`, when the control plane remembers `have`.
 */
export interface SyncAnswer {
  revision: number;
  text?: string;
  blobs?: Record<string, string>;
}

interface ControlRpc {
  sync(have: number | null): Promise<SyncAnswer>;
  snapshotText(): Promise<{ revision: number; text: string }>;
  blobs(keys: string[]): Promise<Record<string, string>>;
}

export interface ControlSourceOptions {
  namespace: DurableObjectNamespace<ControlPlane>;
  /** `caches.default` where it exists; null to skip coalescing. */
  cache: Cache | null;
  intervalMs: number;
  now: () => number;
}

export function controlSource(opts: ControlSourceOptions): SnapshotSource {
  const stub = () => opts.namespace.get(opts.namespace.idFromName("global")) as unknown as ControlRpc;
  const { cache } = opts;
  const { shareMs } = freshnessSchedule(opts.intervalMs);
  /** The snapshot the last `sync` brought along, handed to the `snapshot()` call that follows it. */
  let carried: { revision: number; text: string } | null = null;
  /** Values the last `sync` brought along, handed to the `blobs()` calls that follow it. */
  let carriedBlobs: Record<string, string> = {};
  let pending: Promise<unknown>[] = [];

  const share = (url: string, body: string, maxAgeSeconds: number) => {
    if (cache === null) return;
    const response = new Response(body, { headers: { "cache-control": `max-age=${maxAgeSeconds}` } });
    // A failed cache write only costs the location's other isolates a question to the Durable Object.
    pending.push(cache.put(url, response).catch(() => undefined));
  };

  return {
    name: "control",
    async revision(have) {
      carried = null;
      carriedBlobs = {};
      if (cache !== null && shareMs > 0) {
        const hit = await cache.match(headUrl);
        if (hit) {
          const { revision, at } = (await hit.json()) as { revision: number; at: number };
          if (opts.now() - at < shareMs) return revision;
        }
      }
      const answer = await stub().sync(have);
      // Revision 0 is a control plane that was never written to: it knows nothing, so let KV answer.
      if (answer.revision === 0) throw new Error("the control plane holds no state yet");
      if (shareMs > 0) {
        const ttl = Math.max(1, Math.ceil(shareMs / 1000)); // seconds: the API's granularity; `at` is exact
        share(headUrl, JSON.stringify({ revision: answer.revision, at: opts.now() }), ttl);
      }
      if (answer.blobs !== undefined) carriedBlobs = answer.blobs;
      if (answer.text !== undefined) {
        carried = { revision: answer.revision, text: answer.text };
        share(snapshotUrl(answer.revision), answer.text, 3600);
      }
      return answer.revision;
    },
    async snapshot(revision) {
      if (carried !== null && carried.revision >= revision) return carried.text;
      if (cache !== null) {
        const hit = await cache.match(snapshotUrl(revision));
        if (hit) return hit.text();
      }
      const got = await stub().snapshotText();
      share(snapshotUrl(got.revision), got.text, 3600);
      return got.text;
    },
    async blobs(keys) {
      const out = new Map<string, string>();
      let ask: string[] = [];
      for (const k of keys) {
        const v = Object.hasOwn(carriedBlobs, k) ? carriedBlobs[k] : undefined;
        if (v !== undefined) out.set(k, v);
        else ask.push(k);
      }
      // The answer is bounded in bytes: ask again for what it left out, until it brings nothing new.
      while (ask.length > 0) {
        const got = await stub().blobs(ask);
        const rest = ask.filter((k) => !Object.hasOwn(got, k));
        for (const [k, v] of Object.entries(got)) out.set(k, v);
        if (rest.length === ask.length) break;
        ask = rest;
      }
      return out;
    },
    async drain() {
      carried = null;
      carriedBlobs = {};
      const writes = pending;
      pending = [];
      await Promise.all(writes);
    },
  };
}
