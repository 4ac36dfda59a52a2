/**
 * Releases are immutable (CONTRACT §4.2 PUT): the first PUT stores (201 with the digest), the same content again
 * is idempotent (200, same digest, no new revision or audit entry — even with its keys in another order, as the
 * digest is of canonical JSON), and other content under the same version is refused with 409 and leaves the
 * stored release exactly as it was.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { Manifest } from "../../src/release/schema";
import { call, everything, failed, ok } from "../helpers/admin";
import { put, release } from "./support";

const AGENT = "immutable-bot";
const original = release(AGENT, "v1", "release-put");

interface Stored {
  manifest: Manifest;
  digest: string;
  createdAt: string;
  createdBy: string;
}
const stored = () => ok<Stored>(call("viewer", "GET", `/agents/${AGENT}/releases/v1`));

/** Reverses the key order of every object, recursively: the same content, written differently. */
function reordered(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reordered);
  if (typeof v !== "object" || v === null) return v;
  return Object.fromEntries(
    Object.entries(v)
      .reverse()
      .map(([k, x]) => [k, reordered(x)]),
  );
}

let digest = "";
beforeAll(async () => {
  digest = await put(original);
});

describe("PUT of an existing version", () => {
  it("stores the manifest as sent, with its digest and author", async () => {
    const s = await stored();
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(s).toEqual({ manifest: original, digest, createdAt: expect.any(String), createdBy: "admin@test" });
  });

  it.each([
    ["the same body", () => original as unknown, true],
    ["the same content with its keys in another order", () => reordered(original), false],
  ])("with %s → 200, same digest, nothing changed", async (_what, body, sameText) => {
    expect(JSON.stringify(body()) === JSON.stringify(original)).toBe(sameText);
    const before = await everything();
    const storedBefore = await stored();
    const res = await ok<{ digest: string; changed: boolean; revision: number }>(
      call("releaser", "PUT", `/agents/${AGENT}/releases/v1`, body()),
      200,
    );
    expect(res.digest).toBe(digest);
    expect(res.changed).toBe(false);
    expect(res.revision).toBe((before.state as { revision: number }).revision);
    expect(await everything()).toEqual(before);
    expect(await stored()).toEqual(storedBefore);
  });

  const changes: Array<[string, (m: Manifest) => void]> = [
    ["the description", (m) => (m.description = "other")],
    ["the system prompt", (m) => (m.instructions = { system: "You are someone else." })],
    ["a tool's risk", (m) => (m.tools[0] = { ...m.tools[0]!, risk: "write" })],
    ["the tools' order", (m) => m.tools.reverse()],
    ["a workflow's upstream", (m) => (m.workflows.default = { upstream: "https://elsewhere.example/agent" })],
    ["the rollout fallback", (m) => (m.rollout = { ...m.rollout, fallback: "v0" })],
    ["free-form metadata", (m) => (m.metadata = { commit: "fff0000" })],
    ["a field removed", (m) => delete m.retrieval],
  ];

  it.each(changes)("with %s changed → 409 release_exists, the stored release unchanged", async (_what, change) => {
    const other = structuredClone(original);
    change(other);
    expect(other).not.toEqual(original);
    const before = await everything();
    const storedBefore = await stored();
    const error = await failed(call("admin", "PUT", `/agents/${AGENT}/releases/v1`, other), 409, "release_exists");
    expect(error.details).toEqual({ digest });
    expect(await stored()).toEqual(storedBefore);
    expect(storedBefore.manifest).toEqual(original);
    expect(await everything()).toEqual(before);
  });

  it("the release list still holds one v1, with the first digest", async () => {
    const { releases } = await ok<{ releases: Array<{ version: string; digest: string }> }>(
      call("viewer", "GET", `/agents/${AGENT}/releases`),
    );
    expect(releases.map((r) => [r.version, r.digest])).toEqual([["v1", digest]]);
  });
});

describe("the reason of a store (?reason=)", () => {
  it("is audited as given; without it the manifest's description is", async () => {
    const withReason = release(AGENT, "v-reasoned", "release-put");
    await ok(
      call(
        "releaser",
        "PUT",
        `/agents/${AGENT}/releases/v-reasoned?reason=${encodeURIComponent("ship #42")}`,
        withReason,
      ),
      201,
    );
    const plain = release(AGENT, "v-plain", "release-put");
    await ok(call("releaser", "PUT", `/agents/${AGENT}/releases/v-plain`, plain), 201);
    const { entries } = await ok<{ entries: Array<{ action: string; reason: string; after: { version: string } }> }>(
      call("viewer", "GET", `/audit?agent=${AGENT}&limit=2`),
    );
    expect(entries.map((e) => [e.after.version, e.reason])).toEqual([
      ["v-plain", plain.description ?? "release stored"],
      ["v-reasoned", "ship #42"],
    ]);
  });

  it("an empty reason is a 400 and stores nothing", async () => {
    const m = release(AGENT, "v-empty", "release-put");
    await failed(call("releaser", "PUT", `/agents/${AGENT}/releases/v-empty?reason=%20`, m), 400, "invalid_request");
    await failed(call("viewer", "GET", `/agents/${AGENT}/releases/v-empty`), 404);
  });
});
