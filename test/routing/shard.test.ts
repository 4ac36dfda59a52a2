/**
 * The shard's agent line is checked against the shard on first use (src/routing/shard.ts): the same agents,
 * each once, and every digest listed. Here on one crowded shard (ids are the users', so every agent may hash to
 * one position), where the check runs on a Set of the listed names.
 */
import { describe, expect, it } from "vitest";
import { LazyShard, shardText } from "../../src/routing/shard";
import { type PublishedAgent, type Shard, shardOf } from "../../src/routing/snapshot";

const digest = (i: number) => `sha256:${i.toString(16).padStart(64, "0")}`;
const published = (i: number): PublishedAgent => ({
  pointers: { active: "v1", fallback: null, canary: null, offFrom: null },
  releases: { v1: digest(i) },
  overrides: [],
});

/** `n` agent ids that all hash to one position. */
function crowd(n: number): { position: number; ids: string[] } {
  const position = shardOf("crowd-0");
  const ids: string[] = [];
  for (let i = 0; ids.length < n; i++) if (shardOf(`crowd-${i}`) === position) ids.push(`crowd-${i}`);
  return { position, ids };
}

describe("a crowded shard's agent line", () => {
  const { position, ids } = crowd(400);
  const shard: Shard = { agents: Object.fromEntries(ids.map((id, i) => [id, published(i)])) };

  it("matching the shard: every agent served", () => {
    const lazy = LazyShard.fromText(shardText(shard), position);
    expect(lazy.agents).toHaveLength(400);
    expect(lazy.agent(ids[399] as string)).toMatchObject({ releases: { v1: digest(399) } });
    expect(lazy.agent(ids[0] as string)).toMatchObject({ releases: { v1: digest(0) } });
  });

  it("listing one agent twice in place of another: the shard is refused, every agent 503", () => {
    const text = shardText(shard);
    const end = text.indexOf("\n");
    const [names, digests] = JSON.parse(text.slice(0, end)) as [string[], string[]];
    names[7] = names[8] as string;
    const lazy = LazyShard.fromText(`${JSON.stringify([names, digests])}\n${text.slice(end + 1)}`, position);
    expect(lazy.agent(ids[0] as string)).toEqual({ error: "the shard's agent line disagrees with it: other agents" });
  });

  it("leaving out one agent and naming a stranger instead: refused", () => {
    const text = shardText(shard);
    const end = text.indexOf("\n");
    const [names, digests] = JSON.parse(text.slice(0, end)) as [string[], string[]];
    const stranger = crowd(401).ids[400] as string;
    names[3] = stranger;
    const lazy = LazyShard.fromText(`${JSON.stringify([names, digests])}\n${text.slice(end + 1)}`, position);
    expect(lazy.agent(stranger)).toEqual({
      error: `the shard's agent line disagrees with it: ${ids[3]} is not listed`,
    });
  });
});
