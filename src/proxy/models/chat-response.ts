/**
 * Withholds disallowed tool calls from OpenAI Chat Completions answers, JSON and streamed (CONTRACT §2.2, §2.2.1).
 * https://platform.openai.com/docs/api-reference/chat/object and .../chat-streaming
 *
 * A stream announces each call in a delta `{index, id, type, function:{name, arguments:""}}` and then streams its
 * arguments under the same `index`. A call is judged by its own identity, not by its index: a delta at an index
 * already seen that brings another `id`, name or type is a new call (several OpenAI-compatible servers number
 * parallel calls all `0`; the SDK would overwrite the name and keep appending arguments), judged again and given
 * an index of its own. A delta that names no tool is withheld. Kept calls are renumbered 0, 1, ... per choice, and
 * a `finish_reason` of `tool_calls` (or legacy `function_call`) becomes `stop` when every call was withheld.
 * A message or delta with a field the filter does not know is not filterable (MESSAGE_FIELDS).
 * Anything not fully readable where a call may be throws `Unfilterable`.
 */
import { isObj, type Obj, parseObj, str } from "./json";
import { type ToolGate, Unfilterable } from "./policy";
import { type EventFilter, serializeEvent } from "./sse";
import { chatToolNames } from "./tool-names";

const CALL_FINISH = new Set(["tool_calls", "function_call"]);
/**
 * Most chunks carry only text. Every event is parsed (it must be strict JSON), but one whose data never spells a
 * call field cannot need a change; data with a `\u` escape is always walked, since JSON may escape a key.
 */
const MAY_CALL = /tool_calls|function_call|\\u/;

const nonEmpty = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const isIndex = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

/**
 * The fields of a message or a stream delta the filter knows (API reference, 2026-12), plus `reasoning` and
 * `reasoning_content`, the reasoning text several OpenAI-compatible servers add. Only `tool_calls` and
 * `function_call` can carry a call; any other field might carry one a client reads (§2.2.1), so a message or
 * delta holding one is not filterable. Names are compared exactly: `Tool_Calls` is unknown, hence refused.
 */
const MESSAGE_FIELDS: ReadonlySet<string> = new Set([
  "role",
  "content",
  "refusal",
  "annotations",
  "audio",
  "tool_calls",
  "function_call",
  "reasoning",
  "reasoning_content",
]);

function knownFields(m: Obj, what: string): void {
  for (const key in m) {
    if (!MESSAGE_FIELDS.has(key))
      throw new Unfilterable(`${what} has an unknown field ${JSON.stringify(key.slice(0, 40))}`);
  }
}

function arrayOrNone(v: unknown, what: string): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new Unfilterable(`${what} is not an array`);
  return v;
}

function objOrNone(v: unknown, what: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw new Unfilterable(`${what} is not an object`);
  return v;
}

/** Filters a `chat.completion` in place; true when it changed. */
export function filterChatCompletion(body: Obj, gate: ToolGate): boolean {
  let changed = false;
  for (const choice of arrayOrNone(body.choices, "choices") ?? []) {
    if (!isObj(choice)) throw new Unfilterable("a choice is not an object");
    if (choice.delta !== undefined) throw new Unfilterable("a completion choice carries a stream delta");
    const message = objOrNone(choice.message, "message");
    if (message === undefined) continue;
    knownFields(message, "a message");
    let kept = 0;
    let withheld = false;
    const calls = arrayOrNone(message.tool_calls, "tool_calls");
    if (calls !== undefined) {
      const allowed = calls.filter((c) => {
        if (!isObj(c)) throw new Unfilterable("a tool call is not an object");
        return gate.admitCall(chatToolNames(c));
      });
      kept += allowed.length;
      if (allowed.length < calls.length) {
        withheld = true;
        if (allowed.length > 0) message.tool_calls = allowed;
        else delete message.tool_calls;
      }
    }
    const fn = objOrNone(message.function_call, "function_call");
    if (fn !== undefined) {
      if (gate.admitCall([str(fn.name) ?? ""])) kept++;
      else {
        withheld = true;
        delete message.function_call;
      }
    }
    if (withheld && kept === 0 && CALL_FINISH.has(str(choice.finish_reason) ?? "")) choice.finish_reason = "stop";
    changed ||= withheld;
  }
  return changed;
}

/** The call currently streaming at one upstream index: who it is, and where the client sees it (null: withheld). */
interface CallState {
  slot: number | null;
  id: string | undefined;
  name: string | undefined;
  type: string | undefined;
}

interface ChoiceState {
  calls: Map<number, CallState>;
  kept: number;
  withheld: boolean;
  /** The legacy `function_call` of this choice: its name and fate, or null before it starts. */
  fn: { name: string; kept: boolean } | null;
}

