/**
 * Which tools a definition, a `tool_choice` or a call names, per API (CONTRACT §2.2.1). Each function returns
 * every name the value could be taken for — by its type and by each name field it carries — because a provider
 * and a client may read different fields (a definition typed `custom` that also carries `function.name`); the
 * value is allowed only when every one of them is. A reference with no readable name yields [""], a name no
 * release has, so it is never let through.
 */
import { isObj, type Obj, obj, str } from "./json";
import { hostedToolName, Unfilterable } from "./policy";

const named = (names: (string | undefined)[]): string[] => {
  const out = names.filter((n): n is string => n !== undefined);
  return out.length === 0 ? [""] : out;
};

/**
 * OpenAI Chat Completions: `{type:"function", function:{name}}`, `{type:"custom", custom:{name}}`, the same shapes
 * in `tool_calls` (stream deltas may omit `type`) and in the named and `allowed_tools` forms of `tool_choice`;
 * any other type is a hosted tool named by its type.
 * https://platform.openai.com/docs/api-reference/chat/create
 */
export function chatToolNames(t: Obj): string[] {
  const type = str(t.type);
  const names = [str(obj(t.function)?.name), str(obj(t.custom)?.name)];
  if (type !== undefined && type !== "function" && type !== "custom") names.push(hostedToolName(type));
  return named(names);
}

/**
 * OpenAI Responses: function and custom tools carry `name` at top level; hosted tools (`web_search`,
 * `file_search`, `code_interpreter`, `mcp`, `computer_use_preview`, `image_generation`, `local_shell`, ...) are
 * named by their type. https://platform.openai.com/docs/api-reference/responses/create
 */
export function responsesToolNames(t: Obj): string[] {
  const type = str(t.type) ?? "";
  const names = [str(t.name)];
  if (type !== "function" && type !== "custom") names.push(type === "" ? "" : hostedToolName(type));
  return named(names);
}

/**
 * Responses output items that are no call: text, reasoning, and the outputs of calls (which carry the call's
 * `call_id` and go with it). As of 2026-12, from the API reference and the `openai` SDK's `ResponseOutputItem`.
 * https://platform.openai.com/docs/api-reference/responses/object#responses/object-output
 */
const RESPONSES_NON_CALL: ReadonlySet<string> = new Set([
  "message",
  "reasoning",
  "compaction",
  "function_call_output",
  "custom_tool_call_output",
  "computer_call_output",
  "local_shell_call_output",
  "shell_call_output",
  "apply_patch_call_output",
  "tool_search_output",
  "program_output",
  "mcp_approval_response",
]);

/** Hosted calls: `<tool>_call` items, each the call of the hosted tool its type names. */
const RESPONSES_HOSTED_CALL: ReadonlySet<string> = new Set([
  "file_search_call",
  "web_search_call",
  "computer_call",
  "image_generation_call",
  "code_interpreter_call",
  "local_shell_call",
  "shell_call",
  "apply_patch_call",
  "tool_search_call",
]);

/**
 * The tools a Responses output item calls, or null when the item is no call (a message, reasoning, a tool's
 * output). Function and custom calls by name; hosted calls by their type; the MCP items (`mcp_call`,
 * `mcp_list_tools`, `mcp_approval_request`) belong to the `mcp` tool; `additional_tools` (tool definitions
 * brought in mid-response) to every tool it defines. An item of any other type cannot be judged (§2.2.1): it
 * throws `Unfilterable`, so a type the gateway does not know never reaches the client while a lane applies.
 */
export function responsesCallNames(item: Obj): string[] | null {
  // Types are compared case-insensitively (§2.2.1): a `Function_Call` is judged as the call it spells.
  const type = (str(item.type) ?? "").toLowerCase();
  if (RESPONSES_NON_CALL.has(type)) return null;
  if (type === "function_call" || type === "custom_tool_call") return named([str(item.name)]);
  if (type === "mcp_call" || type === "mcp_list_tools" || type === "mcp_approval_request") return ["mcp"];
  if (type === "program") return ["programmatic_tool_calling"];
  if (RESPONSES_HOSTED_CALL.has(type)) return [hostedToolName(type.slice(0, -"_call".length))];
  if (type === "additional_tools") {
    if (!Array.isArray(item.tools)) throw new Unfilterable("an additional_tools item has no tool list");
    return named(item.tools.flatMap((t) => (isObj(t) ? responsesToolNames(t) : [""])));
  }
  throw new Unfilterable(`an output item of unknown type ${JSON.stringify(type.slice(0, 40))}`);
}

/**
 * Anthropic Messages: a client tool has a `name` (and no type, or `custom`); a server or Anthropic-defined tool
 * also has a dated `type` (`web_search_20250305`, `code_execution_20250825`, `computer_20250124`), which names
 * it as well. https://docs.anthropic.com/en/api/messages
 */
export function anthropicToolNames(t: Obj): string[] {
  const type = str(t.type);
  const names = [str(t.name)];
  if (type !== undefined && type !== "custom") names.push(anthropicHosted(type));
  return named(names);
}

/**
 * `web_search_20250305` → `web_search`; the tool search variants are the one tool `tool_search`; an MCP toolset
 * (`mcp_toolset`) is the MCP connector, the tool `mcp`.
 */
export function anthropicHosted(type: string): string {
  const name = type.replace(/_\d{8}$/, "");
  if (name.startsWith("tool_search_tool")) return "tool_search";
  return name.startsWith("mcp") ? "mcp" : name;
}

/** Server tools the code execution tool runs under its own sub-names. */
const SERVER_TOOL_OF: ReadonlyMap<string, string> = new Map([
  ["bash_code_execution", "code_execution"],
  ["text_editor_code_execution", "code_execution"],
  ["tool_search_tool_regex", "tool_search"],
  ["tool_search_tool_bm25", "tool_search"],
]);

/**
 * Anthropic content blocks that are no call: text, thinking, and the results of server and MCP calls (which
 * carry the call's `tool_use_id` and go with it). As of 2026-12, from the API reference and the
 * `@anthropic-ai/sdk` `ContentBlock` / `BetaContentBlock` unions. https://docs.anthropic.com/en/api/messages
 */
const ANTHROPIC_NON_CALL: ReadonlySet<string> = new Set([
  "text",
  "thinking",
  "redacted_thinking",
  "web_search_tool_result",
  "web_fetch_tool_result",
  "code_execution_tool_result",
  "bash_code_execution_tool_result",
  "text_editor_code_execution_tool_result",
  "tool_search_tool_result",
  "advisor_tool_result",
  "mcp_tool_result",
  "container_upload",
  "compaction",
  "fallback",
]);

/**
 * The tools an Anthropic content block calls, or null when it is no call: `tool_use` (a client tool, by name),
 * `server_tool_use` (a server tool, by its name), `mcp_tool_use` and `mcp_tool_listing` (the MCP connector: the
 * `mcp` tool). A block of any other type cannot be judged (§2.2.1): it throws `Unfilterable`.
 */
export function anthropicCallNames(block: Obj): string[] | null {
  const type = (str(block.type) ?? "").toLowerCase();
  if (ANTHROPIC_NON_CALL.has(type)) return null;
  if (type === "mcp_tool_use" || type === "mcp_tool_listing") return ["mcp"];
  const name = str(block.name) ?? "";
  if (type === "server_tool_use") return [SERVER_TOOL_OF.get(name) ?? name];
  if (type === "tool_use") return [name];
  throw new Unfilterable(`a content block of unknown type ${JSON.stringify(type.slice(0, 40))}`);
}
