/** Workers KV as a snapshot source: `head` names the revision, `snapshot:<revision>` holds it (kv-layout.ts). */
import { HEAD_KEY, Head, snapshotKey } from "./kv-layout";
import type { SnapshotSource } from "./snapshot-cache";

/** KV's minimum edge cache time for reads; `head` is re-read from the central store at most this often. */
const HEAD_CACHE_TTL_SECONDS = 30;

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
  };
}
