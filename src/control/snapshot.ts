/**
 * The snapshot to publish for a control state (docs/storage.md): pointers of every agent, the full manifests
 * of the releases those pointers name, and the overrides not yet expired. Pure.
 */
import type { PublishedRelease, Snapshot } from "../routing/snapshot";
import { SNAPSHOT_FORMAT } from "../routing/snapshot";
import type { ControlState, StoredRelease } from "./model";

export function buildSnapshot(
  state: ControlState,
  release: (agent: string, version: string) => StoredRelease | null,
  now: number,
): Snapshot {
  const agents: Snapshot["agents"] = {};
  for (const [agent, p] of Object.entries(state.agents)) {
    const releases: Record<string, PublishedRelease> = {};
    const named = [
      p.active === "off" ? p.offFrom : p.active,
      p.fallback === "off" ? null : p.fallback,
      p.canary?.version ?? null,
    ];
    for (const v of named) {
      if (v === null || Object.hasOwn(releases, v)) continue;
      const r = release(agent, v);
      if (r !== null) releases[v] = { manifest: r.manifest, digest: r.digest };
    }
    agents[agent] = { pointers: p, releases };
  }
  return {
    format: SNAPSHOT_FORMAT,
    revision: state.revision,
    publishedAt: new Date(now).toISOString(),
    agents,
    overrides: state.overrides.filter((o) => o.expiresAt === undefined || Date.parse(o.expiresAt) > now),
  };
}
