/**
 * Where the published state lives in Workers KV (docs/storage.md).
 *
 * `head` is small and names the newest revision; each revision's snapshot is written once under its own key
 * and never changed. A reader polls `head` and fetches a snapshot only when the revision moved, so an idle
 * refresh costs one tiny read, and a reader can never see half of a snapshot.
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

/** Old snapshots stay readable for a day, long enough for any reader that saw their head. */
export const SNAPSHOT_TTL_SECONDS = 86_400;
