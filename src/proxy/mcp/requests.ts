/**
 * The client's side of MCP tool traffic (CONTRACT §2.4): each JSON-RPC message a client POSTs is judged before
 * anything reaches the server. A `tools/call` naming a tool outside the lane is answered here with the JSON-RPC
 * error of §2.4 and never forwarded; a batch is judged member by member and only its allowed members go on.
 * Every other message (initialize, tools/list, notifications, the client's answers to the server) is forwarded.
 *
 * What is forwarded is re-serialized from what was judged, so the server sees exactly the message the gateway
 * read (no duplicate keys or other parser differences between the two can smuggle a name past the judgement).
 */
import { isObj, type Obj } from "../models/json";
import type { McpLane } from "./policy";

/** JSON-RPC 2.0 error codes (https://www.jsonrpc.org/specification#error_object). */
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;

export type Id = string | number | null;

export interface Judged {
  /** The body to forward (an object, or an array for a batch), or null when nothing is left to forward. */
  forward: Obj | Obj[] | null;
  /** Error responses the gateway answers itself, one per refused request with an id. */
  refusals: Obj[];
  /** Names of the refused tools (refused notifications included), in order. */
  blocked: string[];
  /** Approval-set tools the forwarded calls name, each once. */
  approvals: string[];
  /** Ids of the forwarded requests: each is owed an answer. */
  pending: Id[];
  batch: boolean;
}

export const errorMessage = (id: Id, code: number, message: string, data?: Obj): Obj => ({
  jsonrpc: "2.0",
  id,
  error: data === undefined ? { code, message } : { code, message, data },
});

const idOf = (m: Obj): Id | undefined => {
  const id = m.id;
  return typeof id === "string" || typeof id === "number" || id === null ? id : undefined;
};

/** Judges a parsed POST body; a string is the reason it is not a JSON-RPC message or batch at all. */
export function judge(body: unknown, lane: McpLane): Judged | string {
  const batch = Array.isArray(body);
  const members: unknown[] = batch ? body : [body];
  if (members.length === 0) return "an empty batch";
  const out: Judged = { forward: null, refusals: [], blocked: [], approvals: [], pending: [], batch };
  const kept: Obj[] = [];
  for (const m of members) {
    if (!isObj(m) || m.jsonrpc !== "2.0") return "a member that is not a JSON-RPC 2.0 message";
    const id = idOf(m);
    if ("id" in m && id === undefined) return "a message whose id is neither a string, a number nor null";
    if (m.method === "tools/call") {
      const params = m.params;
      const name = isObj(params) && typeof params.name === "string" ? params.name : null;
      if (name === null || !lane.allowed.has(name)) {
        out.blocked.push(name ?? "");
        if (id !== undefined) out.refusals.push(refusal(id, name, lane));
        continue;
      }
      if (lane.approval.has(name) && !out.approvals.includes(name)) out.approvals.push(name);
    }
    if (typeof m.method === "string" && id !== undefined) out.pending.push(id);
    kept.push(m);
  }
  if (kept.length > 0) out.forward = batch ? kept : (kept[0] as Obj);
  return out;
}

/** The §2.4 refusal: code -32602, data.code `tool_blocked`, naming the tool, the lane and the release. */
function refusal(id: Id, name: string | null, lane: McpLane): Obj {
  const what = name === null ? "a tools/call without a tool name" : `tool ${name}`;
  return errorMessage(id, INVALID_PARAMS, `${what} is not allowed in lane ${lane.mode} of release ${lane.release}`, {
    code: "tool_blocked",
    tool: name,
    lane: lane.mode,
    release: lane.release,
    server: lane.name,
  });
}
