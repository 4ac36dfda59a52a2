/**
 * The bounds of docs/storage.md#bounds as plain calls of the pure core: each one refuses with 422
 * `limit_exceeded` naming the limit, at exactly one past the maximum and not before, and changes nothing.
 */
import { describe, expect, it } from "vitest";
import { apply } from "../../src/control/apply";
import type { Command } from "../../src/control/commands";
import { LIMITS } from "../../src/control/limits";
import { type ControlState, NO_POINTERS, type World } from "../../src/control/model";
import type { Override } from "../../src/routing/override";
import { manifest, override } from "../helpers/fixtures";

const NOW = Date.parse("2026-01-01T00:00:00.000Z");

function world(counts: { releases?: number; storedBytes?: number } = {}): World {
  return {
    now: NOW,
    actor: { name: "admin@test", role: "admin" },
    release: () => null,
    releaseCount: () => counts.releases ?? 0,
    storedBytes: () => counts.storedBytes ?? 0,
  };
}

const withAgents = (n: number): ControlState => ({
  revision: 1,
  agents: Object.fromEntries(Array.from({ length: n }, (_, i) => [`agent-${i}`, NO_POINTERS])),
  overrides: [],
  plans: {},
});

const put = (agent: string, extra = {}): Command => ({
  kind: "release.put",
  agent,
  version: "v1",
  manifest: manifest(agent, "v1", "http://up.test", extra),
  digest: "sha256:x",
});

const addOverride = (disableTools?: string[]): Command => ({
  kind: "override.add",
  id: "ovr_new",
  scope: { agent: "*" },
  set: disableTools === undefined ? { mode: "draft-only" } : { disableTools },
  reason: "why",
});

function refusedWith(out: ReturnType<typeof apply>, limit: string) {
  expect(out.ok).toBe(false);
  if (out.ok) return;
  expect(out.status).toBe(422);
  expect(out.code).toBe("limit_exceeded");
  expect(out.details).toMatchObject({ limit, max: LIMITS[limit as keyof typeof LIMITS] });
  expect(out.message).toContain(limit);
}

describe("limits", () => {
  it("agents: the 10,000th agent is stored, the 10,001st is refused; a known agent still takes releases", () => {
    expect(apply(withAgents(LIMITS.agents - 1), put("newcomer"), world()).ok).toBe(true);
    refusedWith(apply(withAgents(LIMITS.agents), put("newcomer"), world()), "agents");
    expect(apply(withAgents(LIMITS.agents), put("agent-7"), world()).ok).toBe(true);
  });

  it("releases_per_agent", () => {
    const s = withAgents(1);
    expect(apply(s, put("agent-0"), world({ releases: LIMITS.releases_per_agent - 1 })).ok).toBe(true);
    refusedWith(apply(s, put("agent-0"), world({ releases: LIMITS.releases_per_agent })), "releases_per_agent");
  });

  it("manifest_bytes: a manifest over 256 KiB as canonical JSON", () => {
    const big = { metadata: { blob: "x".repeat(LIMITS.manifest_bytes) } };
    refusedWith(apply(withAgents(1), put("agent-0", big), world()), "manifest_bytes");
    const fits = { metadata: { blob: "x".repeat(LIMITS.manifest_bytes - 2000) } };
    expect(apply(withAgents(1), put("agent-0", fits), world()).ok).toBe(true);
  });

  it("stored_bytes", () => {
    refusedWith(apply(withAgents(1), put("agent-0"), world({ storedBytes: LIMITS.stored_bytes - 10 })), "stored_bytes");
  });

  it("overrides: 500 in force; expired ones not yet removed do not count", () => {
    const many = (n: number, expiresAt?: string): Override[] =>
      Array.from({ length: n }, (_, i) => override(`ovr_${i}`, { agent: "*" }, { disableTools: ["x"] }, expiresAt));
    const s = (list: Override[]): ControlState => ({ ...withAgents(1), overrides: list });
    expect(apply(s(many(LIMITS.overrides - 1)), addOverride(), world()).ok).toBe(true);
    refusedWith(apply(s(many(LIMITS.overrides)), addOverride(), world()), "overrides");
    const expired = many(LIMITS.overrides, new Date(NOW - 1).toISOString());
    expect(apply(s(expired), addOverride(), world()).ok).toBe(true);
  });

  it("override_bytes: an override over 8 KiB as JSON", () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `tool_${i}_${"t".repeat(50)}`);
    refusedWith(apply(withAgents(1), addOverride(names(200)), world()), "override_bytes");
    expect(apply(withAgents(1), addOverride(names(100)), world()).ok).toBe(true);
  });
});
