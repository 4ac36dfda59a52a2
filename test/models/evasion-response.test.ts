/**
 * A misbehaving model server against the lane (CONTRACT §2.2.1, response side; docs/threat-model.md R1–R9).
 * Each answer is scripted byte for byte on the real local provider and fetched through the real Worker while
 * support-bot / claude-bot are in draft-only: `search_kb` (read) may be called, `send_email` (write) may not.
 * The client must never receive the name `send_email` or its arguments (`SECRET_ARGS`).
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { override } from "../helpers/fixtures";
import { publishModels, SSE_HEADERS, scripted, sse } from "./helpers";

const SECRET_ARGS = '{\\"to\\":\\"attacker@example.com\\"}';
const SECRET = "attacker@example.com";
const JSON_HEADERS = { "content-type": "application/json" };

beforeAll(async () => {
  await publishModels(
    [
      override("ovr_draft", { agent: "support-bot" }, { mode: "draft-only" }),
      override("ovr_draftc", { agent: "claude-bot" }, { mode: "draft-only" }),
    ],
    2,
  );
});

const post = (path: string, headers: Record<string, string>, stream = false) =>
  SELF.fetch(`https://gw/models/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "x", stream, max_tokens: 5, messages: [{ role: "user", content: "hi" }] }),
  });
const chatPost = (h: Record<string, string>, stream = false) => post("support-bot/v1/chat/completions", h, stream);

const chatChunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: "c",
  object: "chat.completion.chunk",
  created: 1,
  model: "m",
  choices: [{ index: 0, delta, finish_reason: finish }],
});
const completion = (calls: unknown) => ({
  id: "c",
  object: "chat.completion",
  created: 1,
  model: "m",
  choices: [
    { index: 0, message: { role: "assistant", content: null, tool_calls: calls }, finish_reason: "tool_calls" },
  ],
});
const sendEmail = { id: "call_bad", type: "function", function: { name: "send_email", arguments: SECRET_ARGS } };

function neverDelivered(text: string): void {
  expect(text).not.toContain("send_email");
  expect(text).not.toContain(SECRET);
}

describe("content types (R1)", () => {
  for (const type of [
    undefined,
    "text/plain",
    "application/x-ndjson",
    "text/html",
    "application/json; charset=utf-16",
  ]) {
    it(`a 200 answer typed ${type ?? "(none)"} is never passed on: 502 unfilterable_response`, async () => {
      const body = JSON.stringify(completion([sendEmail]));
      const h = await scripted({ headers: type === undefined ? {} : { "content-type": type }, chunks: [body] });
      const res = await chatPost(h);
      const text = await res.text();
      expect(res.status).toBe(502);
      expect(JSON.parse(text).error.code).toBe("unfilterable_response");
      neverDelivered(text);
    });
  }

  it("content types are compared case-insensitively: Application/JSON and Text/Event-Stream are filtered", async () => {
    const json = await chatPost(
      await scripted({
        headers: { "content-type": "Application/JSON" },
        chunks: [JSON.stringify(completion([sendEmail]))],
      }),
    );
    expect(json.status).toBe(200);
    neverDelivered(await json.text());
    const stream = await chatPost(
      await scripted({
        headers: { "content-type": "Text/Event-Stream; Charset=UTF-8" },
        chunks: [sse(chatChunk({ tool_calls: [{ index: 0, ...sendEmail }] })), "data: [DONE]\n\n"],
      }),
      true,
    );
    expect(stream.status).toBe(200);
    neverDelivered(await stream.text());
  });

  it("a redirect is never passed on (the SDK would follow it past the gateway)", async () => {
    const res = await chatPost(
      await scripted({ status: 307, headers: { location: "https://evil.example/v1/chat/completions" }, chunks: [] }),
    );
    expect(res.status).toBe(502);
    expect(res.headers.get("location")).toBeNull();
  });
});

describe("JSON answers (R2)", () => {
  it("an unexpected shape where a call may be (tool_calls not a list) is 502", async () => {
    const bad = completion({ 0: sendEmail });
    const res = await chatPost(await scripted({ headers: JSON_HEADERS, chunks: [JSON.stringify(bad)] }));
    expect(res.status).toBe(502);
    neverDelivered(await res.text());
  });

  it("a body that is not strict JSON (an SSE text labelled JSON) is 502", async () => {
    const res = await chatPost(
      await scripted({ headers: JSON_HEADERS, chunks: [sse(chatChunk({ tool_calls: [{ index: 0, ...sendEmail }] }))] }),
    );
    expect(res.status).toBe(502);
    neverDelivered(await res.text());
  });

  it("a call typed custom that also names an allowed function is judged by every name it carries", async () => {
    const sly = {
      id: "x",
      type: "custom",
      function: { name: "search_kb" },
      custom: { name: "send_email", input: SECRET },
    };
    const res = await chatPost(await scripted({ headers: JSON_HEADERS, chunks: [JSON.stringify(completion([sly]))] }));
    expect(res.status).toBe(200);
    neverDelivered(await res.text());
  });
});

describe("chat streams (R3–R5)", () => {
  it("a second call at an index already admitted, with a new id and name, is judged on its own", async () => {
    const h = await scripted({
      headers: SSE_HEADERS,
      chunks: [
        sse(
          chatChunk({
            tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "search_kb", arguments: "" } }],
          }),
        ),
        sse(chatChunk({ tool_calls: [{ index: 0, function: { arguments: '{"q":"a"}' } }] })),
        sse(
          chatChunk({
            tool_calls: [{ index: 0, id: "c2", type: "function", function: { name: "send_email", arguments: "" } }],
          }),
        ),
        sse(chatChunk({ tool_calls: [{ index: 0, function: { arguments: SECRET_ARGS } }] })),
        sse(chatChunk({}, "tool_calls")),
        "data: [DONE]\n\n",
      ],
    });
    const text = await (await chatPost(h, true)).text();
    neverDelivered(text);
    expect(text).toContain("search_kb");
    expect(text).toContain('{\\"q\\":\\"a\\"}');
  });

  it("a later delta that renames the admitted call (no new id) is a new call, withheld", async () => {
    const h = await scripted({
      headers: SSE_HEADERS,
      chunks: [
        sse(
          chatChunk({
            tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "search_kb", arguments: "" } }],
          }),
        ),
        sse(chatChunk({ tool_calls: [{ index: 0, function: { name: "send_email", arguments: SECRET_ARGS } }] })),
        "data: [DONE]\n\n",
      ],
    });
    neverDelivered(await (await chatPost(h, true)).text());
  });

  it("an allowed call after a withheld one at the same index reaches the client whole, at its own index", async () => {
    const h = await scripted({
      headers: SSE_HEADERS,
      chunks: [
        sse(
          chatChunk({
            tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "send_email", arguments: "" } }],
          }),
        ),
        sse(chatChunk({ tool_calls: [{ index: 0, function: { arguments: SECRET_ARGS } }] })),
        sse(chatChunk({ tool_calls: [{ index: 0, id: "c2", function: { name: "search_kb", arguments: '{"q":1}' } }] })),
        sse(chatChunk({}, "tool_calls")),
        "data: [DONE]\n\n",
      ],
    });
    const text = await (await chatPost(h, true)).text();
    neverDelivered(text);
    const deltas = text
      .split("\n\n")
      .filter((e) => e.startsWith("data: {"))
      .map((e) => JSON.parse(e.slice(6)).choices[0]?.delta?.tool_calls)
      .filter(Boolean);
    expect(deltas).toEqual([
      [{ index: 0, id: "c2", type: "function", function: { name: "search_kb", arguments: '{"q":1}' } }],
    ]);
    expect(text).toContain('"finish_reason":"tool_calls"');
  });

  it("a key hidden behind a \\u escape is still read", async () => {
    const data = `{"choices":[{"index":0,"delta":{"tool_c\\u0061lls":[{"index":0,"id":"z","function":{"name":"send_email","arguments":"${SECRET_ARGS}"}}]}}]}`;
    const h = await scripted({ headers: SSE_HEADERS, chunks: [`data: ${data}\n\n`, "data: [DONE]\n\n"] });
    neverDelivered(await (await chatPost(h, true)).text());
  });

  it("an event that is not strict JSON ends the stream with the API's error event; nothing after it passes", async () => {
    const h = await scripted({
      headers: SSE_HEADERS,
      chunks: [
        sse(chatChunk({ content: "hello" })),
        "data: {'tool_calls': [send_email]}\n\n",
        sse(chatChunk({ tool_calls: [{ index: 0, ...sendEmail }] })),
        "data: [DONE]\n\n",
      ],
    });
    const res = await chatPost(h, true);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("hello");
    expect(text).toContain('"code":"unfilterable_response"');
    expect(text).not.toContain("[DONE]");
    neverDelivered(text);
  });
});

describe("Responses streams (R6)", () => {
  const ev = (type: string, body: Record<string, unknown>) => sse({ type, ...body }, type);
  const call = (id: string, name: string) => ({
    type: "function_call",
    id,
    call_id: `call_${id}`,
    name,
    arguments: "",
  });

  it("a new item at an output index already admitted, and an event renaming the call, are judged again", async () => {
    const h = await scripted({
      headers: SSE_HEADERS,
      chunks: [
        ev("response.created", { response: { id: "r", output: [] }, sequence_number: 0 }),
        ev("response.output_item.added", { output_index: 0, item: call("a", "search_kb"), sequence_number: 1 }),
        ev("response.output_item.added", { output_index: 0, item: call("b", "send_email"), sequence_number: 2 }),
        ev("response.function_call_arguments.delta", {
          output_index: 0,
          item_id: "b",
          delta: SECRET_ARGS,
          sequence_number: 3,
        }),
        ev("response.output_item.added", { output_index: 1, item: call("c", "search_kb"), sequence_number: 4 }),
        ev("response.function_call_arguments.done", {
          output_index: 1,
          item_id: "c",
          name: "send_email",
          arguments: SECRET_ARGS,
          sequence_number: 5,
        }),
        ev("response.completed", {
          response: {
            id: "r",
            output: [call("b", "send_email"), { ...call("c", "send_email"), arguments: SECRET_ARGS }],
          },
          sequence_number: 6,
        }),
      ],
    });
    const text = await (await post("support-bot/v1/responses", h, true)).text();
    neverDelivered(text);
  });
});

describe("Messages streams (R7)", () => {
  const ev = (type: string, body: Record<string, unknown>) => sse({ type, ...body }, type);
  it("a second block start at an index already admitted is judged again", async () => {
    const h = await scripted({
      headers: SSE_HEADERS,
      chunks: [
        ev("message_start", { message: { id: "m", type: "message", role: "assistant", content: [], model: "m" } }),
        ev("content_block_start", {
          index: 0,
          content_block: { type: "tool_use", id: "t1", name: "search_kb", input: {} },
        }),
        ev("content_block_start", {
          index: 0,
          content_block: { type: "tool_use", id: "t2", name: "send_email", input: {} },
        }),
        ev("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: SECRET_ARGS } }),
        ev("content_block_stop", { index: 0 }),
        ev("message_delta", { delta: { stop_reason: "tool_use" } }),
        ev("message_stop", {}),
      ],
    });
    const text = await (await post("claude-bot/v1/messages", h, true)).text();
    neverDelivered(text);
    expect(text).toContain("search_kb");
  });

  it("a non-JSON event ends the stream with Anthropic's error event", async () => {
    const h = await scripted({
      headers: SSE_HEADERS,
      chunks: [
        ev("message_start", { message: { id: "m", content: [] } }),
        "event: content_block_start\ndata: {index:0}\n\n",
      ],
    });
    const text = await (await post("claude-bot/v1/messages", h, true)).text();
    expect(text).toContain("event: error");
    expect(text).toContain('"type":"api_error"');
  });
});
