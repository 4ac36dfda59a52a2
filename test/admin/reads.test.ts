/**
 * The read routes against what they describe (CONTRACT §4.2):
 * - `diff` names every changed field, with tools and workflows matched by name (reordering is no change);
 * - `explain` gives the same decision the data plane stamps on a request with the same key and pin;
 * - `audit` pages newest first, and following `next` as `before` walks the whole log once, in order.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Manifest } from "../../src/release/schema";
import { type AuditEntry, audit, call, failed, ok } from "../helpers/admin";
import { put, release, served, upstream } from "./support";

describe("diff", () => {
  const A = "diff-bot";
  const v1 = release(A, "v1", "diff");
  const v2: Manifest = structuredClone(v1);
  v2.version = "v2";
  // Tools: reordered, one removed, one added, one given a new field.
  v2.tools = [
    { name: "issue_refund", risk: "destructive", approval: "always" },
    { name: "lookup_order", risk: "read" },
    { name: "search_kb", risk: "read", description: "the knowledge base" },
  ];
  // Workflows: one changed, one removed, one added (object keys in another order too).
  v2.workflows = {
    escalate: { upstream: `${upstream}/diff/escalate` },
    default: { ...v1.workflows.default!, timeoutMs: 3000 },
  };

  beforeAll(async () => {
    await put(v1);
    await put(v2);
  });

  it("names every changed field, tools and workflows by name", async () => {
    const d = await ok<{ from: unknown; to: unknown; changes: unknown[] }>(
      call("viewer", "GET", `/agents/${A}/diff?from=v1&to=v2`),
    );
    expect(d.changes).toEqual([
      { path: "tools[lookup_order]", from: null, to: { risk: "read" } },
      { path: "tools[search_kb].description", from: null, to: "the knowledge base" },
      { path: "tools[send_email]", from: { risk: "write" }, to: null },
      { path: "version", from: "v1", to: "v2" },
      { path: "workflows.default.timeoutMs", from: 2000, to: 3000 },
      { path: "workflows.escalate", from: null, to: { upstream: `${upstream}/diff/escalate` } },
      { path: "workflows.simple", from: v1.workflows.simple, to: null },
    ]);
    expect(d.from).toEqual({ version: "v1", digest: expect.stringMatching(/^sha256:/) });
    expect(d.to).toEqual({ version: "v2", digest: expect.stringMatching(/^sha256:/) });
  });

  it("the other way round names the same paths with from and to swapped", async () => {
    const there = await ok<{ changes: Array<{ path: string; from: unknown; to: unknown }> }>(
      call("viewer", "GET", `/agents/${A}/diff?from=v1&to=v2`),
    );
    const back = await ok<{ changes: Array<{ path: string; from: unknown; to: unknown }> }>(
      call("viewer", "GET", `/agents/${A}/diff?from=v2&to=v1`),
    );
    expect(back.changes).toEqual(there.changes.map((c) => ({ path: c.path, from: c.to, to: c.from })));
  });

  it("a release against itself has no changes; an unknown version is a 404", async () => {
    expect(await ok(call("viewer", "GET", `/agents/${A}/diff?from=v2&to=v2`))).toMatchObject({ changes: [] });
    await failed(call("viewer", "GET", `/agents/${A}/diff?from=v1&to=v9`), 404, "unknown_release");
  });
});

describe("explain", () => {
  const A = "explain-bot";

  beforeAll(async () => {
    await put(release(A, "v1", "explain"));
    await put(release(A, "v2", "explain"));
    await ok(call("admin", "POST", `/agents/${A}/promote`, { version: "v1", reason: "setup" }));
    await ok(call("admin", "POST", `/agents/${A}/canary`, { version: "v2", percent: 40, reason: "setup" }));
    // A lane on the canary only, so that canary and stable requests differ in lane and overrides as well.
    const set = { mode: "draft-only", disableTools: ["search_kb"] };
    await ok(call("operator", "POST", "/overrides", { scope: { agent: A, release: "v2" }, set, reason: "r" }), 201);
  });

  const CASES: Array<{ key?: string; pin?: string }> = [
    {},
    { pin: "v1" },
    { pin: "v2" },
    { pin: "v9" },
    { key: "user-0", pin: "v1" },
    // Read exactly as the data plane reads its headers: empty values name nothing, a long pin is cut.
    { key: "" },
    { pin: "" },
    { key: "", pin: "" },
    { key: "user-1", pin: "" },
    { pin: `v2${"x".repeat(300)}` },
    { key: "k".repeat(512) },
    ...Array.from({ length: 24 }, (_, i) => ({ key: `user-${i}` })),
  ];

  it("gives the decision the data plane stamps, for every key and pin", async () => {
    const seen = new Set<string>();
    for (const c of CASES) {
      const query = new URLSearchParams({
        agent: A,
        ...(c.key !== undefined ? { key: c.key } : {}),
        ...(c.pin !== undefined ? { release: c.pin } : {}),
      });
      const explained = await ok<{
        ok: boolean;
        decision: { kind: string; headers: Record<string, string>; reasons: string[] };
      }>(call("viewer", "GET", `/explain?${query}`));
      const headers: Record<string, string> = {};
      if (c.key !== undefined) headers["x-agent-key"] = c.key;
      if (c.pin !== undefined) headers["x-agent-release"] = c.pin;
      const s = await served(A, headers);
      const label = JSON.stringify(c);
      expect(s.status, label).toBe(200);
      expect(explained.ok, label).toBe(true);
      expect(explained.decision.headers, label).toEqual({
        "x-agent-release": s.release,
        "x-agent-lane": s.lane,
        "x-agent-decision": s.decision,
      });
      expect(explained.decision.reasons.length, label).toBeGreaterThan(0);
      seen.add(`${explained.decision.kind} ${s.lane}`);
    }
    // The comparison covered stable, canary and pinned decisions, in both lanes.
    expect([...seen].sort()).toEqual([
      "canary draft-only",
      "pinned autonomous",
      "pinned draft-only",
      "stable autonomous",
    ]);
  });

  it("the data plane, warm, agrees with explain after a change too", async () => {
    await ok(call("admin", "POST", `/agents/${A}/canary`, { version: "v2", percent: 100, reason: "all in" }));
    await served(A); // a cold isolate picks the new revision up
    const res = await SELF.fetch(`https://gw/agents/${A}/chat`, {
      method: "POST",
      body: "{}",
      headers: { "x-agent-key": "user-1" },
    });
    await res.body?.cancel();
    const explained = await ok<{ decision: { headers: Record<string, string> } }>(
      call("viewer", "GET", `/explain?agent=${A}&key=user-1`),
    );
    expect(explained.decision.headers).toEqual({
      "x-agent-release": res.headers.get("x-agent-release"),
      "x-agent-lane": res.headers.get("x-agent-lane"),
      "x-agent-decision": res.headers.get("x-agent-decision"),
    });
    expect(explained.decision.headers["x-agent-release"]).toBe("v2");
  });

  it("an unknown agent: explain says so, and the data plane answers 404", async () => {
    const explained = await ok<{ ok: boolean; error: { code: string; status: number } }>(
      call("viewer", "GET", "/explain?agent=nobody-here"),
    );
    expect(explained).toMatchObject({ ok: false, error: { code: "unknown_agent", status: 404 } });
    expect((await served("nobody-here")).status).toBe(404);
  });

  it("a key over 512 characters: 400 bad_key from both", async () => {
    const key = "k".repeat(513);
    await failed(call("viewer", "GET", `/explain?agent=${A}&key=${key}`), 400, "bad_key");
    expect((await served(A, { "x-agent-key": key })).status).toBe(400);
  });
});

describe("audit paging", () => {
  const A = "paged-bot";

  beforeAll(async () => {
    await put(release(A, "v1", "paged"));
    await ok(call("admin", "POST", `/agents/${A}/promote`, { version: "v1", reason: "setup" }));
    for (let i = 0; i < 5; i++) {
      await ok(
        call("operator", "POST", "/overrides", { scope: { agent: A }, set: { mode: "draft-only" }, reason: `o${i}` }),
        201,
      );
    }
  });

  /** Follows `next` from the first page to the end, checking each page; returns the pages. */
  async function walk(query: string, limit: number): Promise<AuditEntry[][]> {
    const pages: AuditEntry[][] = [];
    let before: number | null = null;
    for (let guard = 0; guard < 100; guard++) {
      const page = await audit(`?limit=${limit}${query}${before === null ? "" : `&before=${before}`}`);
      expect(page.entries.length).toBeLessThanOrEqual(limit);
      pages.push(page.entries);
      if (page.next === null) return pages;
      expect(page.next).toBe(page.entries.at(-1)!.seq);
      before = page.next;
    }
    throw new Error("the cursor never ended");
  }

  it("an agent's log pages newest first, and the pages put together are the whole log", async () => {
    const all = (await audit(`?agent=${A}&limit=500`)).entries;
    expect(all.map((e) => e.action)).toEqual([...Array(5).fill("override.add"), "promote", "release.put"]);
    expect(all.map((e) => e.reason)).toEqual(["o4", "o3", "o2", "o1", "o0", "setup", expect.any(String)]);
    const pages = await walk(`&agent=${A}`, 3);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(all);
  });

  it("a log that fills its last page exactly ends with an empty page", async () => {
    const pages = await walk(`&agent=${A}`, 7);
    expect(pages.map((p) => p.length)).toEqual([7, 0]);
  });

  it("the whole log pages the same way, seq strictly decreasing", async () => {
    const all = (await audit("?limit=500")).entries;
    expect(all.length).toBeGreaterThan(10);
    const pages = await walk("", 4);
    const flat = pages.flat();
    expect(flat).toEqual(all);
    for (let i = 1; i < flat.length; i++) expect(flat[i]!.seq).toBeLessThan(flat[i - 1]!.seq);
  });
});
