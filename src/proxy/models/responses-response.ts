/**
 * Withholds disallowed tool calls from OpenAI Responses answers, JSON and streamed (CONTRACT §2.2, §2.2.1).
 * https://platform.openai.com/docs/api-reference/responses/object and .../responses-streaming
 *
 * A call is an output item (`function_call`, `custom_tool_call`, or a hosted `<tool>_call`); it is judged when an
 * event brings the item at its `output_index`, and every event with that index follows the verdict. An item with
 * another id, type, name or call id at an index already seen — or an event naming another tool there — is a new
 * call, judged again. Kept items are numbered 0, 1, ... in the order they appear (the SDK's ResponseStream
 * places items by that index); an event at an index no item was announced at is withheld; `sequence_number`s stay
 * contiguous. The full `output` in `response.completed` (and `created`, `in_progress`, `incomplete`, `failed`)
 * is filtered item by item against the same verdicts. An item carrying the `call_id` of a withheld call (a hosted
 * tool's output) goes with it. Anything not fully readable where a call may be throws `Unfilterable`.
 */
import { isObj, type Obj, parseObj, str } from "./json";
import { type ToolGate, Unfilterable } from "./policy";
import { type EventFilter, serializeEvent } from "./sse";
import { responsesCallNames } from "./tool-names";

/** Data that may announce an item, name a tool or carry the whole output; any `\u` escape is walked. */
const MAY_CHANGE = /"item"|"name"|"response"|\\u/;

const isIndex = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

interface Withheld {
  ids: Set<string>;
  callIds: Set<string>;
}

/** Decides one output item: true to keep it. */
function admitItem(item: Obj, gate: ToolGate, withheld: Withheld): boolean {
  const callId = str(item.call_id);
  const names = responsesCallNames(item);
  if (names === null) return callId === undefined || !withheld.callIds.has(callId);
  if (gate.admitCall(names)) return true;
  if (callId !== undefined) withheld.callIds.add(callId);
  const id = str(item.id);
  if (id !== undefined) withheld.ids.add(id);
  return false;
}

/** Filters `output` of a response object with `keep(item, upstreamIndex)`; true when it changed. */
function filterOutput(response: Obj, keep: (item: Obj, index: number) => boolean): boolean {
  const output = response.output;
  if (output === undefined || output === null) return false;
  if (!Array.isArray(output)) throw new Unfilterable("output is not an array");
  const kept = output.filter((item, i) => {
    if (!isObj(item)) throw new Unfilterable("an output item is not an object");
    return keep(item, i);
  });
  if (kept.length === output.length) return false;
  response.output = kept;
  return true;
}

/** Filters a `response` object in place; true when it changed. */
export function filterResponse(body: Obj, gate: ToolGate): boolean {
  const withheld: Withheld = { ids: new Set(), callIds: new Set() };
  return filterOutput(body, (item) => admitItem(item, gate, withheld));
}

interface ItemState {
  slot: number | null;
  key: string;
  name: string | undefined;
}

const identity = (item: Obj): string =>
  `${str(item.type) ?? ""}\u0000${str(item.id) ?? ""}\u0000${str(item.name) ?? ""}\u0000${str(item.call_id) ?? ""}`;

/** The stream filter for Responses events. */
export function responsesStreamFilter(gate: ToolGate): EventFilter {
  const items = new Map<number, ItemState>();
  const withheld: Withheld = { ids: new Set(), callIds: new Set() };
  let next = 0;
  let disturbed = false; // an item was withheld or renumbered: every event may need a change
  let dropped = 0;
  /** The verdict for the item at an index, judging it (again) when it is new there. */
  const decide = (item: Obj, index: number): ItemState => {
    const key = identity(item);
    let state = items.get(index);
    if (state === undefined || state.key !== key) {
      const keep = admitItem(item, gate, withheld);
      state = { slot: keep ? next++ : null, key, name: str(item.name) };
      items.set(index, state);
      if (state.slot !== index) disturbed = true;
    }
    return state;
  };
  return (ev) => {
    if (ev.data === null) return ev.raw;
    const e = parseObj(ev.data);
    if (e === undefined) throw new Unfilterable("an event's data is not a JSON object");
    if (!disturbed && !MAY_CHANGE.test(ev.data)) {
      if (e.output_index !== undefined && !items.has(e.output_index as number)) disturbed = true;
      else return ev.raw;
    }
    let changed = false;
    const drop = () => {
      dropped++;
      return "";
    };
    if (e.output_index !== undefined) {
      const index = e.output_index;
      if (!isIndex(index)) throw new Unfilterable("an output index is not a number");
      let state = items.get(index);
      if (e.item !== undefined) {
        if (!isObj(e.item)) throw new Unfilterable("an item is not an object");
        state = decide(e.item, index);
      } else if (state !== undefined && state.slot !== null && typeof e.name === "string" && e.name !== state.name) {
        // An event that names another tool for the call at this index (`function_call_arguments.done`).
        if (!gate.admitCall([e.name])) {
          state.slot = null;
          disturbed = true;
        }
      }
      if (state === undefined || state.slot === null) return drop();
      if (state.slot !== index) {
        e.output_index = state.slot;
        changed = true;
      }
    } else if (e.item !== undefined) {
      throw new Unfilterable("an item arrives without its output index");
    } else if (typeof e.item_id === "string" && withheld.ids.has(e.item_id)) {
      return drop();
    }
    if (e.response !== undefined) {
      if (!isObj(e.response)) throw new Unfilterable("response is not an object");
      const keep = (item: Obj, i: number) => {
        const state = items.get(i);
        return (state !== undefined && state.key === identity(item) ? state : decide(item, i)).slot !== null;
      };
      if (filterOutput(e.response, keep)) changed = true;
    }
    if (typeof e.sequence_number === "number" && dropped > 0) {
      e.sequence_number -= dropped;
      changed = true;
    }
    return changed ? serializeEvent(ev, JSON.stringify(e)) : ev.raw;
  };
}

/** The API's own stream error event, ending a stream the gateway cannot filter. */
export function responsesStreamError(message: string): string {
  const data = { type: "error", code: "unfilterable_response", message, param: null };
  return `event: error\ndata: ${JSON.stringify(data)}\n\n`;
}
