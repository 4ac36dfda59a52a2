/**
 * A shard as the isolate holds it: parsed JSON, validated with the zod `Shard` schema on the first request for
 * one of its agents, once per shard key (a cold isolate validates the shards its traffic touches, not all 256).
 *
 * Before that, only what loading needs is read from the unvalidated value: the agent names (to answer 404 for
 * an unknown agent and to check each agent sits in its own shard) and the digest strings (so every manifest is
 * fetched before the revision is installed). Nothing else of it is used until zod has accepted the whole shard;
 * if zod refuses it, its agents answer 503 `config_unavailable`, never a guess.
 */
import { type PublishedAgent, Shard, shardOf } from "./snapshot";

export class LazyShard {
  readonly agents: readonly string[];
  readonly digests: ReadonlySet<string>;
  /** Set once every digest it names was held by a loaded revision: later loads need not look again. */
  complete = false;
  private raw: unknown;
  private validated: Shard | null = null;
  private error: string | null = null;

  /** Throws when the value is not shaped like a shard of position `index` at all. */
  constructor(raw: unknown, index: number) {
    const agents = (raw as { agents?: unknown } | null)?.agents;
    if (typeof agents !== "object" || agents === null || Array.isArray(agents)) throw new Error("not a shard");
    const names: string[] = [];
    const digests = new Set<string>();
    for (const [agent, a] of Object.entries(agents)) {
      // An agent is published in exactly one shard, the one its id hashes to: anything else is not this layout.
      if (shardOf(agent) !== index) throw new Error(`${agent} is published in shard ${index}, not its own`);
      const releases = (a as { releases?: unknown } | null)?.releases;
      if (typeof releases !== "object" || releases === null) throw new Error(`${agent} has no releases`);
      for (const d of Object.values(releases)) {
        // Only used as a key to fetch: a malformed one is missing from every store, so the load fails (zod checks
        // the exact form before anything is served).
        if (typeof d !== "string") throw new Error(`${agent} names a release without a digest`);
        digests.add(d);
      }
      names.push(agent);
    }
    this.raw = raw;
    this.agents = names;
    this.digests = digests;
  }

  /** The agent's published state, or why the shard cannot be used. Validates the shard once. */
  agent(name: string): PublishedAgent | { error: string } {
    if (this.validated === null && this.error === null) {
      const parsed = Shard.safeParse(this.raw);
      this.raw = null;
      if (parsed.success) this.validated = parsed.data;
      else this.error = `the shard is invalid: ${parsed.error.issues[0]?.message}`;
    }
    if (this.error !== null) return { error: this.error };
    const a = (this.validated as Shard).agents[name];
    return a !== undefined && Object.hasOwn((this.validated as Shard).agents, name)
      ? a
      : { error: `${name} is not in its shard` };
  }
}
