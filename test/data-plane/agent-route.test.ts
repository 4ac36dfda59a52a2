/**
 * Agent traffic end to end (CONTRACT §2.1): the real Worker, real KV, a real upstream. Release choice and its
 * headers, header hygiene, lanes, the JSON outcomes that are not a proxy, and paths that could climb out.
 */
import { SELF } from "cloudflare:test";
import { beforeEach, describe, expect, inject, it } from "vitest";
import { upstreamUrl } from "../../src/proxy/forward";
import { stickyBucket } from "../../src/routing/murmur3";
import { manifest, override, snapshot } from "../helpers/fixtures";
import { freshIsolate } from "../helpers/publish";

const upstream = inject("upstream");

async function demo(revision = 1, overrides = [] as Parameters<typeof snapshot>[2]) {
  return snapshot(
    revision,
    {
      "support-bot": {
        releases: [
          manifest("support-bot", "v0", upstream),
          manifest("support-bot", "v1", upstream),
          manifest("support-bot", "v2", upstream),
        ],
        pointers: { active: "v1", fallback: "v0", canary: { version: "v2", percent: 10 } },
      },
      idle: { releases: [manifest("idle", "v1", upstream)], pointers: { active: null } },
    },
    overrides,
  );
}

interface Echo {
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string;
  method: string;
}
const echo = async (res: Response) => (await res.json()) as Echo;
const context = (h: string) => JSON.parse(new TextDecoder().decode(base64urlBytes(h))) as Record<string, unknown>;

