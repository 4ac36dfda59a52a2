/**
 * A real MCP server for the tests and the tool-call bench, built with the official SDK and served over
 * Streamable HTTP in Node on 127.0.0.1. It offers more tools than any release declares (`rm_rf`), lists them in
 * pages of two, and records every call it receives (`GET /_calls?tool=`), so a test can prove a call never
 * reached it. Paths:
 *   /sse           sessions, answers as server-sent events (the SDK's default)
 *   /json          sessions, answers as JSON (`enableJsonResponse`)
 *   /hostile/<c>   a server that misbehaves on purpose, answering every POST with the scenario <c>
 * Calling `search_kb` with `{ query: "grow" }` adds the tool `kb_index` and sends `notifications/tools/list_changed`
 * on the session's GET stream (`GET /_calls?tool=GET` counts the GET streams opened); `{ query: "notify" }` sends
 * it on the call's own event stream.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server as HttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const PAGE = 2;
const calls = new Map<string, number>();
const offered = ["search_kb", "send_email", "rm_rf", "issue_refund", "create_ticket"];

function mcpServer(): Server {
  const server = new Server(
    { name: "test-tools", version: "1.0.0" },
    { capabilities: { tools: { listChanged: true } } },
  );
  server.setRequestHandler(ListToolsRequestSchema, (req) => {
    const from = Number(req.params?.cursor ?? 0);
    const page = offered.slice(from, from + PAGE).map((name) => ({
      name,
      description: `the ${name} tool`,
      inputSchema: { type: "object" as const, properties: { query: { type: "string" } } },
    }));
    return from + PAGE < offered.length ? { tools: page, nextCursor: String(from + PAGE) } : { tools: page };
  });
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const name = req.params.name;
    calls.set(name, (calls.get(name) ?? 0) + 1);
    const query = req.params.arguments?.query;
    if (name === "search_kb" && query === "grow") {
      if (!offered.includes("kb_index")) offered.push("kb_index");
      // Not tied to this request: it goes out on the session's GET stream.
      await server.sendToolListChanged();
    }
    // Tied to this request: it goes out on the POST's own event stream, before the result.
    if (name === "search_kb" && query === "notify") {
      await extra.sendNotification({ method: "notifications/tools/list_changed" });
    }
    return { content: [{ type: "text", text: `${name} ran` }] };
  });
  return server;
}

const sessions = new Map<string, StreamableHTTPServerTransport>();

async function serveMcp(req: IncomingMessage, res: ServerResponse, json: boolean): Promise<void> {
  const id = req.headers["mcp-session-id"];
  if (req.method === "GET") calls.set("GET", (calls.get("GET") ?? 0) + 1);
  let transport = typeof id === "string" ? sessions.get(id) : undefined;
  if (transport === undefined) {
    if (id !== undefined) {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":"no such session"}');
      return;
    }
    const created = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: json,
      onsessioninitialized: (sid) => void sessions.set(sid, created),
    });
    created.onclose = () => {
      if (created.sessionId) sessions.delete(created.sessionId);
    };
    await mcpServer().connect(created);
    transport = created;
  }
  await transport.handleRequest(req, res);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const listed = (id: unknown, names: string[]) => ({
  jsonrpc: "2.0",
  id,
  result: { tools: names.map((name) => ({ name, inputSchema: { type: "object" } })) },
});
const sse = (m: unknown) => `event: message\ndata: ${JSON.stringify(m)}\n\n`;

/** The misbehaving server: every answer is the scenario's, built around the request's id. */
async function hostile(scenario: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const text = await readBody(req);
  calls.set(`hostile:${scenario}`, (calls.get(`hostile:${scenario}`) ?? 0) + 1);
  let id: unknown = 1;
  try {
    const body = JSON.parse(text);
    id = Array.isArray(body) ? body[0]?.id : body.id;
  } catch {}
  const send = (type: string, body: string) => res.writeHead(200, { "content-type": type }).end(body);
  const all = ["search_kb", "rm_rf", "send_email"];
  switch (scenario) {
    case "not-json":
      return void send("application/json", '{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"rm_rf"');
    case "text":
      return void send("text/plain", `tools: ${all.join(",")}`);
    case "upper-json":
      return void send("Application/JSON; Charset=UTF-8", JSON.stringify(listed(id, all)));
    case "tools-object":
      return void send(
        "application/json",
        JSON.stringify({ jsonrpc: "2.0", id, result: { tools: { name: "rm_rf" } } }),
      );
    case "batch":
      return void send("application/json", JSON.stringify([listed(id, all), { jsonrpc: "2.0", id: 99, result: {} }]));
    case "sse-garbage":
      return void send("text/event-stream", `${sse(listed(id, all))}data: {not json\n\n${sse(listed(id, all))}`);
    case "sse-event":
      return void send("text/event-stream", `event: tools\ndata: ${JSON.stringify(listed(id, all))}\n\n`);
    case "sse-split":
      // One event split across writes, CRLF line ends, a comment: still one judged message.
      res.writeHead(200, { "content-type": "TEXT/EVENT-STREAM" });
      res.write(": keep-alive\r\n\r\nevent: message\r\ndata: ");
      setTimeout(() => res.end(`${JSON.stringify(listed(id, all))}\r\n\r\n`), 20);
      return;
    case "error-text":
      // An error status with a body no one can judge (a proxy's page naming a tool).
      return void res.writeHead(500, { "content-type": "text/html" }).end(`<p>tools: ${all.join(",")}</p>`);
    case "error-json-garbage":
      return void res
        .writeHead(400, { "content-type": "application/json" })
        .end('{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"rm_rf"');
    case "error-json-tools":
      return void res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify(listed(id, all)));
    case "error-empty":
      return void res.writeHead(500).end();
    case "big-json":
    case "big-json-chunked": {
      // A tool list past the gateway's 8 MiB cap on JSON answers, declared or sent chunked without a length.
      const pad = "x".repeat(9 * 1024 * 1024);
      const body = JSON.stringify({ ...listed(id, all), pad });
      if (scenario === "big-json") return void send("application/json", body);
      res.writeHead(200, { "content-type": "application/json" });
      for (let i = 0; i < body.length; i += 1024 * 1024) res.write(body.slice(i, i + 1024 * 1024));
      return void res.end();
    }
    case "sse-endless": {
      // An event whose line never ends: past the 8 Mi-character cap on one event the stream must be refused.
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(
        `event: message\ndata: {"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"tools":[{"name":"rm_rf"}],"pad":"`,
      );
      const chunk = "x".repeat(1024 * 1024);
      let sent = 0;
      const more = () => {
        if (res.destroyed || sent++ > 12) return void res.end();
        res.write(chunk);
        setTimeout(more, 1);
      };
      return void more();
    }
    default:
      res.writeHead(500).end("no such scenario");
  }
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://mcp");
  if (url.pathname === "/_calls") {
    const count = calls.get(url.searchParams.get("tool") ?? "") ?? 0;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ count }));
    return;
  }
  if (url.pathname === "/sse" || url.pathname === "/json") return serveMcp(req, res, url.pathname === "/json");
  if (url.pathname.startsWith("/hostile/")) return hostile(url.pathname.slice(9), req, res);
  res.writeHead(404).end();
}

/** Listens on 127.0.0.1:`port` (0: any free port, as the tests do; the bench passes its own). */
export function startMcpServer(port = 0): Promise<{ url: string; server: HttpServer }> {
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  return new Promise((resolve) =>
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const bound = typeof address === "object" && address !== null ? address.port : 0;
      resolve({ url: `http://127.0.0.1:${bound}`, server });
    }),
  );
}
