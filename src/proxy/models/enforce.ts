/**
 * The answer side of model traffic (CONTRACT §2.2): a provider response becomes the client's, with disallowed
 * tool calls withheld. Error statuses and bodies that are neither JSON nor an event stream pass through as they
 * are; an event stream is filtered as it flows, a JSON body once it is complete.
 */
import { pump } from "../pump";
import type { ModelApi } from "./apis";
import { parseObj } from "./json";
import type { ToolGate } from "./policy";
import { sseRelay } from "./sse";

export interface StreamHooks {
  /** Keeps the stream's pump alive after the answer's headers are returned. */
  waitUntil: (p: Promise<unknown>) => void;
  /** A filtered event stream has ended cleanly: the gate then holds every call's fate. */
  onEnd?: () => void;
  /** The provider cut the event stream short (not the client leaving). */
  onCut?: (error: unknown) => void;
}

export async function enforceResponse(
  upstream: Response,
  api: ModelApi,
  gate: ToolGate,
  stream: StreamHooks,
): Promise<Response> {
  const type = upstream.headers.get("content-type") ?? "";
  if (!upstream.ok || upstream.body === null) return new Response(upstream.body, upstream);
  const headers = new Headers(upstream.headers);
  // The body is re-encoded by us: its length changes, and the runtime already decoded any content-encoding.
  headers.delete("content-length");
  headers.delete("content-encoding");
  if (type.includes("text/event-stream")) {
    const relay = { ...sseRelay(api.streamFilter(gate), stream.onEnd), cut: stream.onCut };
    return new Response(pump(upstream.body, stream.waitUntil, relay), {
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
