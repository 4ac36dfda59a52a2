/**
 * The error kinds of the gateway and the one place they become HTTP responses.
 * Every gateway error is JSON: { error: { code, message, details? } } (CONTRACT §2.1).
 */
import { HTTPException } from "hono/http-exception";
import type { RefusalCode } from "./control/model";

/**
 * The closed list of error codes the gateway answers with. A new code is added here (and documented), never
 * made up at a throw site. The control core's refusals (RefusalCode) are part of it.
 */
export type ErrorCode =
  | RefusalCode
  | "bad_request"
  | "invalid_request"
  | "invalid_json"
  | "body_too_large"
  | "bad_if_match"
  | "bad_key"
  | "bad_path"
  | "unauthorized"
  | "not_found"
  | "unknown_agent"
  | "unknown_release"
  | "no_active_release"
  | "config_unavailable"
  | "outcome_unknown"
  | "wrong_provider"
  | "upstream_timeout"
  | "upstream_unreachable"
  | "upstream_truncated"
  | "upload_incomplete"
  | "tool_not_allowed"
  | "unfilterable_response"
  | "provider_not_listed"
  | "unknown_server"
  | "unsupported_media_type"
  | "invalid_message"
  | "internal_error";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export function errorResponse(
  status: number,
  code: ErrorCode,
  message: string,
  details?: unknown,
  headers?: Record<string, string>,
): Response {
  const error = details === undefined ? { code, message } : { code, message, details };
  return new Response(JSON.stringify({ error }), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** Turns anything thrown into a JSON response; unexpected errors are logged and become 500. */
export function toResponse(err: unknown): Response {
  if (err instanceof HttpError) return errorResponse(err.status, err.code, err.message, err.details, err.headers);
  // Hono's own client errors (malformed JSON body, body too large) keep their 4xx status.
  if (err instanceof HTTPException && err.status < 500) {
    return errorResponse(
      err.status,
      err.status === 413 ? "body_too_large" : "bad_request",
      err.message || "bad request",
    );
  }
  console.error(JSON.stringify({ msg: "unhandled error", error: String(err), stack: (err as Error)?.stack }));
  return errorResponse(500, "internal_error", "the gateway failed unexpectedly; see its logs");
}
