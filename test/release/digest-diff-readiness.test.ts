/**
 * Canonical JSON and the digest (CONTRACT §1), the manifest diff (§4.2) and the readiness gate (§4.3).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { diffManifests } from "../../src/release/diff";
import { canonicalJson, digestOf } from "../../src/release/digest";
import { readinessGaps } from "../../src/release/readiness";
import { type Manifest, Manifest as ManifestSchema } from "../../src/release/schema";
import { manifest } from "../helpers/fixtures";

const UP = "http://upstream.test";

/** The same value with every object's keys in reverse insertion order. */
function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(
    Object.entries(v)
      .reverse()
      .map(([k, x]) => [k, reverseKeys(x)]),
  );
}

const clone = <T>(v: T): T => structuredClone(v);

describe("canonicalJson", () => {
  it.each([
    [{ b: 1, a: [{ d: 2, c: 3 }] }, '{"a":[{"c":3,"d":2}],"b":1}'],
    [{ z: { y: { x: null } }, a: "é\n" }, '{"a":"é\\n","z":{"y":{"x":null}}}'],
    [{ b: undefined, a: 1 }, '{"a":1}'],
    [[3, 1, 2], "[3,1,2]"],
    [{ B: 1, a: 2, _: 3, "10": 4, "9": 5 }, '{"10":4,"9":5,"B":1,"_":3,"a":2}'],
    ["text", '"text"'],
    [0, "0"],
    [null, "null"],
  ])("%j → %s", (value, want) => {
    expect(canonicalJson(value)).toBe(want);
  });

  it("has no whitespace, is valid JSON, and round-trips to an equal value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalJson(v);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(v)));
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
    );
  });

  it("does not depend on key order", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(reverseKeys(v))).toBe(canonicalJson(v));
      }),
    );
  });
});

