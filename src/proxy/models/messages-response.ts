/**
 * Withholds disallowed tool calls from Anthropic Messages answers, JSON and streamed (CONTRACT §2.2).
 * https://docs.anthropic.com/en/api/messages and https://docs.anthropic.com/en/docs/build-with-claude/streaming
 *
 * A call is a `tool_use` (or `server_tool_use`, `mcp_tool_use`) content block; in a stream it is decided at its
 * `content_block_start`, and every event with its `index` is dropped. Later blocks' `index` move down (the SDK's
 * MessageStream addresses blocks by it). A block answering a withheld call (`tool_use_id`) goes with it. A
 * `stop_reason` of `tool_use` becomes `end_turn` when every `tool_use` block was withheld.
 */
import { list, type Obj, obj, parseObj, str } from "./json";
import type { ToolGate } from "./policy";
import { type EventFilter, serializeEvent } from "./sse";
import { ANTHROPIC_CALL_BLOCKS, anthropicToolName } from "./tool-names";

/** Data that may start a block or a message; any `\u` escape is parsed, as it may hide a key. */
const MAY_CHANGE = /content_block_start|message_start|\\u/;

/** Decides one content block: true to keep it. */
function admitBlock(block: Obj, gate: ToolGate, withheldIds: Set<string>): boolean {
  if (ANTHROPIC_CALL_BLOCKS.has(str(block.type) ?? "")) {
    if (gate.admit(anthropicToolName(block))) return true;
    const id = str(block.id);
    if (id !== undefined) withheldIds.add(id);
    return false;
  }
  const answers = str(block.tool_use_id);
  return answers === undefined || !withheldIds.has(answers);
}

/** Filters a `message` in place; true when it changed. */
export function filterMessage(body: Obj, gate: ToolGate): boolean {
  const content = list(body.content);
  if (content === undefined) return false;
  const withheldIds = new Set<string>();
  const kept = content.filter((b) => {
    const block = obj(b);
    return block === undefined || admitBlock(block, gate, withheldIds);
  });
  if (kept.length === content.length) return false;
  body.content = kept;
  if (body.stop_reason === "tool_use" && !kept.some((b) => obj(b)?.type === "tool_use")) body.stop_reason = "end_turn";
  return true;
}

/** The stream filter for Messages events. */
export function messagesStreamFilter(gate: ToolGate): EventFilter {
  const verdicts = new Map<number, boolean>();
  const withheld: number[] = []; // upstream block indices withheld, ascending
  const withheldIds = new Set<string>();
  let keptToolUse = 0;
  return (ev) => {
    // Until a call is withheld, only a block start (or the message start) can need a change.
    if (ev.data === null || (withheld.length === 0 && !MAY_CHANGE.test(ev.data))) return ev.raw;
    const e = parseObj(ev.data);
    if (e === undefined) return ev.raw;
    let changed = false;
    if (typeof e.index === "number") {
      const index = e.index;
      const block = obj(e.content_block);
      if (e.type === "content_block_start" && block !== undefined && !verdicts.has(index)) {
        const keep = admitBlock(block, gate, withheldIds);
        verdicts.set(index, keep);
        if (!keep) withheld.push(index);
        else if (block.type === "tool_use") keptToolUse++;
      }
      if (verdicts.get(index) === false) return "";
      const shifted = index - withheld.filter((w) => w < index).length;
      if (shifted !== index) {
        e.index = shifted;
        changed = true;
      }
    }
    const delta = obj(e.delta);
    if (e.type === "message_delta" && delta?.stop_reason === "tool_use" && withheld.length > 0 && keptToolUse === 0) {
      delta.stop_reason = "end_turn";
      changed = true;
    }
    const message = obj(e.message);
    if (e.type === "message_start" && message !== undefined && filterMessage(message, gate)) changed = true;
    return changed ? serializeEvent(ev, JSON.stringify(e)) : ev.raw;
  };
}
