/**
 * Forwarding one request to an upstream, streaming both bodies (CONTRACT §2.1). The timeout starts once the
 * client's request body has been sent whole (CONTRACT §2.2.1: a slow upload is the client's, not the release's)
 * and covers the wait for the upstream's response headers; once they arrive the body streams for as long as it
 * lasts, so long agent streams are not cut. Unreachable → 502 `upstream_unreachable`; too slow → 504
 * `upstream_timeout`; a client whose upload breaks off → 400 `upload_incomplete`, which no failure class counts.
 *
 * A small upload of declared length is read whole, natively, before the upstream is called (docs/performance.md:
 * no JavaScript runs per chunk, and a body shorter than it declared is seen before anything is sent); a larger
 * or undeclared one streams through a read/write loop that knows when it was sent whole.
 */
import { HttpError } from "../errors";

export const DEFAULT_TIMEOUT_MS = 30_000;

/** The largest declared upload read whole before it is sent: at most this much held per request in flight. */
export const UPLOAD_READ_WHOLE_MAX = 64 * 1024;

export async function forward(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  const controller = new AbortController();
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    timer ??= setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
  };
  let uploadFailed: unknown = null;
  let uploaded: Promise<void> = Promise.resolve();
  let body = init.body;
  if (body instanceof ReadableStream) {
    const length = declaredLength(init.headers);
    if (length !== null && length <= UPLOAD_READ_WHOLE_MAX) {
      body = await readUpload(body, length);
      arm();
    } else {
      const watched = watchUpload(body, length, arm, (error) => {
        uploadFailed = error ?? "the upload ended early";
        controller.abort();
      });
      body = watched.body;
      uploaded = watched.done;
    }
  } else arm();
  try {
    return await fetch(url, { ...init, body, signal: controller.signal, redirect: "manual" });
  } catch (err) {
    // The fetch may fail a moment before the upload loop learns why (a short body fails at its close): wait for
    // it briefly, so the client's failure is not taken for the upstream's.
    await Promise.race([uploaded, new Promise((r) => setTimeout(r, 50))]);
    if (uploadFailed !== null) {
      console.log(JSON.stringify({ msg: "client upload incomplete", error: String(uploadFailed) }));
      throw new HttpError(400, "upload_incomplete", "the request body did not arrive whole");
    }
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

/** The `content-length` a request declares, when it is a valid one; else null. */
function declaredLength(headers: HeadersInit | undefined): number | null {
  if (headers === undefined) return null;
  const raw = headers instanceof Headers ? headers.get("content-length") : new Headers(headers).get("content-length");
  if (raw === null) return null;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** The whole upload, read natively; one that breaks off or ends short of its declared length is the client's. */
async function readUpload(body: ReadableStream<Uint8Array>, length: number): Promise<ArrayBuffer> {
  let bytes: ArrayBuffer;
  try {
    bytes = await new Response(body).arrayBuffer();
  } catch (error) {
    console.log(JSON.stringify({ msg: "client upload incomplete", error: String(error) }));
    throw new HttpError(400, "upload_incomplete", "the request body did not arrive whole");
  }
  if (bytes.byteLength !== length) {
    const error = `the body ended after ${bytes.byteLength} of ${length} declared bytes`;
    console.log(JSON.stringify({ msg: "client upload incomplete", error }));
    throw new HttpError(400, "upload_incomplete", "the request body did not arrive whole");
  }
  return bytes;
}

/**
 * The client's body, moved by a read/write loop so the gateway knows when it was sent whole (`sent`) and when
 * the client's side broke (`failed`: a failed read). A failed write is the upstream no longer reading: the
 * timeout then runs as usual. A declared length stays declared (FixedLengthStream), so the upstream sees the
 * same framing as before.
 */
function watchUpload(
  body: ReadableStream<Uint8Array>,
  n: number | null,
  sent: () => void,
  failed: (error: unknown) => void,
): { body: ReadableStream<Uint8Array>; done: Promise<void> } {
  const declared = n !== null;
  const { readable, writable } = n !== null ? new FixedLengthStream(n) : new IdentityTransformStream();
  let bytes = 0;
  const reader = body.getReader();
  const writer = writable.getWriter();
  const done = (async () => {
    for (;;) {
      let read: ReadableStreamReadResult<Uint8Array>;
      try {
        read = await reader.read();
      } catch (error) {
        failed(error);
        await writer.abort(error).catch(() => {});
        return;
      }
      if (read.done) {
        // A body shorter than the length it declared is the client's failure too.
        if (declared && bytes !== n) {
          failed(new Error(`the body ended after ${bytes} of ${n} declared bytes`));
          await writer.abort().catch(() => {});
        } else await writer.close().then(sent, sent); // a close that fails is the upstream no longer reading
        return;
      }
      bytes += read.value.byteLength;
      try {
        await writer.write(read.value);
      } catch {
        sent();
        await reader.cancel().catch(() => {});
        return;
      }
    }
  })();
  return { body: readable, done };
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
  // Both count (CONTRACT §2.3): a 5xx is an upstream error whatever else the upstream says about it, and the
  // class it names counts too. Several classes travel as one comma-separated list (counter.ts splits it).
  const own = upstream.headers.get("x-agent-failure-class");
  const status = upstream.status >= 500 ? "upstream_error" : null;
  return own === null ? status : status === null ? own : `${own}, ${status}`;
}

/**
 * The failure class of a forwarding that threw: a timeout, an unreachable upstream or a body it cut short;
 * anything else is ours.
 */
export function thrownFailure(err: unknown): string | null {
  if (!(err instanceof HttpError)) return null;
  if (err.code === "upstream_timeout") return "upstream_timeout";
  if (err.code === "upstream_unreachable" || err.code === "upstream_truncated") return "upstream_error";
  if (err.code === "unfilterable_response") return "upstream_error";
  return null;
}
