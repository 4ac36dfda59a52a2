/**
 * The answer side of model traffic (CONTRACT §2.2, §2.2.1): a provider response becomes the client's, with
 * disallowed tool calls withheld, and nothing passed on that the filter could not fully read.
 *
 * - An error status (4xx, 5xx) passes as it is: an SDK never acts on the body of a failed call.
 * - A redirect is never passed on: the client would follow it to a host whose answer the gateway never sees.
 * - A 2xx event stream is filtered as it flows; an event the filter cannot read ends it with the API's own
 *   error event (`onUnfilterable` counts it). A 2xx JSON document is filtered once complete; one that is not
 *   strict JSON or has an unexpected shape becomes 502 `unfilterable_response`. Any other 2xx body (a missing,
 *   unknown or non-UTF-8 content type, NDJSON, an encoding the runtime cannot undo) is 502 as well, and so is a
 *   JSON document over MODEL_ANSWER_LIMIT or a stream event over SSE_EVENT_LIMIT (src/proxy/limits.ts).
 */
import { HttpError } from "../../errors";
import { MODEL_ANSWER_LIMIT, readAnswerCapped, TooLarge } from "../limits";
import { pump } from "../pump";
import type { ModelApi } from "./apis";
import { parseObj } from "./json";
import { answerKind } from "./media";
import { type ToolGate, Unfilterable } from "./policy";
import { sseRelay } from "./sse";

export interface StreamHooks {
  /** Keeps the stream's pump alive after the answer's headers are returned. */
  waitUntil: (p: Promise<unknown>) => void;
  /** A filtered event stream has ended cleanly: the gate then holds every call's fate. */
  onEnd?: () => void;
  /** The provider cut the event stream short (not the client leaving). */
  onCut?: (error: unknown) => void;
  /** The stream held something the filter could not read; it was ended with the API's error event. */
  onUnfilterable?: (error: Unfilterable) => void;
}

export const unfilterable = (why: string): HttpError =>
  new HttpError(
    502,
    "unfilterable_response",
    `the provider's answer could not be filtered, so it was withheld: ${why}`,
  );

export async function enforceResponse(
  upstream: Response,
  api: ModelApi,
  gate: ToolGate,
  stream: StreamHooks,
): Promise<Response> {
  if (upstream.status >= 300 && upstream.status < 400) {
    await upstream.body?.cancel();
    throw unfilterable(`a redirect (${upstream.status}) is never passed on`);
  }
  if (!upstream.ok || upstream.body === null) return new Response(upstream.body, upstream);
  const kind = answerKind(upstream.headers);
  const headers = new Headers(upstream.headers);
  // The body is re-encoded by us: its length changes, and the runtime already decoded any content-encoding.
  headers.delete("content-length");
  headers.delete("content-encoding");
  if (kind === "sse") {
    const failed = (error: Unfilterable) => {
      stream.onUnfilterable?.(error);
      return api.streamError(`the gateway withheld the rest of this answer: ${error.message}`);
    };
    const relay = { ...sseRelay(api.streamFilter(gate), stream.onEnd, failed), cut: stream.onCut };
    return new Response(pump(upstream.body, stream.waitUntil, relay), { status: upstream.status, headers });
  }
  if (kind !== "json") {
    await upstream.body.cancel();
    throw unfilterable(`content type ${JSON.stringify(upstream.headers.get("content-type"))} cannot be read`);
  }
  // Read whole to be filtered, so capped: a larger answer is never passed on.
  let text: string;
  try {
    text = await readAnswerCapped(upstream, MODEL_ANSWER_LIMIT);
  } catch (error) {
    if (error instanceof TooLarge) throw unfilterable(`the body is ${error.message}`);
    throw error;
  }
  const body = parseObj(text);
  if (body === undefined) throw unfilterable("the body is not a JSON object");
  let changed: boolean;
  try {
    changed = api.filterJson(body, gate);
  } catch (error) {
    if (error instanceof Unfilterable) throw unfilterable(error.message);
    throw error;
  }
  if (gate.approvalRequired.length > 0) headers.set("x-agent-approval-required", gate.approvalRequired.join(","));
  return new Response(changed ? JSON.stringify(body) : text, { status: upstream.status, headers });
}
