/**
 * Tool-server answers the gateway must not pass on unjudged (CONTRACT §2.4, §2.2.1; docs/mcp.md): an error
 * status with a body it cannot judge, an empty error answer to a batch holding refusals, a JSON answer past the
 * 8 MiB cap, an event whose line never ends. The server (test/setup/mcp-server.ts `/hostile/<scenario>`) names
 * `rm_rf`, a tool no release declares: it must never reach the client, raw or through the MCP SDK.
 */
import { SELF } from "cloudflare:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { beforeAll, describe, expect, it } from "vitest";
import { snapshot } from "../helpers/fixtures";
import { freshIsolate } from "../helpers/publish";
import { callRequest, HOSTILE, hostileManifest, listRequest, rpc, sseMessages } from "./helpers";

const agentOf = (scenario: string) => `h-${scenario}`;

beforeAll(async () => {
  const agents: Parameters<typeof snapshot>[1] = {};
  for (const s of HOSTILE) {
    agents[agentOf(s)] = { releases: [hostileManifest(agentOf(s), s)], pointers: { active: "v1", fallback: "off" } };
  }
  await freshIsolate(await snapshot(1, agents));
});

/** The SDK's connect (initialize) against a scenario: it must fail, and its error must not carry the body. */
async function sdkConnect(scenario: string): Promise<string> {
  const transport = new StreamableHTTPClientTransport(new URL(`https://gw/mcp/${agentOf(scenario)}/tools`), {
    fetch: (url, init) => SELF.fetch(url, init),
  });
  const client = new Client({ name: "switchyard-test", version: "1.0.0" });
  const err = await client.connect(transport).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return String((err as Error).message);
}

describe("error statuses", () => {
  it.each([
    ["error-text", 500],
    ["error-json-garbage", 400],
  ])("%s: the status is kept, the body replaced by the gateway's JSON-RPC error", async (s, status) => {
    const res = await rpc(agentOf(s), "tools", listRequest(5));
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = await res.text();
    expect(body).not.toContain("rm_rf");
    expect(JSON.parse(body)).toEqual({
      jsonrpc: "2.0",
      id: 5,
      error: {
        code: -32603,
        message: `the tool server answered HTTP ${status} with a body the gateway cannot judge`,
        data: { code: "upstream_error", server: "tools", upstreamStatus: status },
      },
    });
  });

  it("a GET stream's unjudgeable error body is replaced by the gateway's error object", async () => {
    const res = await SELF.fetch(`https://gw/mcp/${agentOf("error-text")}/tools`, {
      headers: { accept: "text/event-stream" },
    });
    // The hostile server answers a GET like a POST: 500 with a page naming rm_rf.
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).not.toContain("rm_rf");
    expect(JSON.parse(body)).toMatchObject({
      error: { code: "unfilterable_response", details: { server: "tools", upstreamStatus: 500 } },
    });
  });

  it("a JSON-RPC error body naming a tool list is judged: rm_rf removed, status kept", async () => {
    const res = await rpc(agentOf("error-json-tools"), "tools", listRequest(6));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { result: { tools: { name: string }[] } };
    expect(body.result.tools.map((t) => t.name)).toEqual(["search_kb", "send_email"]);
  });

  it("a batch's refusals reach the client when the server answers it with an empty error", async () => {
    const res = await rpc(agentOf("error-empty"), "tools", [callRequest("search_kb", 1), callRequest("rm_rf", 2)]);
    expect(res.status).toBe(500);
    const answers = (await res.json()) as { id: number; error: { code: number; data: { code: string } } }[];
    expect(answers.map((a) => [a.id, a.error.code, a.error.data.code])).toEqual([
      [1, -32603, "upstream_error"],
      [2, -32602, "tool_blocked"],
    ]);
  });

  it("a batch's refusals are added to a judged JSON error answer", async () => {
    const res = await rpc(agentOf("error-json-tools"), "tools", [listRequest(1), callRequest("rm_rf", 2)]);
    expect(res.status).toBe(400);
    const answers = (await res.json()) as { id: number; error?: { data: { code: string } } }[];
    expect(answers.map((a) => [a.id, a.error?.data.code ?? "result"])).toEqual([
      [1, "result"],
      [2, "tool_blocked"],
    ]);
    expect(JSON.stringify(answers)).not.toContain('"name":"rm_rf"');
  });

  it("the MCP SDK's error for an unjudgeable error answer never carries the server's body", async () => {
    for (const s of ["error-text", "error-json-garbage"]) expect(await sdkConnect(s)).not.toContain("rm_rf");
  });
});

describe("size caps", () => {
  it.each(["big-json", "big-json-chunked"])(
    "%s: a JSON answer past 8 MiB is 502 unfilterable_response, never passed on",
    async (s) => {
      const res = await rpc(agentOf(s), "tools", listRequest(3));
      expect(res.status).toBe(502);
      const body = await res.text();
      expect(body).not.toContain("rm_rf");
      expect(JSON.parse(body)).toMatchObject({
        error: { code: "unfilterable_response", details: { server: "tools", limit: 8 * 1024 * 1024 } },
      });
      expect(await sdkConnect(s)).not.toContain("rm_rf");
    },
  );

  it("an event whose line never ends is refused past 8 Mi characters; the pending request gets an error", async () => {
    const res = await rpc(agentOf("sse-endless"), "tools", listRequest(4));
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).not.toContain("rm_rf");
    expect(body.length).toBeLessThan(10_000);
    expect(sseMessages(body)).toEqual([
      expect.objectContaining({
        id: 4,
        error: expect.objectContaining({
          message: expect.stringContaining("an event larger than 8388608 characters"),
          data: expect.objectContaining({ code: "unfilterable_response" }),
        }),
      }),
    ]);
  });
});
