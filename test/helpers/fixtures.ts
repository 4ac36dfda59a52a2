/** Builders for manifests and snapshots used across tests. Plain data; no platform code. */
import { digestOf } from "../../src/release/digest";
import type { Manifest } from "../../src/release/schema";
import type { Override } from "../../src/routing/override";
import type { Pointers } from "../../src/routing/snapshot";
import type { Snapshot } from "../../src/routing/snapshot-legacy";

export function manifest(agent: string, version: string, upstream: string, extra: Partial<Manifest> = {}): Manifest {
  return {
    agent,
    version,
    description: `test release ${version}`,
    instructions: { system: `You are ${agent} at ${version}.` },
    model: { provider: "openai", name: "gpt-test", baseUrl: `${upstream}/model/v1`, params: { temperature: 0.2 } },
    tools: [
      { name: "search_kb", risk: "read" },
      { name: "send_email", risk: "write" },
      { name: "issue_refund", risk: "destructive", approval: "always" },
    ],
    workflows: {
      default: { upstream: `${upstream}/agent/${version}`, timeoutMs: 1500 },
      simple: { upstream: `${upstream}/simple/${version}` },
    },
    approval: { require: ["destructive"] },
    retrieval: { index: "kb", topK: 3 },
    rollout: {
      fallback: "off",
      owners: ["alice@example.com"],
      triggers: [
        { failureClass: "upstream_error", maxRate: 0.05, minRequests: 50, windowSeconds: 60, action: "rollback" },
      ],
      userFallback: { status: 503, body: { message: `${agent} is paused` } },
    },
    metadata: { commit: "abc1234" },
    ...extra,
  };
}

export interface AgentSpec {
  releases: Manifest[];
  pointers: Partial<Pointers>;
}

export async function snapshot(
  revision: number,
  agents: Record<string, AgentSpec>,
  overrides: Override[] = [],
): Promise<Snapshot> {
  const out: Snapshot = { format: 1, revision, publishedAt: new Date(0).toISOString(), agents: {}, overrides };
  for (const [agent, spec] of Object.entries(agents)) {
    const releases: Snapshot["agents"][string]["releases"] = {};
    for (const m of spec.releases) releases[m.version] = { manifest: m, digest: await digestOf(m) };
    out.agents[agent] = {
      pointers: { active: null, fallback: null, canary: null, offFrom: null, ...spec.pointers },
      releases,
    };
  }
  return out;
}

export function override(id: string, scope: Override["scope"], set: Override["set"], expiresAt?: string): Override {
  return {
    id,
    scope,
    set,
    reason: "test",
    actor: "tester",
    createdAt: new Date(0).toISOString(),
    ...(expiresAt ? { expiresAt } : {}),
  };
}
