/**
 * Tool traffic: `POST|GET|DELETE /mcp/{agent}/{server}` (CONTRACT §2.4), the Model Context Protocol's
 * Streamable HTTP transport. The pipeline decides, serves mode `off`, stamps, logs and counts; this door sends
 * each request to the serving release's `mcpServers[server].url` and judges both directions: a client's calls
 * to tools outside the lane are refused here (src/proxy/mcp/requests.ts), a server's tool lists keep only the
 * lane's tools (src/proxy/mcp/answers.ts). `Mcp-Session-Id`, `MCP-Protocol-Version` and every other header
 * pass as on agent traffic; so do the server's event streams, judged event by event as they flow.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HttpError } from "../errors";
import { DEFAULT_TIMEOUT_MS, forward } from "../proxy/forward";
import { upstreamHeaders } from "../proxy/headers";
import { MCP_ANSWER_LIMIT, readAnswerCapped, TooLarge } from "../proxy/limits";
import { filterJsonAnswer, sseAnswerRelay } from "../proxy/mcp/answers";
import { type McpLane, mcpLaneOf } from "../proxy/mcp/policy";
import { errorMessage, INTERNAL_ERROR, INVALID_REQUEST, type Judged, judge, PARSE_ERROR } from "../proxy/mcp/requests";
import { answerKind } from "../proxy/models/media";
import { pump } from "../proxy/pump";
import type { Decision } from "../routing/decide";
import { type DataPlaneEnv, type Door, dataPlane, type Exchange } from "./pipeline";

export const mcp = new Hono<DataPlaneEnv>();

/** A POST is read whole to be judged; JSON-RPC messages this large are not tool traffic. */
export const MCP_BODY_LIMIT = 4 * 1024 * 1024;

const JSON_TYPE = "application/json; charset=utf-8";

/** Mode `off` (§2.4): 503 with the release's user fallback body, whatever status the release gives it elsewhere. */
function offAnswer(d: Decision): Response {
  return new Response(JSON.stringify(d.served.userFallback?.body ?? {}), {
    status: 503,
    headers: { "content-type": JSON_TYPE, "retry-after": "30" },
  });
}

const door = { route: "mcp", agentOf: (c) => c.req.param("agent") ?? "", offAnswer } satisfies Door<DataPlaneEnv>;

mcp.use(
  "/mcp/*",
  bodyLimit({
    maxSize: MCP_BODY_LIMIT,
    onError: () => {
      throw new HttpError(413, "body_too_large", `MCP request bodies are limited to ${MCP_BODY_LIMIT} bytes`);
    },
  }),
);

mcp.on(
  ["POST", "GET", "DELETE"],
  "/mcp/:agent/:server",
  dataPlane(door, async (c) => {
    const decision = c.get("decision");
    const exchange = c.get("exchange");
    const name = c.req.param("server") ?? "";
    const lane = mcpLaneOf(decision, name);
    if (lane === null) {
      throw new HttpError(404, "unknown_server", `release ${decision.release.version} declares no MCP server ${name}`);
    }
    const method = c.req.method;
    const headers = upstreamHeaders(c.req.raw.headers, decision);
    let judged: Judged | null = null;
    let body: string | null = null;
    if (method === "POST") {
      judged = await judgeBody(c.req.raw, lane);
      exchange.blocked = judged.blocked.length > 0;
      if (judged.blocked.length > 0) logBlocked(decision, lane, judged.blocked);
      // Nothing left to forward: every member was a refused call. The server never hears of them. Refused
      // notifications (no id) are owed no answer: 202, as the transport answers notifications.
      if (judged.forward === null) {
        if (judged.refusals.length === 0) return new Response(null, { status: 202 });
        return json(200, judged.batch ? judged.refusals : judged.refusals[0]);
      }
      body = JSON.stringify(judged.forward);
      headers.delete("content-length");
      headers.set("content-type", "application/json");
    }
    const upstream = await forward(
      lane.server.url,
      { method, headers, body },
      lane.server.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    );
    exchange.answered(upstream);
    const response = await answer(upstream, lane, judged, exchange);
    if (judged !== null && judged.approvals.length > 0)
      response.headers.set("x-agent-approval-required", judged.approvals.join(","));
    return response;
  }),
);

/** The client's POST: JSON (any case of the media type), a JSON-RPC message or batch, judged against the lane. */
async function judgeBody(req: Request, lane: McpLane): Promise<Judged> {
  const type = req.headers.get("content-type")?.toLowerCase() ?? "";
  if (!type.startsWith("application/json")) {
    throw new HttpError(415, "unsupported_media_type", "MCP messages are POSTed as application/json");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await req.text());
  } catch {
    throw rpcError(400, PARSE_ERROR, "the body is not JSON");
  }
  const judged = judge(parsed, lane);
  if (typeof judged === "string") throw rpcError(400, INVALID_REQUEST, `the body holds ${judged}`);
  return judged;
}

