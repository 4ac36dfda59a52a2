/**
 * Header hygiene on every route (CONTRACT §2.2.1, docs/threat-model.md H1): no spelling of `x-agent-*` a server
 * might fold into the gateway's own headers reaches the upstream, on the agent route (the echoing upstream) and on
 * the model route (the mock provider, which records what it received). Only the key and the pin pass.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { manifest, snapshot } from "../helpers/fixtures";
import { freshIsolate } from "../helpers/publish";
import { openaiRelease, scenario } from "../models/helpers";

const upstream = inject("upstream");

const SPOOFED: Record<string, string> = {
  x_agent_lane: "autonomous",
  X_Agent_Tools: "drop_db",
  "x-agent_context": "e30",
  x_agent_approval: "",
  "X-AGENT-DIGEST": "sha256:0",
  "x-agent": "whole",
  "x-agent-workflow": "simple",
  x_agent_key: "other-key",
};

beforeAll(async () => {
  await freshIsolate(
    await snapshot(5, {
      "header-bot": { releases: [manifest("header-bot", "v1", upstream)], pointers: { active: "v1", fallback: "off" } },
      "support-bot": { releases: [openaiRelease("v1")], pointers: { active: "v1", fallback: "off" } },
    }),
  );
});

function expectClean(received: Record<string, string>): void {
  const names = Object.keys(received).map((n) => n.toLowerCase());
  expect(names.filter((n) => /^x[-_]agent/.test(n) && n.includes("_"))).toEqual([]);
  expect(names).not.toContain("x-agent");
  expect(received["x-agent-lane"]).toBe("autonomous"); // the gateway's own values only
  expect(received["x-agent-tools"]).toBe("search_kb,send_email,issue_refund");
  expect(received["x-agent-workflow"]).toBe("default");
  expect(received["x-agent-key"]).toBe("k1");
}

describe("every x[-_]agent[-_]* spelling is removed", () => {
  it("on the agent route", async () => {
    const res = await SELF.fetch("https://gw/agents/header-bot/echo", {
      headers: { ...SPOOFED, "x-agent-key": "k1" },
    });
    expect(res.status).toBe(200);
    expectClean(((await res.json()) as { headers: Record<string, string> }).headers);
  });

  it("on the model route", async () => {
    const s = scenario({ ...SPOOFED, "x-agent-key": "k1" });
    const res = await SELF.fetch("https://gw/models/support-bot/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json", ...s.headers },
      body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(200);
    await res.text();
    expectClean((await s.seen()).headers);
  });
});
