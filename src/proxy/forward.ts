/**
 * Forwarding one request to an upstream, streaming both bodies (CONTRACT §2.1). The timeout covers the wait for
 * the upstream's response headers; once they arrive the body streams for as long as it lasts, so long agent
 * streams are not cut. Unreachable → 502 `upstream_unreachable`; too slow → 504 `upstream_timeout`.
 */
import { HttpError } from "../errors";

export const DEFAULT_TIMEOUT_MS = 30_000;

export async function forward(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    return await fetch(url, { ...init, signal: controller.signal, redirect: "manual" });
  } catch (err) {
    if (timedOut) throw new HttpError(504, "upstream_timeout", `the upstream did not answer within ${timeoutMs} ms`);
    throw new HttpError(
      502,
      "upstream_unreachable",
      `the upstream could not be reached: ${(err as Error).message ?? err}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The upstream URL for a proxied path. Rejects paths that could climb out of the upstream's base path:
 * encoded slashes or backslashes, and dot segments (the URL parser has already resolved plain ones, but an
 * encoded `%2e%2e` can survive into the raw path).
 */
export function upstreamUrl(base: string, rawPath: string, search: string): string {
  if (/%2f|%5c|\\/i.test(rawPath))
    throw new HttpError(400, "bad_path", "encoded slashes and backslashes are not allowed in the path");
  const segments = rawPath.split("/");
  if (segments.some((s) => /^(\.|%2e){1,2}$/i.test(s)))
    throw new HttpError(400, "bad_path", "dot segments are not allowed in the path");
  // The release's URL may carry a query of its own (an API version, a tenant): the path goes before it, and the
  // client's query is appended after it.
  const hash = base.indexOf("#");
  const bare = hash < 0 ? base : base.slice(0, hash);
  const q = bare.indexOf("?");
  const root = q < 0 ? bare : bare.slice(0, q);
  const own = q < 0 ? "" : bare.slice(q + 1);
  const trimmed = root.endsWith("/") ? root.slice(0, -1) : root;
  const query = own === "" ? search : search.length <= 1 ? `?${own}` : `?${own}&${search.slice(1)}`;
  return `${trimmed}${rawPath}${query}`;
}

/** The failure class an upstream's answer carries (§2.3): its own header first, else any 5xx is an upstream error. */
export function answeredFailure(upstream: Response): string | null {
  return upstream.headers.get("x-agent-failure-class") ?? (upstream.status >= 500 ? "upstream_error" : null);
}

/**
 * The failure class of a forwarding that threw: a timeout, an unreachable upstream or a body it cut short;
 * anything else is ours.
 */
export function thrownFailure(err: unknown): string | null {
  if (!(err instanceof HttpError)) return null;
  if (err.code === "upstream_timeout") return "upstream_timeout";
  if (err.code === "upstream_unreachable" || err.code === "upstream_truncated") return "upstream_error";
  return null;
}
