/**
 * The error kinds of the gateway and the one place they become HTTP responses.
 * Every gateway error is JSON: { error: { code, message, details? } } (CONTRACT §2.1).
 */
import { HTTPException } from "hono/http-exception";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export function errorResponse(
  status: number,
  code: string,
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
