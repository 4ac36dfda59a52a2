/**
 * A shard as the isolate holds it (docs/storage.md). Loading reads only what installing a revision needs: the
 * agent names (to answer 404 for an unknown agent and to check each agent sits in its own shard) and the digest
 * strings (so every manifest is fetched before the revision is installed). The rest is parsed and validated with
 * the zod `Shard` schema on the first request for one of its agents, once per shard key: a cold isolate pays
 * for the shards its traffic touches, not all 256. If the shard is refused then, its agents answer 503
 * `config_unavailable`, never a guess.
 *
 * Format 3 (what the control plane writes) puts those names and digests on a first line of their own, a JSON
 * `[agents, digests]`, ahead of the shard's JSON: loading parses that short line, not the shard. When the shard
 * is validated, the line is checked against it — the same agents, and every digest the shard names listed — so
 * a line that disagrees makes the shard unusable rather than serving a release that was never fetched.
 * Format 2 shards (JSON only, the layout before) are parsed whole at load, as they were.
 */
import { type PublishedAgent, Shard, shardOf } from "./snapshot";

/** The shard's text in format 3: the `[agents, digests]` line, a line end, the shard's JSON. */
export function shardText(shard: Shard): string {
  const digests = new Set<string>();
  for (const agent of Object.keys(shard.agents))
    for (const d of Object.values(shard.agents[agent]?.releases ?? {})) digests.add(d);
  // JSON.stringify never writes a raw line end, so the first one in the text is the separator.
  return `${JSON.stringify([Object.keys(shard.agents), [...digests]])}\n${JSON.stringify(shard)}`;
}

export class LazyShard {
  /** Set once every digest it names was held by a loaded revision: later loads need not look again. */
  complete = false;
  private validated: Shard | null = null;
  private error: string | null = null;

  private constructor(
    readonly agents: readonly string[],
    readonly digests: ReadonlySet<string>,
    /** The shard's JSON text (format 3) or parsed value (format 2), until it is validated. */
    private body: string | { parsed: unknown } | null,
  ) {}

  /** A format-3 shard text at position `index`. Throws when its first line is not a shard's line. */
  static fromText(text: string, index: number): LazyShard {
    const end = text.indexOf("\n");
    if (end < 0) throw new Error("not a shard (no agent line)");
    let line: unknown;
    try {
      line = JSON.parse(text.slice(0, end));
    } catch {
      throw new Error("not a shard (its agent line is not JSON)");
    }
    if (!Array.isArray(line) || line.length !== 2 || !Array.isArray(line[0]) || !Array.isArray(line[1]))
      throw new Error("not a shard (its agent line is not [agents, digests])");
    const [agents, digests] = line as [unknown[], unknown[]];
    for (const a of agents) placed(a, index);
    for (const d of digests)
      if (typeof d !== "string") throw new Error("its agent line names a digest that is not a string");
    return new LazyShard(agents as string[], new Set(digests as string[]), text.slice(end + 1));
  }

  /** A format-2 shard (parsed JSON) at position `index`. Throws when the value is not shaped like a shard. */
  static fromJson(raw: unknown, index: number): LazyShard {
    const agents = (raw as { agents?: unknown } | null)?.agents;
    if (typeof agents !== "object" || agents === null || Array.isArray(agents)) throw new Error("not a shard");
    const names: string[] = [];
    const digests = new Set<string>();
    // for-in over parsed JSON: own keys only (JSON.parse makes no inherited enumerable ones).
    for (const agent in agents) {
      placed(agent, index);
      const releases = (agents as Record<string, { releases?: unknown } | null>)[agent]?.releases;
      if (typeof releases !== "object" || releases === null) throw new Error(`${agent} has no releases`);
      for (const version in releases) {
        const d = (releases as Record<string, unknown>)[version];
        // Only used as a key to fetch: a malformed one is missing from every store, so the load fails (zod checks
        // the exact form before anything is served).
        if (typeof d !== "string") throw new Error(`${agent} names a release without a digest`);
        digests.add(d);
      }
      names.push(agent);
    }
    return new LazyShard(names, digests, { parsed: raw });
  }

  /** The agent's published state, or why the shard cannot be used. Validates the shard once. */
  agent(name: string): PublishedAgent | { error: string } {
    if (this.validated === null && this.error === null) this.validate();
    if (this.error !== null) return { error: this.error };
    const all = (this.validated as Shard).agents;
    const a = all[name];
    return a !== undefined && Object.hasOwn(all, name) ? a : { error: `${name} is not in its shard` };
  }

  private validate(): void {
    const body = this.body;
    this.body = null;
    let raw: unknown;
    if (typeof body === "string") {
      try {
        raw = JSON.parse(body);
      } catch {
        this.error = "the shard is not JSON";
        return;
      }
    } else raw = body?.parsed;
    const parsed = Shard.safeParse(raw);
    if (!parsed.success) {
      this.error = `the shard is invalid: ${parsed.error.issues[0]?.message}`;
      return;
    }
    const mismatch = typeof body === "string" ? disagreement(parsed.data, this.agents, this.digests) : null;
    if (mismatch !== null) this.error = `the shard's agent line disagrees with it: ${mismatch}`;
    else this.validated = parsed.data;
  }
}

/** Throws unless `agent` is a name that belongs at shard `index` (an agent is published in its own shard only). */
function placed(agent: unknown, index: number): void {
  if (typeof agent !== "string") throw new Error("its agent line names an agent that is not a string");
  if (shardOf(agent) !== index) throw new Error(`${agent} is published in shard ${index}, not its own`);
}

/** Why the first line does not describe the shard, or null when it does. */
function disagreement(shard: Shard, agents: readonly string[], digests: ReadonlySet<string>): string | null {
  const names = Object.keys(shard.agents);
  // A Set, not agents.includes: a shard may hold every agent (ids are the users'), and n² compares of 10,000
  // names cost ~2 s of the first request's CPU.
  const listed = new Set(agents);
  if (names.length !== agents.length || listed.size !== agents.length) return "other agents";
  for (const name of names) {
    if (!listed.has(name)) return `${name} is not listed`;
    for (const d of Object.values(shard.agents[name]?.releases ?? {}))
      if (!digests.has(d)) return `${name} names ${d}, which is not listed`;
  }
  return null;
}
