/**
 * Where the published state lives in Workers KV (docs/storage.md).
 *
 * `head` is small and names the newest revision's root, `snapshot:<revision>`. The root names 256 shards by
 * digest (`shard:<digest>`), the shards name releases by digest (`release:<digest>`). Every key but `head` is
 * written once and never changed, so a reader can never see half of a revision. Nothing a published revision
 * names ever expires: the control plane deletes a key only after no revision has named it for a while
 * (kv-publisher.ts), so the KV fallback serves after any quiet spell.
 */
import { z } from "zod";

export const HEAD_KEY = "head";
export const snapshotKey = (revision: number): string => `snapshot:${String(revision).padStart(12, "0")}`;

export const Head = z.strictObject({
  revision: z.int().min(0),
  key: z.string().min(1),
  publishedAt: z.iso.datetime(),
});
export type Head = z.infer<typeof Head>;

/**
 * How long a key no published revision names any more stays readable: far longer than a reader takes from
 * reading `head` (edge-cached up to 30 s, and KV's up to 60 s between locations) to reading what it names.
 */
export const UNNAMED_GRACE_MS = 60 * 60_000;
