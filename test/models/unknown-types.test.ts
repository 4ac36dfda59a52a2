/**
 * Block, item and field types the filter does not know (CONTRACT §2.2.1; docs/threat-model.md R13–R15). A hostile
 * model server dresses a call to `send_email` (outside the lane) in a type the gateway has no rule for: an
 * Anthropic block typed `tool_call`, a Responses item typed `server_tool_use`, a Chat message field
 * `function_calls`. Each must be refused — 502 `unfilterable_response` for JSON, the API's own error event for a
 * stream — never passed on. Known non-call types (thinking, reasoning, ...) still pass unchanged. Raw bodies are
 * fetched as an attacker would; the real SDKs must fail rather than hand the call to the runtime.
 */
import { SELF } from "cloudflare:test";
import { APIError as AnthropicError } from "@anthropic-ai/sdk";
import { APIError as OpenAIError } from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { override } from "../helpers/fixtures";
import { anthropic, openai, publishModels, SSE_HEADERS, scripted, sse } from "./helpers";

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
    body: JSON.stringify(
      path.endsWith("/responses")
        ? { model: "x", stream, input: "hi" }
        : { model: "x", stream, max_tokens: 5, messages: [{ role: "user", content: "hi" }] },
    ),
  });

function neverDelivered(text: string): void {
  expect(text).not.toContain("send_email");
  expect(text).not.toContain(SECRET);
}

async function refusedJson(res: Response): Promise<void> {
  const text = await res.text();
  expect(res.status).toBe(502);
  expect(JSON.parse(text).error.code).toBe("unfilterable_response");
  neverDelivered(text);
}

const ev = (type: string, body: Record<string, unknown>) => sse({ type, ...body }, type);

describe("Anthropic content blocks (R13)", () => {
  const message = (content: unknown[]) => ({
    id: "m",
    type: "message",
    role: "assistant",
    model: "m",
    content,
    stop_reason: "tool_use",
    stop_sequence: null,
    usage: { input_tokens: 1, output_tokens: 1 },
  });
  const disguised = (type: string) => ({ type, id: "t1", name: "send_email", input: { to: SECRET } });

  for (const type of ["tool_call", "function_call", "client_tool_use", "Tool_Use_V2", ""]) {
    it(`JSON: a block typed ${JSON.stringify(type)} is 502, raw and through the SDK`, async () => {
      const body = JSON.stringify(message([{ type: "text", text: "ok" }, disguised(type)]));
      await refusedJson(
        await post("claude-bot/v1/messages", await scripted({ headers: JSON_HEADERS, chunks: [body] })),
      );
      const h = await scripted({ headers: JSON_HEADERS, chunks: [body] });
      const err = await anthropic()
        .messages.create({ model: "x", max_tokens: 5, messages: [{ role: "user", content: "hi" }] }, { headers: h })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AnthropicError);
      expect((err as AnthropicError).status).toBe(502);
    });
  }

  it("JSON: known non-call blocks (thinking, redacted_thinking, a server tool's result) pass unchanged", async () => {
    const content = [
      { type: "thinking", thinking: "hmm", signature: "sig" },
      { type: "redacted_thinking", data: "xyz" },
      { type: "text", text: "ok", citations: null },
      { type: "web_search_tool_result", tool_use_id: "srv_1", content: [] },
    ];
    const body = JSON.stringify({ ...message(content), stop_reason: "end_turn" });
    const res = await post("claude-bot/v1/messages", await scripted({ headers: JSON_HEADERS, chunks: [body] }));
    expect(res.status).toBe(200);
    expect((await res.json()) as unknown).toEqual(JSON.parse(body));
  });

  const stream = (block: unknown) => [
    ev("message_start", { message: { ...message([]), stop_reason: null } }),
    ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
    ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: "hello" } }),
    ev("content_block_stop", { index: 0 }),
    ev("content_block_start", { index: 1, content_block: block }),
    ev("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: `{"to":"${SECRET}"}` } }),
    ev("content_block_stop", { index: 1 }),
    ev("message_delta", { delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 1 } }),
    ev("message_stop", {}),
  ];

  it("SSE: a content_block_start of unknown type ends the stream with Anthropic's error event", async () => {
    const h = await scripted({ headers: SSE_HEADERS, chunks: stream({ ...disguised("tool_call"), input: {} }) });
    const res = await post("claude-bot/v1/messages", h, true);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("hello");
    expect(text).toContain("event: error");
    expect(text).toContain('"type":"api_error"');
    expect(text).not.toContain("message_stop");
    neverDelivered(text);
  });

  it("SSE: the SDK's MessageStream throws instead of yielding the disguised call", async () => {
    const h = await scripted({ headers: SSE_HEADERS, chunks: stream({ ...disguised("tool_call"), input: {} }) });
    const s = anthropic().messages.stream(
      { model: "x", max_tokens: 5, messages: [{ role: "user", content: "hi" }] },
      { headers: h },
    );
    const seen: string[] = [];
    const err = await (async () => {
      for await (const e of s) seen.push(JSON.stringify(e));
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AnthropicError);
    neverDelivered(seen.join("\n"));
  });
});

