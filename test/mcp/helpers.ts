/** Releases with MCP servers, and an MCP SDK client that reaches the gateway through SELF.fetch. */
import { SELF } from "cloudflare:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { inject } from "vitest";
import type { Manifest, Tool } from "../../src/release/schema";
import { manifest } from "../helpers/fixtures";

export const mcpUrl = inject("mcp");
const upstream = inject("upstream");

/** The tools of the test releases: three served by `helpdesk`, one the runtime runs itself. */
export const MCP_TOOLS: Tool[] = [
  { name: "search_kb", risk: "read", server: "helpdesk" },
  { name: "send_email", risk: "write", server: "helpdesk" },
  { name: "issue_refund", risk: "destructive", approval: "always", server: "helpdesk" },
  { name: "create_ticket", risk: "write" },
];

export function mcpManifest(agent: string, version: string, serverPath = "/sse", extra: Partial<Manifest> = {}) {
  return manifest(agent, version, upstream, {
    tools: MCP_TOOLS,
    mcpServers: { helpdesk: { url: `${mcpUrl}${serverPath}`, timeoutMs: 5000 } },
    ...extra,
  });
}

/** An MCP client of the official SDK, connected to the gateway's `/mcp/{agent}/{server}`. */
export async function connect(
  agent: string,
  server = "helpdesk",
  headers: Record<string, string> = {},
): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`https://gw/mcp/${agent}/${server}`), {
    fetch: (url, init) => SELF.fetch(url, init),
    requestInit: { headers },
  });
  const client = new Client({ name: "switchyard-test", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

/** Every page of `tools/list`, as the client sees it. */
export async function listAll(client: Client): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor });
    pages++;
    names.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return { names, pages };
}

/** How many calls of `tool` the MCP server has received (its own record). */
export async function callsOf(tool: string): Promise<number> {
  const res = await fetch(`${mcpUrl}/_calls?tool=${encodeURIComponent(tool)}`);
  return ((await res.json()) as { count: number }).count;
}

/** A raw JSON-RPC POST to the gateway's MCP route. */
export function rpc(agent: string, server: string, body: unknown, headers: Record<string, string> = {}) {
  return SELF.fetch(`https://gw/mcp/${agent}/${server}`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The scenarios of the misbehaving server (test/setup/mcp-server.ts). */
export const HOSTILE = [
  "not-json",
  "text",
  "upper-json",
  "tools-object",
  "batch",
  "sse-garbage",
  "sse-event",
  "sse-split",
  "error-text",
  "error-json-garbage",
  "error-json-tools",
  "error-empty",
  "big-json",
  "big-json-chunked",
  "sse-endless",
] as const;

/** A release whose `tools` server answers every POST with `scenario`; its lane allows search_kb and send_email. */
export function hostileManifest(agent: string, scenario: string) {
  return manifest(agent, "v1", upstream, {
    tools: [
      { name: "search_kb", risk: "read", server: "tools" },
      { name: "send_email", risk: "write", server: "tools" },
      { name: "issue_refund", risk: "destructive", approval: "always", server: "tools" },
    ],
    mcpServers: { tools: { url: `${mcpUrl}/hostile/${scenario}` } },
  });
}

export const listRequest = (id: number | string = 1) => ({ jsonrpc: "2.0", id, method: "tools/list", params: {} });
export const callRequest = (name: string, id: number | string | null = 1) => ({
  jsonrpc: "2.0",
  ...(id === null ? {} : { id }),
  method: "tools/call",
  params: { name, arguments: {} },
});

/** The JSON-RPC messages of an event-stream body, in order. */
export function sseMessages(body: string): Record<string, unknown>[] {
  return body
    .split(/\r?\n\r?\n/)
    .map((ev) =>
      ev
        .split(/\r?\n/)
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trimStart())
        .join("\n"),
    )
    .filter((d) => d !== "")
    .map((d) => JSON.parse(d) as Record<string, unknown>);
}
