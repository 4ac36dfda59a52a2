/**
 * Request headers and query parameters that switch on provider features (CONTRACT §2.2.1), filtered like body
 * fields. `anthropic-beta` values that enable a provider-run tool stay only when the lane allows that tool;
 * values known to change nothing about tools stay; any other value is removed, since an unknown beta may enable
 * a tool. `openai-beta` is removed (no value of it belongs to Chat Completions or Responses). Query parameters
 * other than the ones the SDKs send are refused.
 * https://docs.anthropic.com/en/api/beta-headers
 */
import type { Provider } from "./apis";
import type { ToolPolicy } from "./policy";
import { toolNotAllowed } from "./request-fields";

/** Beta families that enable a provider-run tool, and the hosted tool each stands for. */
const TOOL_BETAS: readonly [RegExp, string][] = [
  [/^mcp-client-/, "mcp"],
  [/^code-execution-/, "code_execution"],
  [/^skills-/, "code_execution"],
  [/^computer-use-/, "computer"],
  [/^web-fetch-/, "web_fetch"],
  [/^web-search-/, "web_search"],
  [/^(advanced-tool-use|tool-search)-/, "tool_search"],
];

/** Beta families that change limits, caching, thinking or streaming, never which tools exist. */
const PLAIN_BETAS =
  /^(prompt-caching|extended-cache-ttl|message-batches|token-counting|pdfs|output-128k|interleaved-thinking|token-efficient-tools|fine-grained-tool-streaming|context-1m|files-api|structured-outputs|context-management|model-context-window-exceeded|effort|dev-full-thinking)-/;

export function filterFeatureHeaders(headers: Headers, provider: Provider, policy: ToolPolicy): string[] {
  const removed: string[] = [];
  if (provider === "openai") {
    if (headers.has("openai-beta")) removed.push(`openai-beta: ${headers.get("openai-beta")}`);
    headers.delete("openai-beta");
    return removed;
  }
  const beta = headers.get("anthropic-beta");
  if (beta === null) return removed;
  const kept: string[] = [];
  for (const raw of beta.split(",")) {
    const value = raw.trim().toLowerCase();
    if (value === "") continue;
    const tool = TOOL_BETAS.find(([re]) => re.test(value))?.[1];
    if (tool !== undefined ? policy.allowed.has(tool) : PLAIN_BETAS.test(value)) kept.push(value);
    else removed.push(`anthropic-beta: ${value}`);
  }
  if (kept.length > 0) headers.set("anthropic-beta", kept.join(","));
  else headers.delete("anthropic-beta");
  return removed;
}

/** Query parameters the official SDKs send: the Anthropic SDK's `beta=true`, Azure-style `api-version`. */
const QUERY_ALLOWED = new Set(["beta", "api-version"]);

export function checkQuery(search: string): void {
  for (const name of new URLSearchParams(search).keys()) {
    if (!QUERY_ALLOWED.has(name)) {
      throw toolNotAllowed(
        `?${name}`,
        "the gateway does not know this query parameter, so it cannot rule out that it enables a tool",
      );
    }
  }
}
