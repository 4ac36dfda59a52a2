/**
 * The server's side of MCP tool traffic (CONTRACT §2.4, §2.2.1): every message a server sends, as a JSON answer
 * or as a server-sent event (on a POST's stream or the GET stream), is judged by its shape, not by which request
 * it answers: any result that carries `tools` is a tool list and keeps only the lane's tools, whichever page or
 * stream it comes on. A message that cannot be judged — not JSON, not a JSON-RPC object, a `tools` that is not a
 * list, an event type MCP does not use — is never passed on: the MCP door is always restricted, since a tool the
 * release does not declare is always withheld.
 */
import { isObj, type Obj } from "../models/json";
import { Unfilterable } from "../models/policy";
import { type SseEvent, SseParser, serializeEvent } from "../models/sse";
import type { Relay } from "../pump";
import type { McpLane } from "./policy";
import { errorMessage, type Id, INTERNAL_ERROR } from "./requests";

/** The outcome of judging one message: unchanged, changed in place, or not judgeable. */
type Verdict = "same" | "changed" | "unfilterable";

function judgeMessage(m: unknown, lane: McpLane): Verdict {
  if (!isObj(m) || m.jsonrpc !== "2.0") return "unfilterable";
  const result = m.result;
  if (!isObj(result) || !("tools" in result)) return "same";
  const tools = result.tools;
  if (!Array.isArray(tools)) return "unfilterable";
  const kept = tools.filter((t) => isObj(t) && typeof t.name === "string" && lane.allowed.has(t.name));
  if (kept.length === tools.length) return "same";
  result.tools = kept;
  return "changed";
}

/** A JSON answer's body: filtered (a batch member by member), with the gateway's refusals added; or null. */
export function filterJsonAnswer(text: string, lane: McpLane, refusals: readonly Obj[]): string | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  const members = Array.isArray(body) ? body : [body];
  let changed = refusals.length > 0;
  for (const m of members) {
    const verdict = judgeMessage(m, lane);
    if (verdict === "unfilterable") return null;
    if (verdict === "changed") changed = true;
  }
  // What was judged is what is sent: the parsed value, serialized again, never the server's text (a duplicate
  // key that JSON.parse resolves one way could be read the other way by the client's parser).
  return JSON.stringify(changed && refusals.length > 0 ? [...members, ...refusals] : body);
}

export interface StreamWatch {
  /** Requests still owed an answer on this stream (a POST's); answered with an error if the stream is refused. */
  pending: Id[];
  /** Events the gateway adds at the start of the stream (its refusals for a batch). */
  prefix: readonly Obj[];
  /** The stream held something that could not be judged: it was ended there. */
  onRefused(reason: string): void;
}

const event = (m: Obj) => `event: message\ndata: ${JSON.stringify(m)}\n\n`;

/** An SSE body through the judgement, as a relay for `pump`: it ends the stream at the first doubt. */
export function sseAnswerRelay(lane: McpLane, watch: StreamWatch): Relay {
  const parser = new SseParser();
  let prefix = watch.prefix.map(event).join("");
  let done = false;
  const refuse = (reason: string): string => {
    done = true;
    watch.onRefused(reason);
    const message = `the tool server sent ${reason}; the gateway cannot judge it while the lane is restricted`;
    const data = { code: "unfilterable_response", server: lane.name, release: lane.release };
    return watch.pending.map((id) => event(errorMessage(id, INTERNAL_ERROR, message, data))).join("");
  };
  const judgeEvent = (ev: SseEvent): string => {
    if (ev.data === null) return ev.raw; // comments, `retry:`, an `id:` alone: no message
    if (ev.event !== null && ev.event !== "message") return refuse(`an event of type ${ev.event.slice(0, 40)}`);
    let m: unknown;
    try {
      m = JSON.parse(ev.data);
    } catch {
      return refuse("an event that is not JSON");
    }
    const verdict = judgeMessage(m, lane);
    if (verdict === "unfilterable") return refuse("a message that is not a JSON-RPC object it can read");
    const id = (m as Obj).id;
    if ("result" in (m as Obj) || "error" in (m as Obj)) {
      const at = watch.pending.indexOf(id as Id);
      if (at >= 0) watch.pending.splice(at, 1);
    }
    // Re-serialized whatever the verdict, for the same reason as a JSON answer: what was judged is what is sent.
    return serializeEvent(ev, JSON.stringify(m));
  };
  const emit = (events: SseEvent[]): string => {
    let out = prefix;
    prefix = "";
    for (const ev of events) {
      if (done) break;
      out += judgeEvent(ev);
    }
    return out;
  };
  // An event over the size cap (SSE_EVENT_LIMIT) cannot be judged whole: the stream is refused there.
  const parse = (read: () => SseEvent[]): SseEvent[] | string => {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof Unfilterable)) throw error;
      return refuse(error.message);
    }
  };
  const run = (read: () => SseEvent[]): string => {
    const events = parse(read);
    return typeof events === "string" ? prefixed(events) : emit(events);
  };
  const prefixed = (text: string): string => {
    const out = prefix + text;
    prefix = "";
    return out;
  };
  return {
    chunk: (bytes) => (done ? "" : run(() => parser.push(bytes))),
    end: () => (done ? "" : run(() => parser.end())),
    finished: () => done,
  };
}
