/**
 * MCP tool traffic through the gateway (CONTRACT §2.4), driven by the official SDK on both ends: its client in
 * workerd reaches the Worker through SELF.fetch; its server runs in Node (test/setup/mcp-server.ts) and records
 * every call it receives, so a refusal is proven by the server never hearing of the call.
 */
import { SELF } from "cloudflare:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { beforeEach, describe, expect, it } from "vitest";
import { override, snapshot } from "../helpers/fixtures";
import { freshIsolate, publish } from "../helpers/publish";
import { callsOf, connect, listAll, mcpManifest } from "./helpers";

const AGENT = "tool-bot";

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("condition not met within 5 s");
}

async function state(revision: number, overrides: Parameters<typeof snapshot>[2] = [], path = "/sse") {
  return snapshot(
    revision,
    { [AGENT]: { releases: [mcpManifest(AGENT, "v1", path)], pointers: { active: "v1", fallback: "off" } } },
    overrides,
  );
}

describe("the MCP route with the SDK's client and server", () => {
  beforeEach(async () => freshIsolate(await state(1)));

  it("lists only the lane's tools of this server, on every page; undeclared and serverless tools never", async () => {
    const client = await connect(AGENT);
    const { names, pages } = await listAll(client);
    // The server offers search_kb, send_email, rm_rf, issue_refund, create_ticket in pages of two.
    expect(pages).toBe(3);
    expect(names).toEqual(["search_kb", "send_email", "issue_refund"]);
    const result = await client.callTool({ name: "search_kb", arguments: { query: "refunds" } });
    expect(result.content).toEqual([{ type: "text", text: "search_kb ran" }]);
    await client.close();
  });

  it("DELETE ends the session at the server: the session id is then unknown there", async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`https://gw/mcp/${AGENT}/helpdesk`), {
      fetch: (url, init) => SELF.fetch(url, init),
    });
    const client = new Client({ name: "switchyard-test", version: "1.0.0" });
    await client.connect(transport);
    const sid = transport.sessionId as string;
    expect(sid).toMatch(/^[0-9a-f-]{36}$/);
    await transport.terminateSession();
    const res = await SELF.fetch(`https://gw/mcp/${AGENT}/helpdesk`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": sid,
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(res.status).toBe(404);
    await res.text();
    await client.close();
  });

  it("JSON answers (enableJsonResponse) are filtered the same way", async () => {
    await publish(await state(2, [], "/json"));
    const client = await connect(AGENT);
    expect((await listAll(client)).names).toEqual(["search_kb", "send_email", "issue_refund"]);
    await client.close();
  });

  it("in draft-only, refuses a write tool's call before it reaches the server, with the §2.4 error", async () => {
    await publish(await state(2, [override("ovr_draft", { agent: AGENT }, { mode: "draft-only" })]));
    const client = await connect(AGENT);
    expect((await listAll(client)).names).toEqual(["search_kb"]);
    const before = await callsOf("send_email");
    const refused = await client.callTool({ name: "send_email", arguments: {} }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(McpError);
    const err = refused as McpError;
    expect(err.code).toBe(-32602);
    expect(err.data).toEqual({
      code: "tool_blocked",
      tool: "send_email",
      lane: "draft-only",
      release: "v1",
      server: "helpdesk",
    });
    // An undeclared tool is refused too, whatever the lane.
    await expect(client.callTool({ name: "rm_rf", arguments: {} })).rejects.toMatchObject({ code: -32602 });
    expect(await callsOf("send_email")).toBe(before);
    expect(await callsOf("rm_rf")).toBe(0);
    // The session is intact: an allowed call still goes through.
    expect((await client.callTool({ name: "search_kb", arguments: {} })).content).toHaveLength(1);
    await client.close();
  });

  it("passes the server's tools/list_changed notification, on a call's stream and on the GET stream", async () => {
    const streams = await callsOf("GET");
    const client = await connect(AGENT);
    const seen: string[] = [];
    let notified = () => {};
    client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => {
      seen.push(n.method);
      notified();
    });
    const next = () =>
      new Promise<void>((resolve, reject) => {
        notified = resolve;
        setTimeout(() => reject(new Error("no list_changed within 5 s")), 5000);
      });
    let arrived = next();
    await client.callTool({ name: "search_kb", arguments: { query: "notify" } });
    await arrived;
    // The client opens its GET stream after initializing; once the server has it, a notification can use it.
    await until(async () => (await callsOf("GET")) > streams);
    arrived = next();
    await client.callTool({ name: "search_kb", arguments: { query: "grow" } });
    await arrived;
    expect(seen).toEqual(["notifications/tools/list_changed", "notifications/tools/list_changed"]);
    // The new tool (kb_index) is not declared by the release: the fresh list still shows only the lane's tools.
    expect((await listAll(client)).names).toEqual(["search_kb", "send_email", "issue_refund"]);
    await client.close();
  });

  it("an agent put off mid-session gets the user fallback, and the server is not called", async () => {
    const client = await connect(AGENT);
    expect((await client.callTool({ name: "search_kb", arguments: {} })).content).toHaveLength(1);
    await freshIsolate(await state(2, [override("ovr_off", { agent: AGENT }, { mode: "off" })]));
    const before = await callsOf("search_kb");
    const failed = await client.callTool({ name: "search_kb", arguments: {} }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Error);
    expect((failed as { code?: number }).code).toBe(503);
    expect(String((failed as Error).message)).toContain(`${AGENT} is paused`);
    expect(await callsOf("search_kb")).toBe(before);
    await client.close().catch(() => {});
  });
});