describe("Responses output items (R14)", () => {
  const response = (output: unknown[]) => ({ id: "r", object: "response", status: "completed", model: "m", output });
  const disguised = (type: string) => ({
    type,
    id: "it_1",
    call_id: "call_1",
    name: "send_email",
    arguments: JSON.stringify({ to: SECRET }),
  });
  const text = { type: "message", id: "msg", role: "assistant", status: "completed", content: [] };

  for (const type of ["server_tool_use", "mcp_tool_use", "tool_call", "function", "Function_Call_V2", ""]) {
    it(`JSON: an item typed ${JSON.stringify(type)} is 502, raw and through the SDK`, async () => {
      const body = JSON.stringify(response([text, disguised(type)]));
      await refusedJson(
        await post("support-bot/v1/responses", await scripted({ headers: JSON_HEADERS, chunks: [body] })),
      );
      const h = await scripted({ headers: JSON_HEADERS, chunks: [body] });
      const err = await openai()
        .responses.create({ model: "x", input: "hi" }, { headers: h })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAIError);
      expect((err as OpenAIError).status).toBe(502);
    });
  }

  it("JSON: known non-call items (reasoning, a message) pass unchanged", async () => {
    const body = JSON.stringify(response([{ type: "reasoning", id: "rs", summary: [] }, text]));
    const res = await post("support-bot/v1/responses", await scripted({ headers: JSON_HEADERS, chunks: [body] }));
    expect(res.status).toBe(200);
    expect((await res.json()) as unknown).toEqual(JSON.parse(body));
  });

  it("JSON: an additional_tools item is judged by every tool it defines", async () => {
    const tools = (...names: string[]) => names.map((name) => ({ type: "function", name, parameters: {} }));
    const ok = { type: "additional_tools", id: "at1", role: "system", tools: tools("search_kb") };
    const bad = { type: "additional_tools", id: "at2", role: "system", tools: tools("search_kb", "send_email") };
    const body = JSON.stringify(response([ok, bad]));
    const res = await post("support-bot/v1/responses", await scripted({ headers: JSON_HEADERS, chunks: [body] }));
    expect(res.status).toBe(200);
    const out = (await res.json()) as { output: { id: string }[] };
    expect(out.output.map((i) => i.id)).toEqual(["at1"]);
  });

  const streamOf = (item: unknown) => [
    ev("response.created", { response: { ...response([]), status: "in_progress" }, sequence_number: 0 }),
    ev("response.output_item.added", { output_index: 0, item, sequence_number: 1 }),
    ev("response.output_item.done", { output_index: 0, item, sequence_number: 2 }),
    ev("response.completed", { response: response([item]), sequence_number: 3 }),
  ];

  it("SSE: an output_item.added of unknown type ends the stream with the API's error event", async () => {
    const h = await scripted({ headers: SSE_HEADERS, chunks: streamOf(disguised("server_tool_use")) });
    const res = await post("support-bot/v1/responses", h, true);
    const body = await res.text();
    expect(body).toContain('"code":"unfilterable_response"');
    expect(body).not.toContain("response.completed");
    neverDelivered(body);
  });

  it("SSE: the SDK yields the API's error event last, never the disguised call", async () => {
    const h = await scripted({ headers: SSE_HEADERS, chunks: streamOf(disguised("mcp_tool_use")) });
    const s = await openai().responses.create({ model: "x", input: "hi", stream: true }, { headers: h });
    const seen: string[] = [];
    for await (const e of s) seen.push(JSON.stringify(e));
    neverDelivered(seen.join("\n"));
    expect(seen.map((e) => (JSON.parse(e) as { type: string }).type)).toEqual(["response.created", "error"]);
    expect(JSON.parse(seen[1] ?? "{}")).toMatchObject({ code: "unfilterable_response" });
  });
});

