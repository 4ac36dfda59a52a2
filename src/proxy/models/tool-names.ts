/**
 * Which tools a definition, a `tool_choice` or a call names, per API (CONTRACT §2.2.1). Each function returns
 * every name the value could be taken for — by its type and by each name field it carries — because a provider
 * and a client may read different fields (a definition typed `custom` that also carries `function.name`); the
 * value is allowed only when every one of them is. A reference with no readable name yields [""], a name no
 * release has, so it is never let through.
 */
import { type Obj, obj, str } from "./json";
import { hostedToolName } from "./policy";

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
 * The tools a Responses output item calls, or null when the item is no call (a message, reasoning, a tool's
 * output). Hosted calls are `<tool>_call` items; MCP items belong to the `mcp` tool.
 * https://platform.openai.com/docs/api-reference/responses/object#responses/object-output
 */
export function responsesCallNames(item: Obj): string[] | null {
  // Types are compared case-insensitively (§2.2.1): a `Function_Call` is judged as the call it spells.
  const type = (str(item.type) ?? "").toLowerCase();
  if (type === "function_call" || type === "custom_tool_call") return named([str(item.name)]);
  if (type.startsWith("mcp_") && type !== "mcp_approval_response") return ["mcp"];
  if (type === "program") return ["programmatic_tool_calling"];
  if (type.endsWith("_call")) return [hostedToolName(type.slice(0, -"_call".length))];
  return null;
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
 * The tools an Anthropic content block calls, or null when it is no call: `tool_use` (a client tool, by name),
 * `server_tool_use` (a server tool, by its name), `mcp_tool_use` (the MCP connector: the `mcp` tool), and any
 * other `*tool_use` type a newer API version may add, judged by its name.
 */
export function anthropicCallNames(block: Obj): string[] | null {
  const type = (str(block.type) ?? "").toLowerCase();
  if (!type.endsWith("tool_use")) return null;
  if (type === "mcp_tool_use") return ["mcp"];
  const name = str(block.name) ?? "";
  if (type === "server_tool_use") return [SERVER_TOOL_OF.get(name) ?? name];
  return [name];
}
