/**
 * Which tool a definition, a `tool_choice` or a call names, per API. One function per API serves requests and
 * responses alike, because each API uses the same shape for a tool reference in both directions.
 * A reference whose name cannot be read yields "" — a name no release has — so it is never let through.
 */
import { type Obj, obj, str } from "./json";
import { hostedToolName } from "./policy";

/**
 * OpenAI Chat Completions: `{type:"function", function:{name}}`, `{type:"custom", custom:{name}}`, the same shapes
 * in `tool_calls` (stream deltas may omit `type`) and in the named and `allowed_tools` forms of `tool_choice`.
 * https://platform.openai.com/docs/api-reference/chat/create
 */
export function chatToolName(t: Obj): string {
  const named = str(obj(t.function)?.name) ?? str(obj(t.custom)?.name);
  if (named !== undefined) return named;
  const type = str(t.type);
  return type === undefined || type === "function" || type === "custom" ? "" : hostedToolName(type);
}

/**
 * OpenAI Responses: function and custom tools carry `name` at top level; hosted tools (`web_search`,
 * `file_search`, `code_interpreter`, `mcp`, ...) are named by their type.
 * https://platform.openai.com/docs/api-reference/responses/create
 */
export function responsesToolName(t: Obj): string {
  const type = str(t.type) ?? "";
  if (type === "function" || type === "custom") return str(t.name) ?? "";
  return type === "" ? "" : hostedToolName(type);
}

/**
 * The tool a Responses output item calls, or null when the item is no call (a message, reasoning, a tool's
 * output). Hosted calls are `<tool>_call` items; MCP items belong to the `mcp` tool.
 * https://platform.openai.com/docs/api-reference/responses/object#responses/object-output
 */
export function responsesCallName(item: Obj): string | null {
  const type = str(item.type) ?? "";
  if (type === "function_call" || type === "custom_tool_call") return str(item.name) ?? "";
  if (type.startsWith("mcp_") && type !== "mcp_approval_response") return "mcp";
  if (type === "program") return "programmatic_tool_calling";
  if (type.endsWith("_call")) return hostedToolName(type.slice(0, -"_call".length));
  return null;
}

/** Anthropic Messages: every tool, client or server, has a `name`. https://docs.anthropic.com/en/api/messages */
export const anthropicToolName = (t: Obj): string => str(t.name) ?? "";

/** Anthropic content blocks that call a tool: client tools, server tools, MCP connector tools. */
export const ANTHROPIC_CALL_BLOCKS: ReadonlySet<string> = new Set(["tool_use", "server_tool_use", "mcp_tool_use"]);
