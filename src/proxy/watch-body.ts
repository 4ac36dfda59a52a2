/**
 * Passing an upstream body on while noticing when the upstream cuts it short (docs/reliability.md, gap 3).
 * The bytes go through an identity TransformStream fed by `pipeTo`, which workerd runs natively: no JavaScript
 * per chunk. Only the pipe's outcome is watched, inside `waitUntil`.
 *
 * A pipe also fails when the client goes away; that is no fault of the upstream. The pipe does not cancel the
 * upstream body (`preventCancel`), so after a failure the body tells which side failed: errored means the
 * upstream cut it; still open means the client left, and the body is cancelled then.
 */

export function watchBody(
  body: ReadableStream<Uint8Array>,
  waitUntil: (p: Promise<unknown>) => void,
  onCut: (error: unknown) => void,
): ReadableStream<Uint8Array> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  waitUntil(
    body.pipeTo(writable, { preventCancel: true }).catch(async (error: unknown) => {
      if (await upstreamFailed(body)) onCut(error);
      else await body.cancel().catch(() => {});
    }),
  );
  return readable;
}

async function upstreamFailed(body: ReadableStream<Uint8Array>): Promise<boolean> {
  const reader = body.getReader();
  const errored = await Promise.race([
    reader.closed.then(
      () => false,
      () => true,
    ),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), 0)),
  ]);
  reader.releaseLock();
  return errored;
}
