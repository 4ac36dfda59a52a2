/**
 * The control-plane Durable Object as a snapshot source: the freshness path of docs/propagation.md.
 *
 * An isolate asks the Durable Object for its revision — through the location's Cache API, so that the
 * isolates of one location share about one question per interval — and fetches a newer snapshot from the
 * Durable Object itself (cached per revision, which never changes). The Cache API does nothing on
 * `*.workers.dev`: there every isolate asks the Durable Object itself, which stays correct, only busier.
 */
import type { ControlPlane } from "./control-plane";
import type { SnapshotSource } from "./snapshot-cache";

/**
 * How long a location's cached answer stands: half the interval, at most 500 ms. This caps the Durable
 * Object's load at about two questions per location per second however many isolates a location runs, and
 * adds at most this much to the propagation bound (docs/propagation.md).
 */
export const headShareMs = (intervalMs: number): number => Math.min(500, intervalMs / 2);

const CACHE_ORIGIN = "https://switchyard-freshness.internal";
const headUrl = `${CACHE_ORIGIN}/head`;
const snapshotUrl = (revision: number) => `${CACHE_ORIGIN}/snapshot/${revision}`;

interface ControlRpc {
  head(): Promise<{ revision: number }>;
  snapshotText(): Promise<{ revision: number; text: string }>;
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
  return {
    name: "control",
    async revision() {
      if (cache !== null) {
        const hit = await cache.match(headUrl);
        if (hit) {
          const { revision, at } = (await hit.json()) as { revision: number; at: number };
          if (opts.now() - at < headShareMs(opts.intervalMs)) return revision;
        }
      }
      const { revision } = await stub().head();
      // Revision 0 is a control plane that was never written to: it knows nothing, so let KV answer.
      if (revision === 0) throw new Error("the control plane holds no state yet");
      if (cache !== null) {
        const ttl = Math.max(1, Math.ceil(headShareMs(opts.intervalMs) / 1000)); // seconds: the API's granularity
        const body = JSON.stringify({ revision, at: opts.now() });
        await cache.put(headUrl, new Response(body, { headers: { "cache-control": `max-age=${ttl}` } }));
      }
      return revision;
    },
    async snapshot(revision) {
      if (cache !== null) {
        const hit = await cache.match(snapshotUrl(revision));
        if (hit) return hit.text();
      }
      const got = await stub().snapshotText();
      if (cache !== null) {
        await cache.put(
          snapshotUrl(got.revision),
          new Response(got.text, { headers: { "cache-control": "max-age=3600" } }),
        );
      }
      return got.text;
    },
  };
}
