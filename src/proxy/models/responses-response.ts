/**
 * Withholds disallowed tool calls from OpenAI Responses answers, JSON and streamed (CONTRACT §2.2).
 * https://platform.openai.com/docs/api-reference/responses/object and .../responses-streaming
 *
 * A call is an output item (`function_call`, `custom_tool_call`, or a hosted `<tool>_call`); it is decided when
 * `response.output_item.added` names it, and then every event with its `output_index` is dropped. Later items'
 * `output_index` move down to close the gap (the SDK's ResponseStream places items by that index), and the
 * `sequence_number`s stay contiguous. The full `output` in `response.completed` (and in `created`,
 * `in_progress`, `incomplete`, `failed`) is filtered with the decisions already taken. An item carrying the
 * `call_id` of a withheld call (a hosted tool's output) goes with it. The Responses API has no finish reason.
 */
import { list, type Obj, obj, parseObj, str } from "./json";
import type { ToolGate } from "./policy";
import { type EventFilter, serializeEvent } from "./sse";
import { responsesCallName } from "./tool-names";

/** Data that may announce an item or carry the whole output; any `\u` escape is parsed, as it may hide a key. */
const MAY_CHANGE = /output_item|"response"|\\u/;

/** Decides one output item: true to keep it. */
function admitItem(item: Obj, gate: ToolGate, withheldCalls: Set<string>): boolean {
  const callId = str(item.call_id);
  const name = responsesCallName(item);
  if (name === null) return callId === undefined || !withheldCalls.has(callId);
  if (gate.admit(name)) return true;
  if (callId !== undefined) withheldCalls.add(callId);
  return false;
}

/** Filters `output` of a response object with `keep(item, upstreamIndex)`; true when it changed. */
function filterOutput(response: Obj, keep: (item: Obj, index: number) => boolean): boolean {
  const output = list(response.output);
  if (output === undefined) return false;
  const kept = output.filter((item, i) => {
    const o = obj(item);
    return o === undefined || keep(o, i);
  });
  if (kept.length === output.length) return false;
  response.output = kept;
  return true;
}

/** Filters a `response` object in place; true when it changed. */
export function filterResponse(body: Obj, gate: ToolGate): boolean {
  const withheldCalls = new Set<string>();
  return filterOutput(body, (item) => admitItem(item, gate, withheldCalls));
}

/** The stream filter for Responses events. */
export function responsesStreamFilter(gate: ToolGate): EventFilter {
  const verdicts = new Map<number, boolean>();
  const withheld: number[] = []; // upstream output indices withheld, ascending
  const withheldCalls = new Set<string>();
  let dropped = 0;
  const decide = (item: Obj, index: number): boolean => {
    let keep = verdicts.get(index);
    if (keep === undefined) {
      keep = admitItem(item, gate, withheldCalls);
      verdicts.set(index, keep);
      if (!keep) {
        withheld.push(index);
        withheld.sort((a, b) => a - b);
      }
    }
    return keep;
  };
  return (ev) => {
    // Until a call is withheld, only item and whole-response events can need a change (see MAY_CHANGE).
    if (ev.data === null || (withheld.length === 0 && !MAY_CHANGE.test(ev.data))) return ev.raw;
    const e = parseObj(ev.data);
    if (e === undefined) return ev.raw;
    let changed = false;
    if (typeof e.output_index === "number") {
      const index = e.output_index;
      const item = obj(e.item);
      if (!(item !== undefined ? decide(item, index) : verdicts.get(index) !== false)) {
        dropped++;
        return "";
      }
      const shifted = index - withheld.filter((w) => w < index).length;
      if (shifted !== index) {
        e.output_index = shifted;
        changed = true;
      }
    }
    const response = obj(e.response);
    if (response !== undefined && filterOutput(response, decide)) changed = true;
    if (typeof e.sequence_number === "number" && dropped > 0) {
      e.sequence_number -= dropped;
      changed = true;
    }
    return changed ? serializeEvent(ev, JSON.stringify(e)) : ev.raw;
  };
}
