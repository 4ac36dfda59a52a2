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
  /** Per shard, what it was built from (agent ids, pointer and override objects), to reuse it when unchanged. */
  inputs: unknown[][];
}

const sameInputs = (a: readonly unknown[] | undefined, b: readonly unknown[]): boolean =>
  a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * `previous` (the last publication) lets a shard whose inputs are the very same objects be reused as it is —
 * the same object, so its serialization and digest are reused too (src/state/publication.ts): a revision costs
 * the shards that changed. The state's objects are never mutated (apply builds new ones), so identity is enough.
 */
export function buildPublication(
  state: ControlState,
  digest: (agent: string, version: string) => string | null,
  now: number,
  previous?: Publication,
): Publication {
  const live = state.overrides.filter((o) => o.expiresAt === undefined || Date.parse(o.expiresAt) > now);
  const own = new Map<string, Override[]>();
  const global: Override[] = [];
  for (const o of live) {
    if (o.scope.agent === "*") global.push(o);
    else own.set(o.scope.agent, [...(own.get(o.scope.agent) ?? []), o]);
  }
  const members: string[][] = Array.from({ length: SHARD_COUNT }, () => []);
  for (const agent of Object.keys(state.agents).sort()) members[shardOf(agent)]?.push(agent);
  const inputs: unknown[][] = [];
  const shards: (Shard | null)[] = members.map((agents, i) => {
    const used: unknown[] = [];
    for (const agent of agents) used.push(agent, state.agents[agent], ...(own.get(agent) ?? []), null);
    inputs.push(used);
    if (agents.length === 0) return null;
    if (previous !== undefined && sameInputs(previous.inputs[i], used)) return previous.shards[i] ?? null;
    const shard: Shard = { agents: {} };
    for (const agent of agents) shard.agents[agent] = publishedAgent(state, agent, digest, own.get(agent) ?? []);
    return shard;
  });
  return {
    format: SNAPSHOT_FORMAT,
    revision: state.revision,
    publishedAt: new Date(now).toISOString(),
    shards,
    overrides: global,
    inputs,
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