describe("Chat Completions message fields (R15)", () => {
  const completion = (message: Record<string, unknown>) => ({
    id: "c",
    object: "chat.completion",
    created: 1,
    model: "m",
    choices: [{ index: 0, message: { role: "assistant", content: null, ...message }, finish_reason: "stop" }],
  });
  const call = { id: "c1", type: "function", function: { name: "send_email", arguments: `{"to":"${SECRET}"}` } };

  for (const field of ["function_calls", "Tool_Calls", "tool_use"]) {
    it(`JSON: a message with an unknown field ${field} is 502, raw and through the SDK`, async () => {
      const body = JSON.stringify(completion({ [field]: [call] }));
      await refusedJson(
        await post("support-bot/v1/chat/completions", await scripted({ headers: JSON_HEADERS, chunks: [body] })),
      );
      const h = await scripted({ headers: JSON_HEADERS, chunks: [body] });
      const err = await openai()
        .chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }] }, { headers: h })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAIError);
      expect((err as OpenAIError).status).toBe(502);
    });
  }

  it("JSON: the legacy function_call naming a tool outside the lane is withheld", async () => {
    const body = JSON.stringify(completion({ function_call: call.function }));
    const res = await post(
      "support-bot/v1/chat/completions",
      await scripted({ headers: JSON_HEADERS, chunks: [body] }),
    );
    expect(res.status).toBe(200);
    neverDelivered(await res.text());
  });

  it("JSON: reasoning_content and refusal (known, no call) pass unchanged", async () => {
    const body = JSON.stringify(completion({ content: "hi", refusal: null, reasoning_content: "think" }));
    const res = await post(
      "support-bot/v1/chat/completions",
      await scripted({ headers: JSON_HEADERS, chunks: [body] }),
    );
    expect(res.status).toBe(200);
    expect((await res.json()) as unknown).toEqual(JSON.parse(body));
  });

  it("SSE: a delta with an unknown field ends the stream with the API's error; the SDK throws", async () => {
    const chunk = (delta: Record<string, unknown>) =>
      sse({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta }] });
    const chunks = [
      chunk({ role: "assistant", content: "hello" }),
      chunk({ function_calls: [call] }),
      "data: [DONE]\n\n",
    ];
    const res = await post("support-bot/v1/chat/completions", await scripted({ headers: SSE_HEADERS, chunks }), true);
    const text = await res.text();
    expect(text).toContain("hello");
    expect(text).toContain('"code":"unfilterable_response"');
    expect(text).not.toContain("[DONE]");
    neverDelivered(text);
    const h = await scripted({ headers: SSE_HEADERS, chunks });
    const err = await (async () => {
      const s = await openai().chat.completions.create(
        { model: "x", messages: [{ role: "user", content: "hi" }], stream: true },
        { headers: h },
      );
      for await (const _ of s) {
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAIError);
  });
});
