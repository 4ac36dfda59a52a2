/**
 * The three model APIs the gateway speaks (CONTRACT §2.2), each with its provider, its path under the
 * provider's base URL, its request rewriter and its response filters.
 */

import { rewriteChat } from "./chat-request";
import { chatStreamError, chatStreamFilter, filterChatCompletion } from "./chat-response";
import type { Obj } from "./json";
import { rewriteMessages } from "./messages-request";
import { filterMessage, messagesStreamError, messagesStreamFilter } from "./messages-response";
import type { ToolGate } from "./policy";
import type { ModelLane } from "./request-common";
import type { ApiPath } from "./request-fields";
import { rewriteResponses } from "./responses-request";
import { filterResponse, responsesStreamError, responsesStreamFilter } from "./responses-response";
import type { EventFilter } from "./sse";

export type Provider = "openai" | "anthropic";

export interface ModelApi {
  /** The path after `/v1/`, at the gateway and at the provider's `model.baseUrl`. */
  path: ApiPath;
  provider: Provider;
  rewrite(body: Obj, lane: ModelLane): void;
  /** Filters a JSON answer in place; true when it changed. */
  filterJson(body: Obj, gate: ToolGate): boolean;
  streamFilter(gate: ToolGate): EventFilter;
  /** The API's own error event, ending a stream that cannot be filtered (CONTRACT §2.2.1). */
  streamError(message: string): string;
}

export const MODEL_APIS: readonly ModelApi[] = [
  {
    path: "chat/completions",
    provider: "openai",
    rewrite: rewriteChat,
    filterJson: filterChatCompletion,
    streamFilter: chatStreamFilter,
    streamError: chatStreamError,
  },
  {
    path: "responses",
    provider: "openai",
    rewrite: rewriteResponses,
    filterJson: filterResponse,
    streamFilter: responsesStreamFilter,
    streamError: responsesStreamError,
  },
  {
    path: "messages",
    provider: "anthropic",
    rewrite: rewriteMessages,
    filterJson: filterMessage,
    streamFilter: messagesStreamFilter,
    streamError: messagesStreamError,
  },
];
