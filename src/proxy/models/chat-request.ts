/**
 * Rewrites an OpenAI Chat Completions request to the release's model lane (CONTRACT §2.2).
 * https://platform.openai.com/docs/api-reference/chat/create
 *
 * When no tool remains, `tools`, `tool_choice` and `parallel_tool_calls` are all removed: the API refuses the
 * last two without `tools`, and it accepts a history of assistant `tool_calls` and `tool` messages without any
 * tool declared, so removing is always valid. The legacy `functions` / `function_call` pair gets the same rules.
 */
import { isObj, list, type Obj, obj, str } from "./json";
import { allowsAll, type ToolPolicy } from "./policy";
import { allowedTools, applyModel, isCopyOf, type ModelLane } from "./request-common";
import { checkFields } from "./request-fields";
import { chatToolNames } from "./tool-names";

export function rewriteChat(body: Obj, lane: ModelLane): void {
  checkFields("chat/completions", body);
  applyModel(body, lane);
  if (lane.system !== "") {
    const messages = list(body.messages) ?? [];
    const copy = isCopyOf(lane.system);
    body.messages = copy(messages[0])
      ? [messages[0], ...messages.slice(1).filter((m) => !copy(m))]
      : [{ role: "system", content: lane.system }, ...messages.filter((m) => !copy(m))];
  }
  filterTools(body, lane.policy);
  filterFunctions(body, lane.policy);
  // Chat models search the web through this option rather than a tool; it is the hosted tool `web_search`.
  if (body.web_search_options !== undefined && !lane.policy.allowed.has("web_search")) delete body.web_search_options;
}

function filterTools(body: Obj, policy: ToolPolicy): void {
  const tools = list(body.tools);
  if (tools === undefined) return;
  const kept = allowedTools(tools, chatToolNames, policy);
  if (kept.length === 0) {
    delete body.tools;
    delete body.tool_choice;
    delete body.parallel_tool_calls;
    return;
  }
  body.tools = kept;
  if (body.tool_choice !== undefined) body.tool_choice = relaxChoice(body.tool_choice, policy);
}

/**
 * A choice naming a removed tool becomes `auto` (the client's demand cannot be met; the model may still use
 * what the lane allows). An `allowed_tools` list loses the removed tools; emptied, it becomes `none`, since the
 * client ruled out every tool that remains.
 */
function relaxChoice(choice: unknown, policy: ToolPolicy): unknown {
  if (!isObj(choice)) return choice;
  if (choice.type === "allowed_tools") {
    const inner = obj(choice.allowed_tools) ?? {};
    const kept = allowedTools(list(inner.tools) ?? [], chatToolNames, policy);
    return kept.length === 0 ? "none" : { ...choice, allowed_tools: { ...inner, tools: kept } };
  }
  return allowsAll(policy, chatToolNames(choice)) ? choice : "auto";
}

function filterFunctions(body: Obj, policy: ToolPolicy): void {
  const fns = list(body.functions);
  if (fns === undefined) return;
  const kept = fns.filter((f) => isObj(f) && policy.allowed.has(str(f.name) ?? ""));
  if (kept.length === 0) {
    delete body.functions;
    delete body.function_call;
    return;
  }
  body.functions = kept;
  const call = obj(body.function_call);
  if (call !== undefined && !policy.allowed.has(str(call.name) ?? "")) body.function_call = "auto";
}
