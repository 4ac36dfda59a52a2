/**
 * What the three request rewriters share (CONTRACT §2.2): the release's model and default params, the release
 * instructions placed once, and filtering a tool list down to the lane's effective set.
 */
import type { Decision } from "../../routing/decide";
import type { Served } from "../../routing/served";
import { isObj, list, type Obj, str } from "./json";
import { allowsAll, policyOf, type ToolPolicy } from "./policy";

/** The model lane of one decision: everything a rewriter needs, nothing it must not see. */
export interface ModelLane {
  model: string;
  params: Readonly<Obj>;
  system: string;
  policy: ToolPolicy;
}

const lanes = new WeakMap<Served, ModelLane>();

export function modelLaneOf(d: Decision): ModelLane {
  let lane = lanes.get(d.served);
  if (lane === undefined) {
    const m = d.release.manifest;
    lane = {
      model: m.model.name,
      params: m.model.params ?? {},
      system: m.instructions.system,
      policy: policyOf(d.served),
    };
    lanes.set(d.served, lane);
  }
  return lane;
}

/**
 * Params never set the model, the stream mode (the client's SDK decides how it reads the answer), the
 * conversation, the instructions or the tools: those are the client's or are rewritten by rule.
 */
const NOT_A_PARAM = new Set([
  "model",
  "stream",
  "stream_options",
  "messages",
  "input",
  "system",
  "instructions",
  "tools",
  "tool_choice",
  "functions",
  "function_call",
  "parallel_tool_calls",
]);

/**
 * Sets the release's model and fills in each default param the request left unset. `null` counts as unset:
 * the providers read an explicit null as "use the default", and the release's value is this lane's default.
 */
export function applyModel(body: Obj, lane: ModelLane): void {
  for (const [key, value] of Object.entries(lane.params)) {
    if (!NOT_A_PARAM.has(key) && (body[key] === undefined || body[key] === null)) body[key] = ownCopy(value);
  }
  body.model = lane.model;
}

/**
 * A value the request may own: a primitive as it is (it cannot be changed through the body), an object or array
 * as a deep copy, so a rewriter that changes the body can never change the release's params for later requests.
 * Params are JSON values, nearly always primitives (a temperature, a token limit): those skip `structuredClone`,
 * which costs far more than the copy (docs/performance.md).
 */
function ownCopy(value: unknown): unknown {
  return value === null || typeof value !== "object" ? value : structuredClone(value);
}

/** The release instructions ahead of the client's, unless the client's text already starts with them. */
export function prefixInstructions(system: string, client: string): string {
  if (client === "" || client === system) return system;
  return client.startsWith(`${system}\n\n`) ? client : `${system}\n\n${client}`;
}

/** The plain text of a message content: a string, or an array made only of text parts. */
export function textOf(content: unknown): string | null {
  if (typeof content === "string") return content;
  const parts = list(content);
  if (parts === undefined) return null;
  let text = "";
  for (const p of parts) {
    const t = isObj(p) && (p.type === "text" || p.type === "input_text") ? str(p.text) : undefined;
    if (t === undefined) return null;
    text += t;
  }
  return text;
}

/** Whether a conversation item is a system (or developer) message repeating the release instructions. */
export function isCopyOf(system: string): (m: unknown) => boolean {
  return (m) => isObj(m) && (m.role === "system" || m.role === "developer") && textOf(m.content) === system;
}

/** Keeps the tool definitions all of whose names are in the effective set; drops what has no readable name. */
export function allowedTools(tools: unknown[], namesOf: (t: Obj) => string[], policy: ToolPolicy): Obj[] {
  return tools.filter((t): t is Obj => isObj(t) && allowsAll(policy, namesOf(t)));
}
