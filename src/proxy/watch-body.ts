/**
 * Passing an upstream body on while noticing when the upstream cuts it short (docs/reliability.md, gap 3).
 *
 * Two ways, chosen by what the upstream declared:
 * - a small body of declared length, not encoded (most non-streamed JSON answers), is read whole, natively,
 *   before the answer starts: a cut is then an ordinary 502 the client can retry, never a broken 200, and no
 *   JavaScript runs per chunk (docs/performance.md: this is the cheap path the agent route's throughput needs);
 * - anything else (a stream, an unknown or large length) streams through `pump`, which reports a cut when the
 *   upstream's read fails, and tells a client that left apart from it.
 */
import { HttpError } from "../errors";
import { pump } from "./pump";

/** The largest declared body read whole: at most this much held per request in flight. */
export const BUFFER_MAX_BYTES = 64 * 1024;

/** The body to answer with: read whole when small and declared, else watched as it streams. */
export async function relayBody(
  upstream: Response,
  waitUntil: (p: Promise<unknown>) => void,
  onCut: (error: unknown) => void,
): Promise<ArrayBuffer | ReadableStream<Uint8Array> | null> {
  if (upstream.body === null) return null;
  if (!readWhole(upstream.headers)) return pump(upstream.body, waitUntil, { cut: onCut });
  try {
    return await upstream.arrayBuffer();
  } catch (err) {
    throw new HttpError(
      502,
      "upstream_truncated",
      `the upstream closed its answer before the declared length arrived: ${(err as Error).message ?? err}`,
    );
  }
}

/**
 * Declared length within the bound, and no content encoding: the runtime decodes an encoded body, so its
 * declared length would not bound what is held.
 */
function readWhole(headers: Headers): boolean {
  const length = headers.get("content-length");
  if (length === null || headers.has("content-encoding")) return false;
  const n = Number(length);
  return Number.isInteger(n) && n >= 0 && n <= BUFFER_MAX_BYTES;
}
