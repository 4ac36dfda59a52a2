/**
 * Moving a streamed upstream body to the client. The client reads from workerd's native
 * IdentityTransformStream; a loop inside `waitUntil` reads the upstream body and writes each chunk, as it came or
 * as a relay changed it. Against `pipeThrough` a JavaScript TransformStream this is markedly cheaper per chunk
 * (docs/performance.md), and it tells apart the two ways a stream can fail: a failed read is the upstream's (it
 * cut the body), a failed write is the client's (it left).
 *
 * A client that leaves is noticed at the next write, that is when the upstream sends its next chunk; the
 * upstream's body is cancelled then. (The native stream does not report the cancel to the writer before that.)
 * An upstream that drops the connection before sending another chunk is counted as a cut.
 */

export interface Relay {
  /** What to send for one upstream chunk: the chunk itself, other bytes or text, or "" for nothing yet. */
  chunk?(bytes: Uint8Array): Uint8Array | string;
  /** What is left to send once the upstream body has ended cleanly. */
  end?(): Uint8Array | string;
  /** The upstream failed mid-body (never called when the client leaves). The client's read fails too. */
  cut?(error: unknown): void;
  /** True once the relay has sent its last bytes: the client's stream is closed, the upstream's cancelled. */
  finished?(): boolean;
}

const encoder = new TextEncoder();

export function pump(
  body: ReadableStream<Uint8Array>,
  waitUntil: (p: Promise<unknown>) => void,
  relay: Relay = {},
): ReadableStream<Uint8Array> {
  const { readable, writable } = new IdentityTransformStream();
  waitUntil(run(body.getReader(), writable.getWriter(), relay));
  return readable;
}

async function run(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  writer: WritableStreamDefaultWriter<ArrayBuffer | ArrayBufferView>,
  relay: Relay,
): Promise<void> {
  for (;;) {
    let read: ReadableStreamReadResult<Uint8Array>;
    try {
      read = await reader.read();
    } catch (error) {
      relay.cut?.(error);
      await writer.abort(error).catch(() => {});
      return;
    }
    let out: Uint8Array | string;
    try {
      out = read.done ? (relay.end?.() ?? "") : (relay.chunk?.(read.value) ?? read.value);
    } catch (error) {
      // A relay that throws is a gateway bug: the client's stream fails rather than carry on silently changed.
      console.error(JSON.stringify({ msg: "stream relay failed", error: String(error) }));
      await Promise.all([writer.abort(error).catch(() => {}), reader.cancel(error).catch(() => {})]);
      return;
    }
    try {
      if (out.length > 0) await writer.write(typeof out === "string" ? encoder.encode(out) : out);
      if (!read.done && relay.finished?.() === true) {
        await Promise.all([writer.close(), reader.cancel().catch(() => {})]);
        return;
      }
      if (read.done) {
        await writer.close();
        return;
      }
    } catch {
      // The client went away: nothing is wrong with the upstream; stop reading it.
      await reader.cancel().catch(() => {});
      return;
    }
  }
}
