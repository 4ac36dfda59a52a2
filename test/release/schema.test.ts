/**
 * The release manifest schema (CONTRACT §1.1, §4.2): strict at every level except `retrieval` and `metadata`,
 * duplicate tool names refused, and the identifiers and URLs held to their shapes.
 */
import { describe, expect, it } from "vitest";
import { Manifest, OverrideSet } from "../../src/release/schema";
import { Override, Scope } from "../../src/routing/override";
import { manifest } from "../helpers/fixtures";

const UP = "http://upstream.test";
type Json = Record<string, unknown>;

/** A complete manifest as plain JSON, every optional part present, so every nested object can be poked. */
function full(): Json {
  const m = manifest("support-bot", "2026.11.27-1", UP) as unknown as Json;
  const rollout = m.rollout as Json;
  rollout.triggers = [
    ...(rollout.triggers as Json[]),
    { failureClass: "tool_blocked", maxRate: 0.01, minRequests: 100, windowSeconds: 300, action: "abort-canary" },
    {
      failureClass: "upstream_error",
      maxRate: 0.05,
      minRequests: 50,
      windowSeconds: 120,
      action: { set: { mode: "draft-only" } },
    },
  ];
  return JSON.parse(JSON.stringify(m)) as Json;
}

/** Walks `path` (keys and indices) inside `m` and returns the object there. */
function at(m: Json, path: (string | number)[]): Json {
  return path.reduce<unknown>((o, k) => (o as Json)[k as string], m) as Json;
}

describe("Manifest", () => {
  it("accepts the contract's example shape", () => {
    const r = Manifest.safeParse(full());
    expect(r.error?.issues).toBeUndefined();
    expect(r.success).toBe(true);
  });

  it("adds nothing: the parsed value is exactly the input (the digest covers what the author wrote)", () => {
    const input = full();
    expect(Manifest.parse(input)).toEqual(input);
  });

  it.each([
    ["the top level", []],
    ["instructions", ["instructions"]],
    ["model", ["model"]],
    ["a tool", ["tools", 2]],
    ["a workflow", ["workflows", "default"]],
    ["approval", ["approval"]],
    ["rollout", ["rollout"]],
    ["a trigger", ["rollout", "triggers", 0]],
    ["a trigger's set action", ["rollout", "triggers", 2, "action"]],
    ["a trigger's set knobs", ["rollout", "triggers", 2, "action", "set"]],
    ["userFallback", ["rollout", "userFallback"]],
  ] as [string, (string | number)[]][])("rejects an unknown field in %s", (_where, path) => {
    const m = full();
    at(m, path).mispelled = true;
    const r = Manifest.safeParse(m);
    expect(r.success).toBe(false);
    expect(r.error?.issues.some((i) => i.code === "unrecognized_keys" && i.path.join(".") === path.join("."))).toBe(
      true,
    );
  });

  it.each([
    ["retrieval", ["retrieval"]],
    ["metadata", ["metadata"]],
  ] as [string, string[]][])("%s is free-form", (_where, path) => {
    const m = full();
    Object.assign(at(m, path), { anything: { nested: [1, "two", null] }, more: true });
    expect(Manifest.safeParse(m).success).toBe(true);
  });

  it("rejects duplicate tool names, pointing at the second", () => {
    const m = full();
    (m.tools as Json[]).push({ name: "send_email", risk: "read" });
    const r = Manifest.safeParse(m);
    expect(r.success).toBe(false);
    expect(r.error?.issues).toContainEqual(
      expect.objectContaining({ path: ["tools", 3, "name"], message: "duplicate tool send_email" }),
    );
  });

  it.each([
    ["agent id with capitals", (m: Json) => Object.assign(m, { agent: "Support" })],
    ["agent id too long", (m: Json) => Object.assign(m, { agent: "a".repeat(64) })],
    ["version with a slash", (m: Json) => Object.assign(m, { version: "v1/2" })],
    ["version starting with a dot", (m: Json) => Object.assign(m, { version: ".v1" })],
    ["no default workflow", (m: Json) => Object.assign(m, { workflows: { simple: { upstream: UP } } })],
    ["a non-http upstream", (m: Json) => Object.assign(at(m, ["workflows"]), { default: { upstream: "file:///etc" } })],
    ["a zero timeout", (m: Json) => Object.assign(at(m, ["workflows", "default"]), { timeoutMs: 0 })],
    ["an unknown risk", (m: Json) => Object.assign(at(m, ["tools", 0]), { risk: "harmless" })],
    ["approval other than always", (m: Json) => Object.assign(at(m, ["tools", 0]), { approval: "never" })],
    ["an unknown provider", (m: Json) => Object.assign(at(m, ["model"]), { provider: "acme" })],
    ["fallback that is not a version", (m: Json) => Object.assign(at(m, ["rollout"]), { fallback: "../v1" })],
    ["a maxRate above 1", (m: Json) => Object.assign(at(m, ["rollout", "triggers", 0]), { maxRate: 1.5 })],
    ["an unknown trigger action", (m: Json) => Object.assign(at(m, ["rollout", "triggers", 0]), { action: "panic" })],
    ["an empty set action", (m: Json) => Object.assign(at(m, ["rollout", "triggers", 2]), { action: { set: {} } })],
    [
      "a userFallback status below 200",
      (m: Json) => Object.assign(at(m, ["rollout", "userFallback"]), { status: 101 }),
    ],
    ["missing instructions", (m: Json) => delete m.instructions],
  ] as [string, (m: Json) => void][])("rejects %s", (_what, mutate) => {
    const m = full();
    mutate(m);
    expect(Manifest.safeParse(m).success).toBe(false);
  });

  it("accepts a draft without rollout answers (the readiness gate asks for them later)", () => {
    const m = full();
    delete m.rollout;
    expect(Manifest.safeParse(m).success).toBe(true);
  });

  it.each(["off", "2026.11.20-3"])("accepts fallback %s", (fallback) => {
    const m = full();
    at(m, ["rollout"]).fallback = fallback;
    expect(Manifest.safeParse(m).success).toBe(true);
  });
});

describe("override knobs and scope", () => {
  it.each([
    [{ mode: "draft-only" }, true],
    [{ disableTools: ["send_email"], forceApproval: ["write"] }, true],
    [{ toolScope: [] }, true],
    [{}, false],
    [{ mode: "on" }, false],
    [{ disabletools: ["send_email"] }, false],
    [{ forceApproval: ["harmless"] }, false],
  ])("%j valid: %s", (set, valid) => {
    expect(OverrideSet.safeParse(set).success).toBe(valid);
  });

  it.each([
    [{ agent: "*" }, true],
    [{ agent: "support-bot" }, true],
    [{ agent: "support-bot", release: "v1" }, true],
    [{ agent: "*", release: "v1" }, false],
    [{ agent: "support-bot", version: "v1" }, false],
    [{ agent: "Support" }, false],
  ])("scope %j valid: %s", (scope, valid) => {
    expect(Scope.safeParse(scope).success).toBe(valid);
  });

  it("an override record is strict too", () => {
    const o = {
      id: "ovr_1",
      scope: { agent: "*" },
      set: { mode: "off" },
      reason: "incident",
      actor: "alice",
      createdAt: "2026-01-01T00:00:00.000Z",
    };
    expect(Override.safeParse(o).success).toBe(true);
    expect(Override.safeParse({ ...o, ttl: 5 }).success).toBe(false);
    expect(Override.safeParse({ ...o, expiresAt: "tomorrow" }).success).toBe(false);
  });
});
