/**
 * The gateway's byte caps on what it must hold to judge (docs/threat-model.md, "Size caps"). Past a cap the
 * gateway refuses with a clear error; it never passes on what it could not judge whole.
 */

/** A JSON answer of an MCP server is read whole to be judged. */
export const MCP_ANSWER_LIMIT = 8 * 1024 * 1024;
/** A JSON answer of a model provider is read whole to be filtered (a hosted image result can be megabytes). */
export const MODEL_ANSWER_LIMIT = 32 * 1024 * 1024;
/**
 * One server-sent event (model and MCP streams) is held until its blank line to be judged whole; this bounds its
 * text, in UTF-16 code units (each at least one byte of the upstream's UTF-8).
 */
export const SSE_EVENT_LIMIT = 8 * 1024 * 1024;
/** An OFREP request body: an evaluation context, a few fields. */
export const OFREP_BODY_LIMIT = 64 * 1024;

/** A body over its cap. */
export class TooLarge extends Error {
  constructor(readonly limit: number) {
    super(`larger than ${limit} bytes`);
  }
}

/**
 * The body as UTF-8 text, read chunk by chunk and cancelled as soon as it passes `limit` bytes (a declared
 * `content-length` over it is refused before anything is read). Throws `TooLarge`.
 */
export async function readCapped(body: ReadableStream<Uint8Array> | null, limit: number, declared?: string | null) {
  if (body === null) return "";
  if (declared != null && Number(declared) > limit) {
    await body.cancel().catch(() => {});
    throw new TooLarge(limit);
  }
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new TooLarge(limit);
    }
    text += decoder.decode(value, { stream: true });
  }
}

/**
 * An answer's text, at most `limit` bytes. A declared length within the cap is read by the runtime in one go
 * (`text()`): the HTTP framing delivers no more than the declared bytes, so nothing past the cap can arrive, and
 * the chunk loop of `readCapped` (docs/performance.md: about 270 µs a small answer) is not paid. Anything else
 * (no length, an encoded body, a length over the cap) goes through `readCapped`. Throws `TooLarge`.
 */
export async function readAnswerCapped(answer: Response, limit: number): Promise<string> {
  const declared = declaredLength(answer.headers);
  if (declared !== null && /^\d{1,15}$/.test(declared) && Number(declared) <= limit) return answer.text();
  return readCapped(answer.body, limit, declared);
}

/** The body's declared length, when it is the length of what will be read (not of an encoded body). */
export const declaredLength = (headers: Headers): string | null =>
  headers.has("content-encoding") ? null : headers.get("content-length");
