/**
 * The pump that moves streamed bodies to the client (src/proxy/pump.ts): chunks pass as they come or as the relay
 * changes them, and the three ways a stream ends badly are told apart — the upstream cut it, the relay failed,
 * the client left.
 */
import { describe, expect, it } from "vitest";
import { pump } from "../../src/proxy/pump";

const enc = new TextEncoder();
const settle = () => new Promise((r) => setTimeout(r, 20));

/** An upstream body the test drives, which remembers whether (and why) it was cancelled. */
function upstream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const state = { cancelled: false as boolean, reason: undefined as unknown };
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel(reason) {
      state.cancelled = true;
      state.reason = reason;
    },
  });
  return { body, send: (s: string) => controller.enqueue(enc.encode(s)), controller, state };
}

const pending: Promise<unknown>[] = [];
const waitUntil = (p: Promise<unknown>) => {
  pending.push(p);
};

describe("pump", () => {
  it("passes chunks through in order and ends when the upstream ends", async () => {
    const up = upstream();
    const out = pump(up.body, waitUntil);
    up.send("one ");
    up.send("two");
    up.controller.close();
    expect(await new Response(out).text()).toBe("one two");
  });

  it("sends what the relay makes of each chunk, and what it adds at the end", async () => {
    const up = upstream();
    const out = pump(up.body, waitUntil, {
      chunk: (b) => new TextDecoder().decode(b).toUpperCase(),
      end: () => "!",
    });
    up.send("a");
    up.send("");
    up.send("b");
    up.controller.close();
    expect(await new Response(out).text()).toBe("AB!");
  });

  it("an upstream that fails mid-body is reported as a cut, and the client's read fails", async () => {
    const up = upstream();
    const cuts: unknown[] = [];
    const reader = pump(up.body, waitUntil, { cut: (e) => cuts.push(e) }).getReader();
    up.send("part");
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("part");
    up.controller.error(new Error("connection reset"));
    await expect(reader.read()).rejects.toThrow();
    expect(cuts.map(String)).toEqual(["Error: connection reset"]);
  });

  it("a relay that throws fails the client's stream and cancels the upstream; it is no cut", async () => {
    const up = upstream();
    const cuts: unknown[] = [];
    const reader = pump(up.body, waitUntil, {
      chunk: () => {
        throw new Error("filter bug");
      },
      cut: (e) => cuts.push(e),
    }).getReader();
    up.send("x");
    await expect(reader.read()).rejects.toThrow();
    await settle();
    expect(up.state.cancelled).toBe(true);
    expect(cuts).toEqual([]);
  });

  it("a client that leaves is no cut: the upstream is cancelled at its next chunk", async () => {
    const up = upstream();
    const cuts: unknown[] = [];
    const reader = pump(up.body, waitUntil, { cut: (e) => cuts.push(e) }).getReader();
    up.send("first");
    await reader.read();
    await reader.cancel();
    up.send("second"); // nobody reads it any more
    await settle();
    expect(up.state.cancelled).toBe(true);
    expect(cuts).toEqual([]);
  });
});
