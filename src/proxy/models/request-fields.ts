/**
 * The request side by construction (CONTRACT §2.2.1): each API's top-level fields, sorted into those that cannot
 * give the model a tool or a provider-run action, those the rewriters handle (tools and their switches), and
 * everything else, which is refused with 400 `tool_not_allowed` naming the field — a field the gateway does not
 * know may enable a tool tomorrow. Lists from the API references (checked 2026-12):
 * https://platform.openai.com/docs/api-reference/chat/create,
 * https://platform.openai.com/docs/api-reference/responses/create, https://docs.anthropic.com/en/api/messages.
 */
import { HttpError } from "../../errors";
import type { Obj } from "./json";

/** Fields that only shape generation, output or bookkeeping. */
const COMMON = ["model", "stream", "stream_options", "metadata", "temperature", "top_p", "service_tier"];

const CHAT_PLAIN = new Set([
  ...COMMON,
  "messages",
  "audio",
  "frequency_penalty",
  "logit_bias",
  "logprobs",
  "max_completion_tokens",
  "max_tokens",
  "modalities",
  "n",
  "prediction",
  "presence_penalty",
  "prompt_cache_key",
  "prompt_cache_retention",
  "reasoning_effort",
  "response_format",
  "safety_identifier",
  "seed",
  "stop",
  "store",
  "top_logprobs",
  "user",
  "verbosity",
]);
/** Rewritten by chat-request.ts. */
const CHAT_TOOLS = new Set([
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "functions",
  "function_call",
  "web_search_options",
]);

/**
 * `previous_response_id` and `conversation` carry earlier items, not tools: a Responses request can only call the
 * tools it declares itself. `prompt` (a stored template that can hold tools and instructions the gateway never
 * sees) and `background` (an answer fetched later, past the gateway's filter) are refused.
 */
const RESPONSES_PLAIN = new Set([
  ...COMMON,
  "input",
  "instructions",
  "conversation",
  "previous_response_id",
  "include",
  "max_output_tokens",
  "max_tool_calls",
  "prompt_cache_key",
  "prompt_cache_retention",
  "reasoning",
  "safety_identifier",
  "store",
  "text",
  "top_logprobs",
  "truncation",
  "user",
]);
const RESPONSES_TOOLS = new Set(["tools", "tool_choice", "parallel_tool_calls", "prompt", "background"]);

/** `mcp_servers` (the MCP connector) and `container` (code execution, skills) are rewritten by messages-request.ts. */
const MESSAGES_PLAIN = new Set([
  ...COMMON,
  "messages",
  "max_tokens",
  "system",
  "stop_sequences",
  "thinking",
  "top_k",
  "context_management",
  "output_format",
  "output_config",
]);
const MESSAGES_TOOLS = new Set(["tools", "tool_choice", "mcp_servers", "container"]);

const FIELDS = {
  "chat/completions": { plain: CHAT_PLAIN, tools: CHAT_TOOLS },
  responses: { plain: RESPONSES_PLAIN, tools: RESPONSES_TOOLS },
  messages: { plain: MESSAGES_PLAIN, tools: MESSAGES_TOOLS },
} as const;

export type ApiPath = keyof typeof FIELDS;

export function toolNotAllowed(field: string, message: string): HttpError {
  return new HttpError(400, "tool_not_allowed", `${field}: ${message}`, { field });
}

/** Refuses any field that is neither plain nor handled; then the fields that are refused outright. */
export function checkFields(api: ApiPath, body: Obj): void {
  const { plain, tools } = FIELDS[api];
  for (const key of Object.keys(body)) {
    if (!plain.has(key) && !tools.has(key)) {
      throw toolNotAllowed(key, "the gateway does not know this field, so it cannot rule out that it enables a tool");
    }
  }
  // A list field that is not a list could not be filtered: refused rather than passed on unread.
  for (const key of ["tools", "functions", "mcp_servers", "messages", "input"]) {
    if (tools.has(key) || plain.has(key)) {
      const v = body[key];
      if (v !== undefined && !Array.isArray(v) && !(key === "input" && typeof v === "string")) {
        throw toolNotAllowed(key, "must be an array");
      }
    }
  }
}