/** The stream filter for `chat.completion.chunk` events. */
export function chatStreamFilter(gate: ToolGate): EventFilter {
  const states = new Map<number, ChoiceState>();
  const stateOf = (index: number): ChoiceState => {
    let s = states.get(index);
    if (s === undefined) {
      s = { calls: new Map(), kept: 0, withheld: false, fn: null };
      states.set(index, s);
    }
    return s;
  };
  return (ev) => {
    if (ev.data === null || ev.data === "[DONE]") return ev.raw;
    const chunk = parseObj(ev.data);
    if (chunk === undefined) throw new Unfilterable("an event's data is not a JSON object");
    const choices = arrayOrNone(chunk.choices, "choices");
    if (choices === undefined || choices.length === 0) return ev.raw;
    for (const choice of choices) {
      const delta = isObj(choice) ? choice.delta : undefined;
      if (isObj(delta)) knownFields(delta, "a delta");
    }
    if (!MAY_CALL.test(ev.data)) return ev.raw;
    let changed = false;
    const out: unknown[] = [];
    for (const choice of choices) {
      if (!isObj(choice)) throw new Unfilterable("a choice is not an object");
      const index = choice.index ?? 0;
      if (!isIndex(index)) throw new Unfilterable("a choice index is not a number");
      const verdict = filterChoice(choice, stateOf(index), gate);
      if (verdict !== "same") changed = true;
      if (verdict !== "drop") out.push(choice);
    }
    if (!changed) return ev.raw;
    // A chunk left with nothing to say is dropped; the final usage chunk has no choices and is never touched.
    if (out.length === 0) return "";
    chunk.choices = out;
    return serializeEvent(ev, JSON.stringify(chunk));
  };
}

/** Whether a call delta starts a call other than the one streaming at its index. */
function isNewCall(cur: CallState, id: string | undefined, name: string | undefined, type: string | undefined) {
  return (
    (id !== undefined && id !== cur.id) ||
    (name !== undefined && name !== cur.name) ||
    (type !== undefined && cur.type !== undefined && type !== cur.type)
  );
}

/** Keeps a call delta (possibly renumbered or completed), or drops it. */
function filterCall(call: Obj, s: ChoiceState, gate: ToolGate): "same" | "changed" | "drop" {
  const index = call.index;
  if (!isIndex(index)) throw new Unfilterable("a tool call delta has no index");
  const fn = objOrNone(call.function, "function");
  const custom = objOrNone(call.custom, "custom");
  const id = nonEmpty(call.id);
  const name = nonEmpty(fn?.name) ?? nonEmpty(custom?.name);
  const type = nonEmpty(call.type);
  let cur = s.calls.get(index);
  let changed = false;
  if (cur === undefined || isNewCall(cur, id, name, type)) {
    const ok = gate.admitCall(chatToolNames(call));
    cur = { slot: ok ? s.kept++ : null, id: id ?? cur?.id, name: name ?? cur?.name, type: type ?? cur?.type };
    if (!ok) s.withheld = true;
    s.calls.set(index, cur);
    // A call told apart at a reused index reaches the client whole: with its id and type.
    if (ok && id === undefined && cur.id !== undefined) {
      call.id = cur.id;
      changed = true;
    }
    if (ok && type === undefined) {
      call.type = cur.type ?? "function";
      changed = true;
    }
  }
  if (cur.slot === null) return "drop";
  if (cur.slot !== index) {
    call.index = cur.slot;
    changed = true;
  }
  return changed ? "changed" : "same";
}

function filterChoice(choice: Obj, s: ChoiceState, gate: ToolGate): "same" | "changed" | "drop" {
  if (choice.message !== undefined) throw new Unfilterable("a stream choice carries a whole message");
  const delta = objOrNone(choice.delta, "delta");
  let changed = false;
  const calls = arrayOrNone(delta?.tool_calls, "tool_calls");
  if (delta !== undefined && calls !== undefined) {
    const kept: unknown[] = [];
    for (const call of calls) {
      if (!isObj(call)) throw new Unfilterable("a tool call delta is not an object");
      const verdict = filterCall(call, s, gate);
      if (verdict !== "drop") kept.push(call);
      if (verdict !== "same") changed = true;
    }
    if (kept.length > 0) delta.tool_calls = kept;
    else delete delta.tool_calls;
  }
  const fn = objOrNone(delta?.function_call, "function_call");
  if (delta !== undefined && fn !== undefined) {
    const name = nonEmpty(fn.name);
    if (s.fn === null || (name !== undefined && name !== s.fn.name)) {
      s.fn = { name: name ?? "", kept: gate.admitCall([name ?? ""]) };
      if (!s.fn.kept) s.withheld = true;
    }
    if (!s.fn.kept) {
      delete delta.function_call;
      changed = true;
    }
  }
  const fnKept = s.fn?.kept === true;
  if (s.withheld && s.kept === 0 && !fnKept && CALL_FINISH.has(str(choice.finish_reason) ?? "")) {
    choice.finish_reason = "stop";
    changed = true;
  }
  if (!changed) return "same";
  const empty = delta === undefined || Object.keys(delta).length === 0;
  return empty && choice.finish_reason == null && choice.logprobs == null ? "drop" : "changed";
}

/** The API's own stream error (the SDK throws it as an APIError), ending a stream the gateway cannot filter. */
export function chatStreamError(message: string): string {
  const error = { message, type: "server_error", param: null, code: "unfilterable_response" };
  return `data: ${JSON.stringify({ error })}\n\n`;
}
