/**
 * Workers KV as a snapshot source: `head` names the revision, `snapshot:<revision>` holds its root, shards and
 * manifests are read by key with KV's bulk read (kv-layout.ts). Immutable keys are cached at the edge for long.
 */
import { HEAD_KEY, Head, snapshotKey } from "./kv-layout";
import type { SnapshotSource } from "./snapshot-cache";

/** KV's minimum edge cache time for reads; `head` is re-read from the central store at most this often. */
const HEAD_CACHE_TTL_SECONDS = 30;
/** Immutable values never change under their key: cached at the edge longer (a miss is cached too, so not for long). */
const IMMUTABLE_CACHE_TTL_SECONDS = 300;

export function kvSource(kv: KVNamespace): SnapshotSource {
  return {
    name: "kv",
    async revision() {
      const raw = await kv.get(HEAD_KEY, { type: "text", cacheTtl: HEAD_CACHE_TTL_SECONDS });
      if (raw === null) throw new Error("no published state (head missing)");
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        throw new Error("head is not JSON");
      }
      const head = Head.safeParse(json);
      if (!head.success) throw new Error("head is invalid");
      return head.data.revision;
    },
    async snapshot(revision) {
      const raw = await kv.get(snapshotKey(revision), "text");
      if (raw === null) throw new Error(`snapshot ${revision} named by head is missing`);
      return raw;
    },
    async blobs(keys) {
      const got = await kv.get([...keys], { type: "text", cacheTtl: IMMUTABLE_CACHE_TTL_SECONDS });
      const out = new Map<string, string>();
      for (const [k, v] of got) if (v !== null) out.set(k, v);
      return out;
    },
  };
}
