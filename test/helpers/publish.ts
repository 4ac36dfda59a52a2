/** Writes a snapshot into the real KV binding the way the control plane publishes it, and resets the isolate. */
import { env } from "cloudflare:test";
import type { Snapshot } from "../../src/routing/snapshot-legacy";
import { resetIsolateForTests } from "../../src/state/isolate";
import { HEAD_KEY, snapshotKey } from "../../src/state/kv-layout";

export async function publish(s: Snapshot): Promise<void> {
  const key = snapshotKey(s.revision);
  await env.STATE.put(key, JSON.stringify(s));
  await env.STATE.put(HEAD_KEY, JSON.stringify({ revision: s.revision, key, publishedAt: s.publishedAt }));
}

export async function freshIsolate(s?: Snapshot): Promise<void> {
  resetIsolateForTests();
  if (s) await publish(s);
}
