/**
 * What to publish for a control state (docs/storage.md, format 2): per agent its pointers, the digest of each
 * release they name, its overrides and the rest of its per-agent state, grouped into SHARD_COUNT shards by the
 * agent's id; overrides scoped to every agent go in the root. Overrides already expired are left out. Pure: the
 * caller serializes the shards, names them by digest and writes the root (src/state/kv-publisher.ts).
 */
import type { Override } from "../routing/override";
import {
  namedVersions,
  type PublishedAgent,
  SHARD_COUNT,
  type Shard,
  SNAPSHOT_FORMAT,
  shardOf,
} from "../routing/snapshot";
import { LEGACY_FORMAT, type Snapshot } from "../routing/snapshot-legacy";
import type { ControlState, StoredRelease } from "./model";

export interface Publication {
  format: typeof SNAPSHOT_FORMAT;
  revision: number;
  publishedAt: string;
  /** SHARD_COUNT entries; null where no agent hashes. */
  shards: (Shard | null)[];
  overrides: Override[];
}

export function buildPublication(
  state: ControlState,
  digest: (agent: string, version: string) => string | null,
  now: number,
): Publication {
  const live = state.overrides.filter((o) => o.expiresAt === undefined || Date.parse(o.expiresAt) > now);
  const own = new Map<string, Override[]>();
  const global: Override[] = [];
  for (const o of live) {
    if (o.scope.agent === "*") global.push(o);
    else own.set(o.scope.agent, [...(own.get(o.scope.agent) ?? []), o]);
  }
  const shards: (Shard | null)[] = Array.from({ length: SHARD_COUNT }, () => null);
  for (const agent of Object.keys(state.agents).sort()) {
    shards[shardOf(agent)] ??= { agents: {} };
    (shards[shardOf(agent)] as Shard).agents[agent] = publishedAgent(state, agent, digest, own.get(agent) ?? []);
  }
  return {
    format: SNAPSHOT_FORMAT,
    revision: state.revision,
    publishedAt: new Date(now).toISOString(),
    shards,
    overrides: global,
  };
}

/**
 * One agent's published state. Everything the control state keeps per agent is carried here; a new kind of
 * per-agent state is added to ControlState and to AGENT_EXTRAS (src/routing/snapshot.ts), and copied below.
 */
function publishedAgent(
  state: ControlState,
  agent: string,
  digest: (agent: string, version: string) => string | null,
  overrides: Override[],
): PublishedAgent {
  const pointers = state.agents[agent] as PublishedAgent["pointers"];
  const releases: Record<string, string> = {};
  for (const v of namedVersions(pointers)) {
    const d = digest(agent, v);
    if (d !== null) releases[v] = d;
  }
  return { pointers, releases, overrides };
}

/**
 * One agent as a self-contained format-1 value: its pointers, the manifests they name and the overrides in
 * force. What `explain` decides on, with the same index and decision as the data plane.
 */
export function agentSnapshot(
  state: ControlState,
  agent: string,
  release: (agent: string, version: string) => StoredRelease | null,
  now: number,
): Snapshot {
  const agents: Snapshot["agents"] = {};
  const pointers = state.agents[agent];
  if (pointers !== undefined && Object.hasOwn(state.agents, agent)) {
    const releases: Snapshot["agents"][string]["releases"] = {};
    for (const v of namedVersions(pointers)) {
      const r = release(agent, v);
      if (r !== null) releases[v] = { manifest: r.manifest, digest: r.digest };
    }
    agents[agent] = { pointers, releases };
  }
  return {
    format: LEGACY_FORMAT,
    revision: state.revision,
    publishedAt: new Date(now).toISOString(),
    agents,
    overrides: state.overrides.filter(
      (o) =>
        (o.scope.agent === "*" || o.scope.agent === agent) &&
        (o.expiresAt === undefined || Date.parse(o.expiresAt) > now),
    ),
  };
}