describe("digestOf", () => {
  it("is sha256: + hex of the canonical JSON", async () => {
    expect(await digestOf({})).toBe("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    expect(await digestOf({ b: 1, a: [{ d: 2, c: 3 }] })).toBe(
      "sha256:aa0fff90b247460fff3592ff491ac879c69b05ee5efa14393d3154bd9199273f",
    );
  });

  it("is the same for a manifest written with its keys in another order", async () => {
    const m = manifest("bot", "v1", UP);
    expect(await digestOf(reverseKeys(m))).toBe(await digestOf(m));
  });

  it.each([
    ["a tool's risk", (m: Manifest) => (m.tools[0]!.risk = "write")],
    ["the system prompt", (m: Manifest) => (m.instructions.system += " ")],
    ["a model param", (m: Manifest) => (m.model.params = { temperature: 0.3 })],
    ["an upstream", (m: Manifest) => (m.workflows.default!.upstream = `${UP}/other`)],
    ["metadata", (m: Manifest) => (m.metadata = { commit: "abc1235" })],
    ["the tool order", (m: Manifest) => m.tools.reverse()],
  ] as [string, (m: Manifest) => void][])("changes when %s changes", async (_what, mutate) => {
    const m = manifest("bot", "v1", UP);
    const changed = clone(m);
    mutate(changed);
    expect(await digestOf(changed)).not.toBe(await digestOf(m));
    expect(await digestOf(changed)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe("diffManifests", () => {
  const base = manifest("bot", "v1", UP);

  it("finds nothing between a manifest and itself, or with its tools reordered", () => {
    expect(diffManifests(base, clone(base))).toEqual([]);
    const reordered = clone(base);
    reordered.tools.reverse();
    expect(diffManifests(base, reordered)).toEqual([]);
  });

  it("matches tools by name and reports each changed field", () => {
    const to = clone(base);
    to.tools = [
      { name: "issue_refund", risk: "write", approval: "always" },
      { name: "search_kb", risk: "read" },
      { name: "lookup_order", risk: "read" },
    ];
    expect(diffManifests(base, to)).toEqual([
      { path: "tools[issue_refund].risk", from: "destructive", to: "write" },
      { path: "tools[lookup_order]", from: null, to: { risk: "read" } },
      { path: "tools[send_email]", from: { risk: "write" }, to: null },
    ]);
  });

  it("matches workflows by name", () => {
    const to = clone(base);
    to.workflows = {
      simple: { upstream: `${UP}/simple/v1` },
      default: { upstream: `${UP}/agent/v2`, timeoutMs: 1500 },
      safe: { upstream: `${UP}/safe` },
    };
    expect(diffManifests(base, to)).toEqual([
      { path: "workflows.default.upstream", from: `${UP}/agent/v1`, to: `${UP}/agent/v2` },
      { path: "workflows.safe", from: null, to: { upstream: `${UP}/safe` } },
    ]);
  });

  it("reports nested scalar changes with dotted paths, and arrays that changed length as a whole", () => {
    const to = clone(base);
    to.version = "v2";
    to.model.params = { temperature: 0.5, top_p: 1 };
    to.rollout!.owners = ["alice@example.com", "bob"];
    delete to.description;
    expect(diffManifests(base, to)).toEqual([
      { path: "description", from: "test release v1", to: null },
      { path: "model.params.temperature", from: 0.2, to: 0.5 },
      { path: "model.params.top_p", from: null, to: 1 },
      { path: "rollout.owners", from: ["alice@example.com"], to: ["alice@example.com", "bob"] },
      { path: "version", from: "v1", to: "v2" },
    ]);
  });

  it.each(["constructor", "toString", "valueOf"])(
    "a tool, workflow or metadata key named %s is diffed like any other name",
    (name) => {
      const to = clone(base);
      to.tools.push({ name, risk: "read" });
      to.workflows[name] = { upstream: `${UP}/x` };
      to.metadata = { ...to.metadata, [name]: 1 };
      expect(diffManifests(base, to)).toEqual([
        { path: `metadata.${name}`, from: null, to: 1 },
        { path: `tools[${name}]`, from: null, to: { risk: "read" } },
        { path: `workflows.${name}`, from: null, to: { upstream: `${UP}/x` } },
      ]);
      expect(diffManifests(to, base).map((c) => c.to)).toEqual([null, null, null]);
    },
  );
});

describe("MCP servers and tool servers (CONTRACT §1.1)", () => {
  const base = manifest("bot", "v1", UP);
  const withServer: Manifest = {
    ...base,
    tools: [...base.tools, { name: "create_ticket", risk: "write", server: "helpdesk" }],
    mcpServers: { helpdesk: { url: "https://mcp.internal/helpdesk", timeoutMs: 30000 } },
  };

  it("diff names a new server by name, a changed server field, and a tool's server", () => {
    expect(diffManifests(base, withServer)).toEqual([
      { path: "mcpServers.helpdesk", from: null, to: { url: "https://mcp.internal/helpdesk", timeoutMs: 30000 } },
      { path: "tools[create_ticket]", from: null, to: { risk: "write", server: "helpdesk" } },
    ]);
    const moved: Manifest = {
      ...withServer,
      tools: withServer.tools.map((t) => (t.name === "create_ticket" ? { ...t, server: "desk2" } : t)),
      mcpServers: {
        helpdesk: { url: "https://mcp.internal/helpdesk/v2", timeoutMs: 30000 },
        desk2: { url: "https://mcp.internal/desk2" },
      },
    };
    expect(diffManifests(withServer, moved)).toEqual([
      { path: "mcpServers.desk2", from: null, to: { url: "https://mcp.internal/desk2" } },
      {
        path: "mcpServers.helpdesk.url",
        from: "https://mcp.internal/helpdesk",
        to: "https://mcp.internal/helpdesk/v2",
      },
      { path: "tools[create_ticket].server", from: "helpdesk", to: "desk2" },
    ]);
  });

  it("readiness asks for every tool's server to be declared", () => {
    const gaps = (m: Manifest) => readinessGaps({ manifest: m, digest: "sha256:x", releaseExists: () => true });
    expect(gaps(withServer)).toEqual([]);
    const { mcpServers: _, ...undeclared } = withServer;
    expect(gaps(undeclared)).toEqual(["tools[create_ticket].server: server helpdesk is not declared in mcpServers"]);
    expect(gaps({ ...withServer, mcpServers: { other: { url: "https://mcp.internal/o" } } })).toHaveLength(1);
  });

  it("the schema takes mcpServers and tool servers strictly", () => {
    expect(ManifestSchema.safeParse(withServer).success).toBe(true);
    const bad = [
      { ...withServer, mcpServers: { helpdesk: { url: "ftp://x" } } },
      { ...withServer, mcpServers: { helpdesk: { url: "https://x", timeout: 5 } } },
      { ...withServer, mcpServers: { "bad name": { url: "https://x" } } },
      { ...withServer, tools: [{ name: "t", risk: "read", server: "a/b" }] },
    ];
    for (const m of bad) expect(ManifestSchema.safeParse(m).success).toBe(false);
  });
});

describe("readinessGaps", () => {
  const stored = new Set(["v0", "v1"]);
  const exists = (v: string) => stored.has(v);
  const ready = (): Manifest => {
    const m = manifest("bot", "v1", UP);
    m.rollout!.fallback = "v0";
    return m;
  };
  const gaps = (m: Manifest, digest: string | undefined) =>
    readinessGaps({ manifest: m, digest, releaseExists: exists });

  it("a release answering all five questions has no gap (fallback a stored version, or off)", () => {
    expect(gaps(ready(), "sha256:x")).toEqual([]);
    const off = ready();
    off.rollout!.fallback = "off";
    expect(gaps(off, "sha256:x")).toEqual([]);
  });

  it.each([
    ["not stored", (_m: Manifest) => undefined, /^digest:/],
    ["no fallback", (m: Manifest) => delete m.rollout!.fallback, /^rollout\.fallback: no stable release/],
    ["fallback to itself", (m: Manifest) => (m.rollout!.fallback = "v1"), /^rollout\.fallback: .*own fallback/],
    [
      "fallback missing",
      (m: Manifest) => (m.rollout!.fallback = "v9"),
      /^rollout\.fallback: release v9 does not exist/,
    ],
    ["no owners", (m: Manifest) => delete m.rollout!.owners, /^rollout\.owners:/],
    ["empty owners", (m: Manifest) => (m.rollout!.owners = []), /^rollout\.owners:/],
    ["no triggers", (m: Manifest) => delete m.rollout!.triggers, /^rollout\.triggers:/],
    ["empty triggers", (m: Manifest) => (m.rollout!.triggers = []), /^rollout\.triggers:/],
    ["no userFallback", (m: Manifest) => delete m.rollout!.userFallback, /^rollout\.userFallback:/],
  ] as [string, (m: Manifest) => unknown, RegExp][])("names the gap: %s", (what, mutate, want) => {
    const m = ready();
    mutate(m);
    const g = gaps(m, what === "not stored" ? undefined : "sha256:x");
    expect(g).toHaveLength(1);
    expect(g[0]).toMatch(want);
  });

  it("names all five gaps at once, in a fixed order", () => {
    const m = ready();
    delete m.rollout;
    expect(gaps(m, undefined).map((g) => g.split(":")[0])).toEqual([
      "digest",
      "rollout.fallback",
      "rollout.owners",
      "rollout.triggers",
      "rollout.userFallback",
    ]);
  });
});
