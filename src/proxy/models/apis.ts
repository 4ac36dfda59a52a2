/**
 * The three model APIs the gateway speaks (CONTRACT §2.2), each with its provider, its path under the
 * provider's base URL, its request rewriter and its response filters.
 */

import { rewriteChat } from "./chat-request";
import { chatStreamFilter, filterChatCompletion } from "./chat-response";
import type { Obj } from "./json";
import { rewriteMessages } from "./messages-request";
import { filterMessage, messagesStreamFilter } from "./messages-response";
import type { ToolGate } from "./policy";
import type { ModelLane } from "./request-common";
import { rewriteResponses } from "./responses-request";
import { filterResponse, responsesStreamFilter } from "./responses-response";
import type { EventFilter } from "./sse";

export type Provider = "openai" | "anthropic";

export interface ModelApi {
  /** The path after `/v1/`, at the gateway and at the provider's `model.baseUrl`. */
  path: string;
  provider: Provider;
  rewrite(body: Obj, lane: ModelLane): void;
  /** Filters a JSON answer in place; true when it changed. */
  filterJson(body: Obj, gate: ToolGate): boolean;
  streamFilter(gate: ToolGate): EventFilter;
}

export const MODEL_APIS: readonly ModelApi[] = [
  {
    path: "chat/completions",
    provider: "openai",
    rewrite: rewriteChat,
    filterJson: filterChatCompletion,
    streamFilter: chatStreamFilter,
  },
  {
    path: "responses",
    provider: "openai",
    rewrite: rewriteResponses,
    filterJson: filterResponse,
    streamFilter: responsesStreamFilter,
  },
  {
    path: "messages",
    provider: "anthropic",
    rewrite: rewriteMessages,
    filterJson: filterMessage,
    streamFilter: messagesStreamFilter,
  },
];
