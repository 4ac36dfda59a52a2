/**
 * Forwarding against a real upstream that misbehaves on purpose (CONTRACT §2.1): past `timeoutMs` → 504 JSON,
 * unreachable → 502 JSON, an upstream's own errors passed through, and both bodies streamed.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { BUFFER_MAX_BYTES } from "../../src/proxy/watch-body";
import type { Manifest } from "../../src/release/schema";
import { manifest, snapshot } from "../helpers/fixtures";
import { freshIsolate } from "../helpers/publish";

const upstream = inject("upstream");

async function withUpstream(base: string, timeoutMs?: number, revision = 1) {
  const m: Manifest = manifest("bot", "v1", base);
  m.workflows = { default: { upstream: `${base}/agent/v1`, ...(timeoutMs === undefined ? {} : { timeoutMs }) } };
  await freshIsolate(await snapshot(revision, { bot: { releases: [m], pointers: { active: "v1" } } }));
}

const errorOf = async (res: Response) => {
  expect(res.headers.get("content-type")).toContain("application/json");
  return ((await res.json()) as { error: { code: string; message: string } }).error;
};

describe("upstream failures", () => {
  it("past the workflow's timeoutMs answers 504 upstream_timeout, without waiting for the upstream", async () => {
    await withUpstream(upstream, 150);
    const started = Date.now();
    const res = await SELF.fetch("https://gw/agents/bot/slow?ms=3000");
    const elapsed = Date.now() - started;
    expect(res.status).toBe(504);
    expect(await errorOf(res)).toEqual({ code: "upstream_timeout", message: expect.stringContaining("150 ms") });
    expect(res.headers.get("x-agent-release")).toBe("v1");
    expect(res.headers.get("x-agent-decision")).toBe("stable");
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(2500);
  });

  it("a slow upstream within timeoutMs is waited for", async () => {
    await withUpstream(upstream, 2000);
    const res = await SELF.fetch("https://gw/agents/bot/slow?ms=200");
    expect(res.status).toBe(200);
    expect(((await res.json()) as { path: string }).path).toBe("/agent/v1/slow");
  });

  it("an unreachable upstream answers 502 upstream_unreachable", async () => {
    await withUpstream("http://127.0.0.1:9");
    const res = await SELF.fetch("https://gw/agents/bot/x", { method: "POST", body: "hi" });
    expect(res.status).toBe(502);
    expect((await errorOf(res)).code).toBe("upstream_unreachable");
    expect(res.headers.get("x-agent-release")).toBe("v1");
  });

  it("an upstream that drops the connection answers 502 upstream_unreachable", async () => {
    await withUpstream(upstream);
    const res = await SELF.fetch("https://gw/agents/bot/reset");
    expect(res.status).toBe(502);
    expect((await errorOf(res)).code).toBe("upstream_unreachable");
  });

  it.each([500, 503, 404, 429])("the upstream's own %i is passed through with its body", async (status) => {
    await withUpstream(upstream);
    const res = await SELF.fetch(`https://gw/agents/bot/status/${status}`);
    expect(res.status).toBe(status);
    expect(res.headers.get("x-agent-decision")).toBe("stable");
    expect(((await res.json()) as { path: string }).path).toBe(`/agent/v1/status/${status}`);
  });
});

describe("streaming", () => {
  it("streams the response: chunks arrive as the upstream writes them, intact", async () => {
    await withUpstream(upstream);
    const res = await SELF.fetch("https://gw/agents/bot/stream");
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const first = await reader.read();
    const firstText = decoder.decode(first.value, { stream: true });
    // The upstream writes five chunks 20 ms apart; a buffering proxy would hand them over all at once.
    expect(firstText).toContain("chunk 0");
    expect(firstText).not.toContain("chunk 4");
    let text = firstText;
    for (let r = await reader.read(); !r.done; r = await reader.read())
      text += decoder.decode(r.value, { stream: true });
    expect(text).toBe("chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n");
  });

  it("a small body of declared length is read whole, then passed on with the upstream's headers and length", async () => {
    await withUpstream(upstream);
    const t = Date.now();
    const res = await SELF.fetch("https://gw/agents/bot/declared?bytes=3000&pause=400");
    expect(Date.now() - t).toBeGreaterThanOrEqual(380); // the answer started after the whole body was in
    expect(res.status).toBe(200);
    expect(res.headers.get("x-upstream")).toBe("declared");
    expect(res.headers.get("content-length")).toBe("3000");
    expect(res.headers.get("x-agent-release")).toBe("v1");
    expect(await res.text()).toBe("x".repeat(3000));
  });

  it("a declared body over the read-whole bound streams: the answer starts before the rest is sent", async () => {
    await withUpstream(upstream);
    const n = BUFFER_MAX_BYTES * 2;
    const t = Date.now();
    const res = await SELF.fetch(`https://gw/agents/bot/declared?bytes=${n}&pause=800`);
    expect(Date.now() - t).toBeLessThan(600); // headers with the first half, not after the pause
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(n));
    expect(await res.text()).toBe("x".repeat(n));
  });

  it("the timeout covers the wait for headers only: a stream longer than timeoutMs is not cut", async () => {
    await withUpstream(upstream, 60);
    const res = await SELF.fetch("https://gw/agents/bot/stream");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n");
  });

  it("streams a request body through, byte for byte", async () => {
    await withUpstream(upstream);
    const piece = "0123456789abcdef".repeat(4096); // 64 KiB
    const pieces = 16;
    const encoder = new TextEncoder();
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === pieces) controller.close();
        else controller.enqueue(encoder.encode(`${sent++}:${piece}\n`));
      },
    });
    const res = await SELF.fetch("https://gw/agents/bot/upload", {
      method: "POST",
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(200);
    const got = (await res.json()) as { body: string; path: string };
    expect(got.path).toBe("/agent/v1/upload");
    const want = Array.from({ length: pieces }, (_, i) => `${i}:${piece}\n`).join("");
    expect(got.body.length).toBe(want.length);
    expect(got.body === want).toBe(true);
  });

  it("does not send a body upstream for GET", async () => {
    await withUpstream(upstream);
    const got = (await (await SELF.fetch("https://gw/agents/bot/x")).json()) as { body: string; method: string };
    expect(got).toMatchObject({ method: "GET", body: "" });
  });
});
