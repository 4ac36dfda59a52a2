/**
 * Rewrites an OpenAI Responses request to the release's model lane (CONTRACT §2.2).
 * https://platform.openai.com/docs/api-reference/responses/create
 *
 * The release instructions go in `instructions`, ahead of the client's; system or developer messages in `input`
 * that only repeat them are dropped so they appear once. Hosted tools are named by type (`web_search`,
 * `file_search`, `code_interpreter`, `mcp`, ...) and removed unless the release lists that name; a `namespace`
 * tool keeps only its allowed functions. With no tool left, `tools`, `tool_choice` and `parallel_tool_calls`
 * are removed: `function_call` items in `input` need no declaration.
 */
import { isObj, list, type Obj, str } from "./json";
import { allowsAll, type ToolPolicy } from "./policy";
import { allowedTools, applyModel, isCopyOf, type ModelLane, prefixInstructions } from "./request-common";
import { checkFields, toolNotAllowed } from "./request-fields";
import { responsesToolNames } from "./tool-names";

export function rewriteResponses(body: Obj, lane: ModelLane): void {
  checkFields("responses", body);
  if (body.prompt !== undefined) {
    throw toolNotAllowed("prompt", "a stored prompt template can carry tools the gateway cannot see; send the input");
  }
  if (body.background !== undefined && body.background !== false) {
    throw toolNotAllowed("background", "a background answer is fetched later, past the gateway's tool filter");
  }
  delete body.background;
  applyModel(body, lane);
  if (lane.system !== "") {
    body.instructions = prefixInstructions(lane.system, str(body.instructions) ?? "");
    const input = list(body.input);
    if (input !== undefined) body.input = input.filter((m) => !isCopyOf(lane.system)(m));
  }
  const tools = list(body.tools);
  if (tools === undefined) return;
  const kept = tools.flatMap((t) => keepTool(t, lane.policy));
  if (kept.length === 0) {
    delete body.tools;
    delete body.tool_choice;
    delete body.parallel_tool_calls;
    return;
  }
  body.tools = kept;
  if (body.tool_choice !== undefined) body.tool_choice = relaxChoice(body.tool_choice, lane.policy);
}

function keepTool(t: unknown, policy: ToolPolicy): Obj[] {
  if (!isObj(t)) return [];
  if (t.type !== "namespace") return allowsAll(policy, responsesToolNames(t)) ? [t] : [];
  const inner = allowedTools(list(t.tools) ?? [], responsesToolNames, policy);
  return inner.length === 0 ? [] : [{ ...t, tools: inner }];
}

/** Same relaxation as Chat Completions: a removed named tool → `auto`; an emptied `allowed_tools` → `none`. */
function relaxChoice(choice: unknown, policy: ToolPolicy): unknown {
  if (!isObj(choice)) return choice;
  if (choice.type === "allowed_tools") {
    const kept = allowedTools(list(choice.tools) ?? [], responsesToolNames, policy);
    return kept.length === 0 ? "none" : { ...choice, tools: kept };
  }
  return allowsAll(policy, responsesToolNames(choice)) ? choice : "auto";
}