function base64urlBytes(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

// Golden buckets of support-bot:v2 (test/routing/murmur3.test.ts pins the hash).
const IN_CANARY = "user-2"; // bucket 264 < 1000
const OUT_OF_CANARY = "user-1"; // bucket 9398

describe("agent route", () => {
  beforeEach(async () => freshIsolate(await demo()));

  it("proxies to the active release's default workflow with the context headers", async () => {
    const res = await SELF.fetch("https://gw/agents/support-bot/chat/turn?x=1&y=%20", {
      method: "POST",
      body: "hello",
      headers: { "content-type": "text/plain" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-agent-release")).toBe("v1");
    expect(res.headers.get("x-agent-lane")).toBe("autonomous");
    expect(res.headers.get("x-agent-decision")).toBe("stable");
    const got = await echo(res);
    expect(got.method).toBe("POST");
    expect(got.path).toBe("/agent/v1/chat/turn");
    expect(got.query).toBe("?x=1&y=%20");
    expect(got.body).toBe("hello");
    expect(got.headers["content-type"]).toBe("text/plain");
    expect(got.headers["x-agent-release"]).toBe("v1");
    expect(got.headers["x-agent-lane"]).toBe("autonomous");
    expect(got.headers["x-agent-tools"]).toBe("search_kb,send_email,issue_refund");
    expect(got.headers["x-agent-approval"]).toBe("issue_refund");
    expect(got.headers["x-agent-workflow"]).toBe("default");
    expect(got.headers["x-agent-digest"]).toMatch(/^sha256:[0-9a-f]{64}$/);
    const ctx = context(got.headers["x-agent-context"]!);
    expect(ctx).toMatchObject({
      release: "v1",
      digest: got.headers["x-agent-digest"],
      instructions: { system: "You are support-bot at v1." },
      model: { name: "gpt-test" },
      approval: ["issue_refund"],
      workflow: "default",
      retrieval: { index: "kb", topK: 3 },
      metadata: { commit: "abc1234" },
    });
    expect(ctx.tools).toEqual([
      { name: "search_kb", risk: "read", approval: false },
      { name: "send_email", risk: "write", approval: false },
      { name: "issue_refund", risk: "destructive", approval: true },
    ]);
  });

  it.each(["PUT", "PATCH", "DELETE"])("keeps method %s and its body", async (method) => {
    const got = await echo(await SELF.fetch("https://gw/agents/support-bot/r", { method, body: `body-${method}` }));
    expect(got.method).toBe(method);
    expect(got.body).toBe(`body-${method}`);
  });

  it("drops every client x-agent-* header but the key and the pin; spoofs have no effect", async () => {
    const res = await SELF.fetch("https://gw/agents/support-bot/x", {
      headers: {
        "x-agent-key": OUT_OF_CANARY,
        "x-agent-lane": "autonomous",
        "X-Agent-Tools": "issue_refund,format_disk",
        "x-agent-approval": "",
        "x-agent-context": "eyJ0b29scyI6WyJhbGwiXX0",
        "x-agent-digest": "sha256:spoofed",
        "x-agent-workflow": "admin",
        "x-agent-decision": "pinned",
        "x-agent-foo": "bar",
        "x-agentless": "kept",
      },
    });
    expect(res.headers.get("x-agent-decision")).toBe(
      `stable; bucket=${stickyBucket("support-bot", "v2", OUT_OF_CANARY)}`,
    );
    const got = await echo(res);
    expect(got.headers["x-agent-key"]).toBe(OUT_OF_CANARY);
    expect(got.headers["x-agent-foo"]).toBeUndefined();
    expect(got.headers["x-agent-decision"]).toBeUndefined();
    expect(got.headers["x-agent-lane"]).toBe("autonomous");
    expect(got.headers["x-agent-tools"]).toBe("search_kb,send_email,issue_refund");
    expect(got.headers["x-agent-approval"]).toBe("issue_refund");
    expect(got.headers["x-agent-workflow"]).toBe("default");
    expect(got.headers["x-agent-digest"]).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(context(got.headers["x-agent-context"]!).release).toBe("v1");
    expect(got.headers["x-agentless"]).toBe("kept");
  });

  it("sends a key in the canary to the canary, with its bucket", async () => {
    expect(stickyBucket("support-bot", "v2", IN_CANARY)).toBe(264);
    const res = await SELF.fetch("https://gw/agents/support-bot/x", { headers: { "x-agent-key": IN_CANARY } });
    expect(res.headers.get("x-agent-release")).toBe("v2");
    expect(res.headers.get("x-agent-decision")).toBe("canary; bucket=264");
    const got = await echo(res);
    expect(got.path).toBe("/agent/v2/x");
    expect(got.headers["x-agent-release"]).toBe("v2");
  });

  it("sends a key outside the canary, and a keyless or empty-keyed request, to active", async () => {
    for (const headers of [{ "x-agent-key": OUT_OF_CANARY }, {}, { "x-agent-key": "" }] as Record<string, string>[]) {
      const res = await SELF.fetch("https://gw/agents/support-bot/x", { headers });
      expect(res.headers.get("x-agent-release")).toBe("v1");
      expect((await echo(res)).path).toBe("/agent/v1/x");
    }
  });

  it("honours a pin to a live release and ignores one to the fallback, saying so", async () => {
    let res = await SELF.fetch("https://gw/agents/support-bot/x", {
      headers: { "x-agent-release": "v2", "x-agent-key": OUT_OF_CANARY },
    });
    expect(res.headers.get("x-agent-decision")).toBe("pinned");
    expect((await echo(res)).path).toBe("/agent/v2/x");

    res = await SELF.fetch("https://gw/agents/support-bot/x", {
      headers: { "x-agent-release": "v0", "x-agent-key": IN_CANARY },
    });
    expect(res.headers.get("x-agent-release")).toBe("v2");
    expect(res.headers.get("x-agent-decision")).toBe("canary; bucket=264; pin-ignored");
    const got = await echo(res);
    expect(got.path).toBe("/agent/v2/x");
    expect(got.headers["x-agent-release"]).toBe("v2"); // the decided release, not the client's pin
  });

  it("an empty x-agent-release is no pin at all", async () => {
    const res = await SELF.fetch("https://gw/agents/support-bot/x", { headers: { "x-agent-release": "" } });
    expect(res.headers.get("x-agent-decision")).toBe("stable");
    await res.body?.cancel();
  });

  it("answers 404 JSON for an unknown or malformed agent, and 503 for one with no active release", async () => {
    for (const path of ["/agents/nobody/x", "/agents/Support-Bot/x", "/agents/", "/agents/-x/y"]) {
      const res = await SELF.fetch(`https://gw${path}`);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(await res.json()).toEqual({ error: { code: "unknown_agent", message: expect.any(String) } });
    }
    const res = await SELF.fetch("https://gw/agents/idle/x");
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: { code: "no_active_release", message: expect.any(String) } });
  });

  it("refuses an over-long sticky key with 400 JSON", async () => {
    const res = await SELF.fetch("https://gw/agents/support-bot/x", { headers: { "x-agent-key": "k".repeat(513) } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("bad_key");
  });
});

describe("agent route lanes", () => {
  it("a draft-only override keeps only read tools, whatever the client claims", async () => {
    await freshIsolate(await demo(2, [override("ovr_draft", { agent: "support-bot" }, { mode: "draft-only" })]));
    const res = await SELF.fetch("https://gw/agents/support-bot/x", { headers: { "x-agent-lane": "autonomous" } });
    expect(res.headers.get("x-agent-lane")).toBe("draft-only");
    expect(res.headers.get("x-agent-decision")).toBe("stable; overrides=ovr_draft");
    const got = await echo(res);
    expect(got.headers["x-agent-lane"]).toBe("draft-only");
    expect(got.headers["x-agent-tools"]).toBe("search_kb");
    expect(got.headers["x-agent-approval"]).toBe("");
  });

  it("a workflow override routes to that workflow's upstream; one scoped to v1 leaves the canary alone", async () => {
    await freshIsolate(
      await demo(3, [
        override("ovr_wf", { agent: "support-bot", release: "v1" }, { workflow: "simple" }),
        override("ovr_ap", { agent: "*" }, { forceApproval: ["write"], disableTools: ["search_kb"] }),
      ]),
    );
    let got = await echo(await SELF.fetch("https://gw/agents/support-bot/x"));
    expect(got.path).toBe("/simple/v1/x");
    expect(got.headers["x-agent-workflow"]).toBe("simple");
    expect(got.headers["x-agent-tools"]).toBe("send_email,issue_refund");
    expect(got.headers["x-agent-approval"]).toBe("send_email,issue_refund");
    got = await echo(await SELF.fetch("https://gw/agents/support-bot/x", { headers: { "x-agent-key": IN_CANARY } }));
    expect(got.path).toBe("/agent/v2/x");
  });
});

describe("paths that could climb out of the upstream's base path", () => {
  beforeEach(async () => freshIsolate(await demo()));

  it.each([
    "/agents/support-bot/a%2Fb",
    "/agents/support-bot/a%2fb",
    "/agents/support-bot/..%2F..%2Fadmin",
    "/agents/support-bot/a%5Cb",
  ])("%s → 400 bad_path", async (path) => {
    const res = await SELF.fetch(`https://gw${path}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: "bad_path", message: expect.any(String) } });
  });

  it.each(["/agents/support-bot/a/%2e%2e/b", "/agents/support-bot/a/.%2E/b", "/agents/support-bot/%2e%2e/%2e%2e/x"])(
    "encoded dot segments in %s never reach the upstream outside the release's base path",
    async (path) => {
      // The URL parser resolves %2e%2e before the Worker sees it; whatever remains must stay under /agent/v1.
      const res = await SELF.fetch(`https://gw${path}`);
      if (res.status === 200) expect((await echo(res)).path).toMatch(/^\/agent\/v1\//);
      else expect([400, 404]).toContain(res.status);
    },
  );

  it.each([
    ["/%2e%2e/admin", true],
    ["/a/%2E%2e/b", true],
    ["/.%2e/x", true],
    ["/%2e/x", true],
    ["/a/../b", true],
    ["/a%2fb", true],
    ["/a%5cb", true],
    ["/a\\b", true],
    ["/a/b..c/%2e%2ex", false],
    ["/v1/chat.completions", false],
    ["", false],
  ])("upstreamUrl rejects %s: %s", (raw, rejected) => {
    const build = () => upstreamUrl("http://up/base/", raw, "?q=1");
    if (rejected) expect(build).toThrow(expect.objectContaining({ status: 400, code: "bad_path" }));
    else expect(build()).toBe(`http://up/base${raw}?q=1`);
  });

  it.each([
    ["http://up/base", "/x", "", "http://up/base/x"],
    ["http://up/base/", "/x", "?q=1", "http://up/base/x?q=1"],
    ["http://up/base?api-version=2", "/x", "", "http://up/base/x?api-version=2"],
    ["http://up/base/?api-version=2", "/x", "?q=1", "http://up/base/x?api-version=2&q=1"],
    ["http://up/base?api-version=2", "", "?", "http://up/base?api-version=2"],
    ["http://up/base?a=1#frag", "/x", "?b=2", "http://up/base/x?a=1&b=2"],
  ])("upstreamUrl(%s, %s, %s) → %s: the path goes before the release URL's own query", (base, raw, search, want) => {
    expect(upstreamUrl(base, raw, search)).toBe(want);
  });
});
