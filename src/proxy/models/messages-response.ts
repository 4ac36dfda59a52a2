/**
 * Withholds disallowed tool calls from Anthropic Messages answers, JSON and streamed (CONTRACT §2.2, §2.2.1).
 * https://docs.anthropic.com/en/api/messages and https://docs.anthropic.com/en/docs/build-with-claude/streaming
 *
 * A call is a `tool_use` (or `server_tool_use`, `mcp_tool_use`, ...) content block; in a stream it is judged at
 * its `content_block_start`, and every event with its `index` follows that verdict. A second start at an index
 * already seen, with another id, name or type, is a new block, judged again. Kept blocks are numbered 0, 1, ...
 * in the order they start (the SDK's MessageStream appends a block at each start and addresses it by index); an
 * event at an index that never started is withheld. A block answering a withheld call (`tool_use_id`) goes with
 * it. A `stop_reason` of `tool_use` becomes `end_turn` when every `tool_use` block was withheld. Anything not
 * fully readable where a call may be throws `Unfilterable`.
 */
import { isObj, type Obj, parseObj, str } from "./json";
import { type ToolGate, Unfilterable } from "./policy";
import { type EventFilter, serializeEvent } from "./sse";
import { anthropicCallNames } from "./tool-names";

/** Data that may start a block or a message; any `\u` escape is walked, as it may hide a key. */
const MAY_CHANGE = /content_block_start|message_start|\\u/;

const isIndex = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

/** Decides one content block: true to keep it. */
function admitBlock(block: Obj, gate: ToolGate, withheldIds: Set<string>): boolean {
  const names = anthropicCallNames(block);
  if (names !== null) {
    if (gate.admitCall(names)) return true;
    const id = str(block.id);
    if (id !== undefined) withheldIds.add(id);
    return false;
  }
  const answers = str(block.tool_use_id);
  return answers === undefined || !withheldIds.has(answers);
}

function contentOf(body: Obj): unknown[] | undefined {
  const content = body.content;
  if (content === undefined || content === null || typeof content === "string") return undefined;
  if (!Array.isArray(content)) throw new Unfilterable("content is not an array");
  return content;
}

/** Filters a `message` in place; true when it changed. */
export function filterMessage(body: Obj, gate: ToolGate): boolean {
  const content = contentOf(body);
  if (content === undefined) return false;
  const withheldIds = new Set<string>();
  const kept = content.filter((b) => {
    if (!isObj(b)) throw new Unfilterable("a content block is not an object");
    return admitBlock(b, gate, withheldIds);
  });
  if (kept.length === content.length) return false;
  body.content = kept;
  if (body.stop_reason === "tool_use" && !kept.some((b) => anthropicCallNames(b as Obj) !== null)) {
    body.stop_reason = "end_turn";
  }
  return true;
}

interface BlockState {
  slot: number | null;
  type: string;
  id: string | undefined;
  name: string | undefined;
}

/** The stream filter for Messages events. */
export function messagesStreamFilter(gate: ToolGate): EventFilter {
  const blocks = new Map<number, BlockState>();
  const withheldIds = new Set<string>();
  let next = 0; // the client's index of the next kept block
  let renumbered = false; // some block's client index differs from its upstream index
  let withheld = 0;
  let keptCalls = 0;
  return (ev) => {
    if (ev.data === null) return ev.raw;
    const e = parseObj(ev.data);
    if (e === undefined) throw new Unfilterable("an event's data is not a JSON object");
    // A block event without its index cannot be tied to a judged block (SDKs append a started block wherever it
    // lands), so it is never passed on.
    if (e.index === undefined && typeof e.type === "string" && e.type.startsWith("content_block_")) {
      throw new Unfilterable("a content block event has no index");
    }
    if (!renumbered && withheld === 0 && !MAY_CHANGE.test(ev.data)) {
      if (e.index !== undefined && !isIndex(e.index)) throw new Unfilterable("an event index is not a number");
      return ev.raw;
    }
    let changed = false;
    if (e.index !== undefined) {
      const index = e.index;
      if (!isIndex(index)) throw new Unfilterable("an event index is not a number");
      let state = blocks.get(index);
      if (e.type === "content_block_start") {
        const block = e.content_block;
        if (!isObj(block)) throw new Unfilterable("a block start has no content block");
        const type = str(block.type) ?? "";
        const id = str(block.id);
        const name = str(block.name);
        if (state === undefined || state.type !== type || state.id !== id || state.name !== name) {
          const keep = admitBlock(block, gate, withheldIds);
          state = { slot: keep ? next++ : null, type, id, name };
          blocks.set(index, state);
          if (!keep) withheld++;
          else if (anthropicCallNames(block) !== null) keptCalls++;
        }
      }
      if (state === undefined || state.slot === null) return "";
      if (state.slot !== index) {
        e.index = state.slot;
        renumbered = true;
        changed = true;
      }
    }
    if (e.type === "message_delta" && isObj(e.delta) && e.delta.stop_reason === "tool_use") {
      if (withheld > 0 && keptCalls === 0) {
        e.delta.stop_reason = "end_turn";
        changed = true;
      }
    }
    if (e.type === "message_start") {
      if (!isObj(e.message)) throw new Unfilterable("a message start has no message");
      // Blocks already in the start (none, from Anthropic) are numbered like started blocks.
      const content = contentOf(e.message) ?? [];
      const kept = content.filter((b, index) => {
        if (!isObj(b)) throw new Unfilterable("a content block is not an object");
        const keep = admitBlock(b, gate, withheldIds);
        blocks.set(index, { slot: keep ? next++ : null, type: str(b.type) ?? "", id: str(b.id), name: str(b.name) });
        if (!keep) withheld++;
        else if (anthropicCallNames(b) !== null) keptCalls++;
        return keep;
      });
      if (kept.length < content.length) {
        e.message.content = kept;
        changed = true;
      }
    }
    return changed ? serializeEvent(ev, JSON.stringify(e)) : ev.raw;
  };
}

/** The API's own stream error event (the SDK throws it), ending a stream the gateway cannot filter. */
export function messagesStreamError(message: string): string {
  const data = { type: "error", error: { type: "api_error", message } };
  return `event: error\ndata: ${JSON.stringify(data)}\n\n`;
}
