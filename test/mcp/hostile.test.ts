/**
 * Hostile MCP traffic (CONTRACT §2.4, §2.2.1): batches judged member by member, client bodies the gateway cannot
 * read refused before anything is forwarded, and tool-server answers it cannot judge never passed on — while a
 * well-formed answer in an odd spelling (upper-case media type, CRLF events split across writes) is still
 * filtered and served.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { override, snapshot } from "../helpers/fixtures";
import { freshIsolate } from "../helpers/publish";
import { callRequest, callsOf, HOSTILE, hostileManifest, listRequest, mcpManifest, rpc, sseMessages } from "./helpers";

const agentOf = (scenario: string) => `h-${scenario}`;
const toolNames = (m: Record<string, unknown>) =>
  ((m.result as { tools: { name: string }[] }).tools ?? []).map((t) => t.name);

beforeAll(async () => {
  const agents: Parameters<typeof snapshot>[1] = {
    "json-bot": { releases: [mcpManifest("json-bot", "v1", "/json")], pointers: { active: "v1", fallback: "off" } },
    "paused-bot": { releases: [mcpManifest("paused-bot", "v1")], pointers: { active: "v1", fallback: "off" } },
  };
  for (const s of HOSTILE) {
    agents[agentOf(s)] = { releases: [hostileManifest(agentOf(s), s)], pointers: { active: "v1", fallback: "off" } };
  }
  await freshIsolate(
    await snapshot(1, agents, [
      override("ovr_draft", { agent: "json-bot" }, { mode: "draft-only" }),
      override("ovr_paused", { agent: "paused-bot" }, { mode: "off" }),
    ]),
  );
});

/** A session with the JSON-answering server, opened by hand (initialize, then initialized). */
async function session(agent: string): Promise<Record<string, string>> {
  const init = await rpc(agent, "helpdesk", {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
  });
  expect(init.status).toBe(200);
  const sid = init.headers.get("mcp-session-id");
  expect(sid).toBeTruthy();
  await init.text();
  const headers = { "mcp-session-id": sid as string, "mcp-protocol-version": "2025-06-18" };
  const ack = await rpc(agent, "helpdesk", { jsonrpc: "2.0", method: "notifications/initialized" }, headers);
  expect(ack.status).toBe(202);
  return headers;
}

describe("batches", () => {
  it("are judged member by member: allowed ones forwarded, refused ones answered by the gateway", async () => {
    const headers = await session("json-bot");
    const before = await callsOf("send_email");
    const searched = await callsOf("search_kb");
    const res = await rpc(
      "json-bot",
      "helpdesk",
      [callRequest("search_kb", 1), callRequest("send_email", 2), listRequest(3), callRequest("send_email", null)],
      headers,
    );
    expect(res.status).toBe(200);
    const answers = (await res.json()) as Record<string, unknown>[];
    const byId = new Map(answers.map((a) => [a.id, a]));
    expect([...byId.keys()].sort()).toEqual([1, 2, 3]);
    expect(byId.get(1)?.result).toBeDefined();
    expect(byId.get(2)?.error).toMatchObject({ code: -32602, data: { code: "tool_blocked", tool: "send_email" } });
    expect(toolNames(byId.get(3) as Record<string, unknown>)).toEqual(["search_kb"]);
    expect(await callsOf("send_email")).toBe(before);
    expect(await callsOf("search_kb")).toBe(searched + 1);
  });

  it("a refused notification is owed no answer: 202 without a body, the server not called", async () => {
    const before = await callsOf("hostile:text");
    for (const body of [callRequest("rm_rf", null), [callRequest("drop_db", null), callRequest("rm_rf", null)]]) {
      const res = await rpc(agentOf("text"), "tools", body);
      expect(res.status).toBe(202);
      expect(await res.text()).toBe("");
    }
    expect(await callsOf("hostile:text")).toBe(before);
  });

  it("with every member refused, is answered without calling the server", async () => {
    const headers = await session("json-bot");
    const before = await callsOf("send_email");
    const res = await rpc("json-bot", "helpdesk", [callRequest("send_email", 7), callRequest("rm_rf", 8)], headers);
    expect(res.status).toBe(200);
    const answers = (await res.json()) as { id: number; error: { data: { tool: string } } }[];
    expect(answers.map((a) => [a.id, a.error.data.tool])).toEqual([
      [7, "send_email"],
      [8, "rm_rf"],
    ]);
    expect(await callsOf("send_email")).toBe(before);
  });
});

