/**
 * Withholds disallowed tool calls from OpenAI Chat Completions answers, JSON and streamed (CONTRACT §2.2).
 * https://platform.openai.com/docs/api-reference/chat/object and .../chat-streaming
 *
 * A stream announces each call in a delta `{index, id, type, function:{name, arguments:""}}` and then streams its
 * arguments under the same `index`. The name arrives whole in that first delta (the SDK's ChatCompletionStream
 * relies on it too: it assigns the name, never concatenates it), so the call is decided right there; a first
 * delta without a name is withheld. Kept calls are renumbered 0, 1, ... per choice, and a `finish_reason` of
 * `tool_calls` (or legacy `function_call`) becomes `stop` when every call of the choice was withheld.
 */
import { isObj, list, type Obj, obj, parseObj, str } from "./json";
import type { ToolGate } from "./policy";
import { type EventFilter, serializeEvent } from "./sse";
import { chatToolName } from "./tool-names";

const CALL_FINISH = new Set(["tool_calls", "function_call"]);
/**
 * Most chunks carry only text, and parsing them is most of the filter's cost. A chunk whose data never spells
 * a call field cannot need a change; data with a `\u` escape is always parsed, since JSON may escape a key.
 */
const MAY_CALL = /tool_calls|function_call|\\u/;

/** Filters a `chat.completion` in place; true when it changed. */
export function filterChatCompletion(body: Obj, gate: ToolGate): boolean {
  let changed = false;
  for (const choice of list(body.choices) ?? []) {
    const message = obj(obj(choice)?.message);
    if (!isObj(choice) || message === undefined) continue;
    let kept = 0;
    let withheld = false;
    const calls = list(message.tool_calls);
    if (calls !== undefined) {
      const allowed = calls.filter((c) => isObj(c) && gate.admit(chatToolName(c)));
      kept += allowed.length;
      if (allowed.length < calls.length) {
        withheld = true;
        if (allowed.length > 0) message.tool_calls = allowed;
        else delete message.tool_calls;
      }
    }
    const fn = obj(message.function_call);
    if (fn !== undefined) {
      if (gate.admit(str(fn.name) ?? "")) kept++;
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

interface ChoiceState {
  /** Upstream call index → index sent to the client, or null when withheld. */
  slots: Map<number, number | null>;
  kept: number;
  withheld: boolean;
  /** The legacy `function_call` of this choice: undecided, kept or withheld. */
  fn: boolean | null;
}

/** The stream filter for `chat.completion.chunk` events. */
export function chatStreamFilter(gate: ToolGate): EventFilter {
  const states = new Map<number, ChoiceState>();
  const stateOf = (index: number): ChoiceState => {
    let s = states.get(index);
    if (s === undefined) {
      s = { slots: new Map(), kept: 0, withheld: false, fn: null };
      states.set(index, s);
    }
    return s;
  };
  return (ev) => {
    if (ev.data === null || !MAY_CALL.test(ev.data)) return ev.raw;
    const chunk = ev.data === "[DONE]" ? undefined : parseObj(ev.data);
    const choices = list(chunk?.choices);
    if (chunk === undefined || choices === undefined || choices.length === 0) return ev.raw;
    let changed = false;
    const out: unknown[] = [];
    for (const choice of choices) {
      const verdict = isObj(choice) ? filterChoice(choice, stateOf(Number(choice.index ?? 0)), gate) : "same";
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

function filterChoice(choice: Obj, s: ChoiceState, gate: ToolGate): "same" | "changed" | "drop" {
  const delta = obj(choice.delta);
  let changed = false;
  const calls = list(delta?.tool_calls);
  if (delta !== undefined && calls !== undefined) {
    const kept: unknown[] = [];
    for (const call of calls) {
      if (!isObj(call) || typeof call.index !== "number") {
        changed = true; // not a call we can follow: withheld
        continue;
      }
      let slot = s.slots.get(call.index);
      if (slot === undefined) {
        slot = gate.admit(chatToolName(call)) ? s.kept++ : null;
        if (slot === null) s.withheld = true;
        s.slots.set(call.index, slot);
      }
      if (slot === null) {
        changed = true;
        continue;
      }
      if (slot !== call.index) {
        call.index = slot;
        changed = true;
      }
      kept.push(call);
    }
    if (kept.length > 0) delta.tool_calls = kept;
    else delete delta.tool_calls;
  }
  const fn = obj(delta?.function_call);
  if (delta !== undefined && fn !== undefined) {
    if (s.fn === null) {
      s.fn = gate.admit(str(fn.name) ?? "");
      if (!s.fn) s.withheld = true;
    }
    if (!s.fn) {
      delete delta.function_call;
      changed = true;
    }
  }
  if (s.withheld && s.kept === 0 && s.fn !== true && CALL_FINISH.has(str(choice.finish_reason) ?? "")) {
    choice.finish_reason = "stop";
    changed = true;
  }
  if (!changed) return "same";
  const empty = delta === undefined || Object.keys(delta).length === 0;
  return empty && choice.finish_reason == null && choice.logprobs == null ? "drop" : "changed";
}
