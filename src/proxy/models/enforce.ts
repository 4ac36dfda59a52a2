/**
 * The answer side of model traffic (CONTRACT §2.2): a provider response becomes the client's, with disallowed
 * tool calls withheld. Error statuses and bodies that are neither JSON nor an event stream pass through as they
 * are; an event stream is filtered as it flows, a JSON body once it is complete.
 */
import type { ModelApi } from "./apis";
import { parseObj } from "./json";
import type { ToolGate } from "./policy";
import { sseFilterStream } from "./sse";

/** `onStreamEnd` runs when a filtered event stream has ended cleanly: the gate then holds every call's fate. */
export async function enforceResponse(
  upstream: Response,
  api: ModelApi,
  gate: ToolGate,
  onStreamEnd?: () => void,
): Promise<Response> {
  const type = upstream.headers.get("content-type") ?? "";
  if (!upstream.ok || upstream.body === null) return new Response(upstream.body, upstream);
  const headers = new Headers(upstream.headers);
  // The body is re-encoded by us: its length changes, and the runtime already decoded any content-encoding.
  headers.delete("content-length");
  headers.delete("content-encoding");
  if (type.includes("text/event-stream")) {
    return new Response(upstream.body.pipeThrough(sseFilterStream(api.streamFilter(gate), onStreamEnd)), {
      status: upstream.status,
      headers,
    });
  }
  if (!type.includes("json")) return new Response(upstream.body, upstream);
  const text = await upstream.text();
  const body = parseObj(text);
  const changed = body !== undefined && api.filterJson(body, gate);
  if (gate.approvalRequired.length > 0) headers.set("x-agent-approval-required", gate.approvalRequired.join(","));
  return new Response(changed ? JSON.stringify(body) : text, { status: upstream.status, headers });
}