describe("client bodies the gateway cannot judge are refused, nothing forwarded", () => {
  const target = agentOf("text");
  it.each([
    ["malformed JSON", "application/json", '{"jsonrpc":"2.0","id":1,"method":"tools/call"', 400, -32700],
    ["an empty batch", "application/json", "[]", 400, -32600],
    ["a batch of numbers", "application/json", "[1,2]", 400, -32600],
    ["a message without jsonrpc 2.0", "application/json", '{"id":1,"method":"tools/list"}', 400, -32600],
    ["an object id", "application/json", '{"jsonrpc":"2.0","id":{},"method":"tools/list"}', 400, -32600],
    ["text/plain", "text/plain", JSON.stringify(listRequest()), 415, null],
    ["no content type", "", JSON.stringify(listRequest()), 415, null],
  ])("%s", async (_what, type, body, status, rpcCode) => {
    const before = await callsOf(`hostile:text`);
    const res = await SELF.fetch(`https://gw/mcp/${target}/tools`, {
      method: "POST",
      headers: type === "" ? {} : { "content-type": type },
      body,
    });
    expect(res.status).toBe(status);
    const err = (await res.json()) as { error: { code: string; details?: { jsonrpc: { error: { code: number } } } } };
    if (rpcCode !== null) expect(err.error.details?.jsonrpc.error.code).toBe(rpcCode);
    expect(await callsOf(`hostile:text`)).toBe(before);
  });

  it("a tools/call without a name is refused as tool_blocked", async () => {
    const res = await rpc(target, "tools", { jsonrpc: "2.0", id: 5, method: "tools/call", params: {} });
    expect(await res.json()).toMatchObject({
      id: 5,
      error: { code: -32602, data: { code: "tool_blocked", tool: null } },
    });
  });

  it("a duplicate name key is judged as the server will read it: the message is re-serialized", async () => {
    // JSON.parse keeps the last key; a server parsing differently still sees only what was judged.
    const body = '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"search_kb","name":"rm_rf"}}';
    const res = await rpc(target, "tools", body);
    expect(await res.json()).toMatchObject({ id: 6, error: { data: { tool: "rm_rf" } } });
  });
});

describe("tool-server answers", () => {
  it.each(["not-json", "text", "tools-object"])("%s: never passed on (502 unfilterable_response)", async (s) => {
    const res = await rpc(agentOf(s), "tools", listRequest());
    expect(res.status).toBe(502);
    const body = await res.text();
    expect(JSON.parse(body)).toMatchObject({ error: { code: "unfilterable_response" } });
    expect(body).not.toContain("rm_rf");
  });

  it("an upper-case JSON media type is still filtered", async () => {
    const res = await rpc(agentOf("upper-json"), "tools", listRequest());
    expect(res.status).toBe(200);
    expect(toolNames((await res.json()) as Record<string, unknown>)).toEqual(["search_kb", "send_email"]);
  });

  it("a JSON batch answer is filtered member by member", async () => {
    const res = await rpc(agentOf("batch"), "tools", [listRequest(1)]);
    const answers = (await res.json()) as Record<string, unknown>[];
    expect(answers).toHaveLength(2);
    expect(toolNames(answers[0] as Record<string, unknown>)).toEqual(["search_kb", "send_email"]);
  });

  it("an event that is not JSON ends the stream there; nothing after it is passed", async () => {
    const res = await rpc(agentOf("sse-garbage"), "tools", listRequest(4));
    expect(res.status).toBe(200);
    const body = await res.text();
    const messages = sseMessages(body);
    // The first (judged and filtered) event, then the stream is closed: the copy after the garbage never comes.
    expect(messages).toHaveLength(1);
    expect(toolNames(messages[0] as Record<string, unknown>)).toEqual(["search_kb", "send_email"]);
    expect(body).not.toContain("rm_rf");
    expect(body).not.toContain("not json");
  });

  it("an event type MCP does not use is refused; the pending request gets a JSON-RPC error", async () => {
    const res = await rpc(agentOf("sse-event"), "tools", listRequest(9));
    const body = await res.text();
    expect(body).not.toContain("rm_rf");
    expect(sseMessages(body)).toEqual([
      expect.objectContaining({
        id: 9,
        error: expect.objectContaining({ data: expect.objectContaining({ code: "unfilterable_response" }) }),
      }),
    ]);
  });

  it("CRLF events split across writes, in an upper-case media type, are judged and filtered", async () => {
    const res = await rpc(agentOf("sse-split"), "tools", listRequest(2));
    const body = await res.text();
    const messages = sseMessages(body);
    expect(messages).toHaveLength(1);
    expect(toolNames(messages[0] as Record<string, unknown>)).toEqual(["search_kb", "send_email"]);
  });
});

describe("the route's own answers", () => {
  it("an undeclared server is 404 unknown_server", async () => {
    const res = await rpc(agentOf("text"), "helpdesk", listRequest());
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "unknown_server" } });
    for (const name of ["constructor", "__proto__", "tools%2F.."]) {
      expect((await rpc(agentOf("text"), name, listRequest())).status).toBe(404);
    }
  });

  it("mode off: 503 with the user fallback, the server not called, with the decision headers", async () => {
    const res = await rpc("paused-bot", "helpdesk", listRequest());
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ message: "paused-bot is paused" });
    expect(res.headers.get("x-agent-lane")).toBe("off");
    expect(res.headers.get("x-agent-decision")).toMatch(/^off/);
  });

  it("a call to an approval-set tool is forwarded and announced in x-agent-approval-required", async () => {
    const res = await rpc(agentOf("upper-json"), "tools", [
      callRequest("issue_refund", 1),
      callRequest("search_kb", 2),
    ]);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-agent-approval-required")).toBe("issue_refund");
    expect(res.headers.get("x-agent-release")).toBe("v1");
    await res.text();
  });
});
