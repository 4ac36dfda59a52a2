/**
 * Size caps on model answers (docs/threat-model.md, "Size caps"): a JSON answer is read whole to be filtered, at
 * most 32 MiB; a streamed event is held until its blank line, at most 8 Mi characters. A provider past a cap is
 * refused — 502 `unfilterable_response`, or the API's error event ending the stream — never passed on unjudged.
 */
import { SELF } from "cloudflare:test";
import { APIError } from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { MODEL_ANSWER_LIMIT, SSE_EVENT_LIMIT } from "../../src/proxy/limits";
import { Unfilterable } from "../../src/proxy/models/policy";
import { SseParser } from "../../src/proxy/models/sse";
import { openai, publishModels, SSE_HEADERS, scripted } from "./helpers";

const SECRET = "attacker@example.com";
const encode = (s: string) => new TextEncoder().encode(s);

beforeAll(() => publishModels());

const chat = (headers: Record<string, string>, stream = false) =>
  SELF.fetch("https://gw/models/support-bot/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "x", stream, messages: [{ role: "user", content: "hi" }] }),
  });

describe("the SSE parser's cap on one event (pure)", () => {
  it("a line that never ends throws Unfilterable once past the cap, however it is chunked", () => {
    const p = new SseParser(100);
    expect(p.push(encode(`data: ${"x".repeat(50)}`))).toEqual([]);
    expect(() => p.push(encode("x".repeat(60)))).toThrow(Unfilterable);
  });

  it("many lines with no blank line (one event that never ends) throw past the cap", () => {
    const p = new SseParser(100);
    expect(p.push(encode(`data: ${"y".repeat(40)}\n`))).toEqual([]);
    expect(() => p.push(encode(`data: ${"y".repeat(70)}\n`))).toThrow(Unfilterable);
  });

  it("events under the cap pass, whatever the total", () => {
    const p = new SseParser(100);
    let n = 0;
    for (let i = 0; i < 50; i++) n += p.push(encode(`data: ${"z".repeat(80)}\n\n`)).length;
    expect(n).toBe(50);
  });
});

describe("through the gateway", () => {
  it("a JSON answer past 32 MiB is 502 unfilterable_response, raw and through the SDK", async () => {
    const content = "x".repeat(MODEL_ANSWER_LIMIT + 1024);
    const body = JSON.stringify({
      id: "c",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    });
    const chunks = [body.slice(0, body.length / 2), body.slice(body.length / 2)];
    const res = await chat(await scripted({ headers: { "content-type": "application/json" }, chunks }));
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(text.length).toBeLessThan(1000);
    expect(JSON.parse(text)).toMatchObject({ error: { code: "unfilterable_response" } });
    expect(text).toContain(`larger than ${MODEL_ANSWER_LIMIT} bytes`);
    const h = await scripted({ headers: { "content-type": "application/json" }, chunks });
    const err = await openai()
      .chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }] }, { headers: h })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(502);
  });

  it("an event whose line never ends is refused past the cap: the stream ends with the API's error", async () => {
    const head = `data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"send_email","arguments":"${SECRET}`;
    const pad = "x".repeat(1024 * 1024);
    const chunks = [
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: "hello" } }] })}\n\n`,
      head,
      ...Array.from({ length: SSE_EVENT_LIMIT / pad.length + 1 }, () => pad),
      '"}}]}}]}\n\ndata: [DONE]\n\n',
    ];
    const res = await chat(await scripted({ headers: SSE_HEADERS, chunks }), true);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("hello");
    expect(text).toContain('"code":"unfilterable_response"');
    expect(text).toContain(`an event larger than ${SSE_EVENT_LIMIT} characters`);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain("[DONE]");
    expect(text.length).toBeLessThan(10_000);

    const h = await scripted({ headers: SSE_HEADERS, chunks });
    const err = await (async () => {
      const s = await openai().chat.completions.create(
        { model: "x", messages: [{ role: "user", content: "hi" }], stream: true },
        { headers: h },
      );
      for await (const _ of s) {
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
  });
});