/** A JSON-RPC error the MCP client can read, thrown as a gateway error so the pipeline answers it. */
function rpcError(status: number, code: number, message: string): HttpError {
  return new HttpError(status, "invalid_message", message, { jsonrpc: errorMessage(null, code, message) });
}

/** The server's answer, judged: JSON whole, an event stream as it flows; anything else only when it is empty. */
async function answer(upstream: Response, lane: McpLane, judged: Judged | null, x: Exchange): Promise<Response> {
  const refusals = judged?.refusals ?? [];
  const type = upstream.headers.get("content-type")?.toLowerCase() ?? "";
  const kind = answerKind(upstream.headers);
  const headers = new Headers(upstream.headers);
  // A judged body is re-encoded: its length changes, and the runtime already decoded any content-encoding.
  headers.delete("content-length");
  headers.delete("content-encoding");
  if (kind === "sse" && upstream.body !== null) {
    const relay = sseAnswerRelay(lane, {
      pending: judged?.pending.slice() ?? [],
      prefix: refusals,
      onRefused: (reason) => {
        console.error(JSON.stringify({ msg: "unfilterable_response", route: "mcp", agent: x.agent, reason }));
        x.late("upstream_error");
      },
    });
    return new Response(
      pump(upstream.body, (p) => x.ctx.waitUntil(p), { ...relay, cut: (e) => x.cut(e) }),
      {
        status: upstream.status,
        headers,
      },
    );
  }
  const text = await readText(upstream, lane, x);
  if (kind === "json") {
    const filtered = filterJsonAnswer(text, lane, refusals);
    if (filtered !== null) return new Response(filtered, { status: upstream.status, headers });
  } else if (text === "") {
    // 202 for notifications and answers, or an empty error: refusals of a batch are then the whole answer.
    if (upstream.ok && refusals.length > 0) return json(200, refusals, headers);
    if (upstream.ok || judged === null || (refusals.length === 0 && judged.pending.length === 0)) {
      return new Response(null, { status: upstream.status, headers });
    }
    return json(upstream.status, owed(upstream.status, lane, judged, "without a body"), headers);
  }
  if (upstream.ok) {
    x.failure = "upstream_error";
    throw new HttpError(502, "unfilterable_response", "the tool server's answer could not be judged", {
      server: lane.name,
      contentType: type.slice(0, 100),
    });
  }
  // An error status keeps its status (a 404 for an ended session must reach the client so it starts a new
  // one), but a body the gateway cannot judge is never passed on (§2.2.1): a client that reads JSON-RPC from an
  // error answer could take it for a result. It is replaced by the gateway's own answer: for a POST, a JSON-RPC
  // error for each request owed one, with the batch's refusals; otherwise the gateway's error object.
  if (judged !== null && (refusals.length > 0 || judged.pending.length > 0)) {
    return json(upstream.status, owed(upstream.status, lane, judged, "with a body the gateway cannot judge"), headers);
  }
  return json(
    upstream.status,
    {
      error: {
        code: "unfilterable_response",
        message: `the tool server answered HTTP ${upstream.status} with a body the gateway cannot judge; it was withheld`,
        details: { server: lane.name, upstreamStatus: upstream.status, contentType: type.slice(0, 100) },
      },
    },
    headers,
  );
}

/**
 * The answer owed to a POST whose server failed: the gateway's refusals and, for each forwarded request, a
 * JSON-RPC error naming the server's status. A batch gets an array, a single message one object.
 */
function owed(status: number, lane: McpLane, judged: Judged, how: string): unknown {
  const message = `the tool server answered HTTP ${status} ${how}`;
  const data = { code: "upstream_error", server: lane.name, upstreamStatus: status };
  const members = [...judged.pending.map((id) => errorMessage(id, INTERNAL_ERROR, message, data)), ...judged.refusals];
  return judged.batch ? members : members[0];
}

/** The server's whole answer, at most MCP_ANSWER_LIMIT bytes (past it: 502, counted upstream_error). */
async function readText(upstream: Response, lane: McpLane, x: Exchange): Promise<string> {
  try {
    return await readAnswerCapped(upstream, MCP_ANSWER_LIMIT);
  } catch (err) {
    if (err instanceof TooLarge) {
      x.failure = "upstream_error";
      throw new HttpError(502, "unfilterable_response", `the tool server's answer is ${err.message}; it was withheld`, {
        server: lane.name,
        limit: err.limit,
      });
    }
    throw new HttpError(502, "upstream_truncated", `the tool server's answer was cut short: ${String(err)}`);
  }
}

function json(status: number, value: unknown, headers?: Headers): Response {
  const out = new Headers(headers);
  out.set("content-type", "application/json");
  return new Response(JSON.stringify(value), { status, headers: out });
}

function logBlocked(d: Decision, lane: McpLane, tools: readonly string[]): void {
  for (const tool of tools) {
    console.log(
      JSON.stringify({
        msg: "tool_blocked",
        route: "mcp",
        agent: d.agent,
        release: d.release.version,
        server: lane.name,
        tool,
      }),
    );
  }
}
