import { SELF } from "cloudflare:test";
import { beforeEach, describe, expect, inject, it } from "vitest";
import { manifest, override, snapshot } from "./helpers/fixtures";
import { freshIsolate } from "./helpers/publish";

const upstream = inject("upstream");

async function demo(revision = 1, overrides = [] as Parameters<typeof snapshot>[2]) {
  return snapshot(
    revision,
    {
      "support-bot": {
        releases: [manifest("support-bot", "v1", upstream), manifest("support-bot", "v2", upstream)],
        pointers: { active: "v1", fallback: "off", canary: { version: "v2", percent: 10 } },
      },
    },
    overrides,
  );
}

const echo = async (res: Response) =>
  (await res.json()) as { path: string; query: string; headers: Record<string, string>; body: string; method: string };

describe("agent route", () => {
  beforeEach(async () => freshIsolate(await demo()));

  it("proxies to the active release's default workflow with the context headers", async () => {
    const res = await SELF.fetch("https://gw/agents/support-bot/chat/turn?x=1", {
      method: "POST",
      body: "hello",
      headers: { "x-agent-lane": "autonomous", "x-agent-tools": "issue_refund", "x-agent-foo": "bar" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-agent-release")).toBe("v1");
    expect(res.headers.get("x-agent-lane")).toBe("autonomous");
    expect(res.headers.get("x-agent-decision")).toBe("stable");
    const got = await echo(res);
    expect(got.path).toBe("/agent/v1/chat/turn");
    expect(got.query).toBe("?x=1");
    expect(got.body).toBe("hello");
    expect(got.headers["x-agent-foo"]).toBeUndefined();
    expect(got.headers["x-agent-tools"]).toBe("search_kb,send_email,issue_refund");
    expect(got.headers["x-agent-approval"]).toBe("issue_refund");
    expect(got.headers["x-agent-workflow"]).toBe("default");
    expect(got.headers["x-agent-digest"]).toMatch(/^sha256:[0-9a-f]{64}$/);
    const ctx = JSON.parse(atob(got.headers["x-agent-context"]!.replace(/-/g, "+").replace(/_/g, "/")));
    expect(ctx.release).toBe("v1");
    expect(ctx.tools.map((t: { name: string }) => t.name)).toEqual(["search_kb", "send_email", "issue_refund"]);
  });

  it("answers 404 for an unknown agent and JSON everywhere", async () => {
    const res = await SELF.fetch("https://gw/agents/nobody/x");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "unknown_agent", message: expect.any(String) } });
  });
});

describe("agent route lanes", () => {
  it("a spoofed x-agent-lane has no effect, and a draft-only override keeps only read tools", async () => {
    await freshIsolate(await demo(2, [override("ovr_draft", { agent: "support-bot" }, { mode: "draft-only" })]));
    const res = await SELF.fetch("https://gw/agents/support-bot/x", { headers: { "x-agent-lane": "autonomous" } });
    expect(res.headers.get("x-agent-lane")).toBe("draft-only");
    expect(res.headers.get("x-agent-decision")).toBe("stable; overrides=ovr_draft");
    const got = await echo(res);
    expect(got.headers["x-agent-lane"]).toBe("draft-only");
    expect(got.headers["x-agent-tools"]).toBe("search_kb");
  });
});
