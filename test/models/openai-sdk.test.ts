/**
 * The official `openai` client pointed at the gateway, talking to the mock provider through it: every filtered
 * answer and stream parses, the client sees exactly the allowed calls, and the provider saw the rewritten request.
 */
import { APIError } from "openai";
import { beforeEach, describe, expect, it } from "vitest";
import { override } from "../helpers/fixtures";
import { chatTools, openai, publishModels, scenario } from "./helpers";

const MIXED = "search_kb,drop_db,send_email";
const messages = [{ role: "user" as const, content: "help me" }];

describe("chat completions through the gateway", () => {
  beforeEach(() => publishModels());

  it("JSON: rewrites the request and withholds the disallowed call between two allowed ones", async () => {
    const s = scenario({ "x-mock-tools": MIXED });
    const { data, response } = await openai()
      .chat.completions.create(
        {
          model: "gpt-client",
          messages,
          tools: chatTools("search_kb", "drop_db", "issue_refund"),
          tool_choice: "auto",
        },
        { headers: s.headers },
      )
      .withResponse();
    const choice = data.choices[0]!;
    expect(choice.message.tool_calls?.map((c) => (c.type === "function" ? c.function.name : c.type))).toEqual([
      "search_kb",
      "send_email",
    ]);
    expect(choice.finish_reason).toBe("tool_calls");
    expect(response.headers.get("x-agent-release")).toBe("v1");
    expect(response.headers.get("x-agent-decision")).toBe("stable");
    expect(response.headers.get("x-agent-approval-required")).toBeNull();

    const seen = await s.seen();
    expect(seen.body).toMatchObject({ model: "gpt-test", temperature: 0.2, tool_choice: "auto" });
    expect(seen.body.messages).toEqual([{ role: "system", content: "You are support-bot at v1." }, ...messages]);
    expect(seen.body.tools?.map((t) => (t.function as { name: string }).name)).toEqual(["search_kb", "issue_refund"]);
    expect(seen.headers.authorization).toBe("Bearer sk-client");
    expect(seen.headers["x-agent-release"]).toBe("v1");
    expect(seen.headers["x-agent-tools"]).toBe("search_kb,send_email,issue_refund");
  });

  it("JSON: announces called approval tools and corrects finish_reason when every call is withheld", async () => {
    const approval = await openai()
      .chat.completions.create(
        { model: "x", messages },
        { headers: scenario({ "x-mock-tools": "issue_refund" }).headers },
      )
      .withResponse();
    expect(approval.response.headers.get("x-agent-approval-required")).toBe("issue_refund");
    const blocked = await openai().chat.completions.create(
      { model: "x", messages },
      { headers: scenario({ "x-mock-tools": "drop_db" }).headers },
    );
    expect(blocked.choices[0]?.finish_reason).toBe("stop");
    expect(blocked.choices[0]?.message.tool_calls).toBeUndefined();
    expect(blocked.choices[0]?.message.content).toBe("Hello from the mock.");
  });

  it("stream: the SDK's stream helper assembles exactly the allowed calls, whatever the chunking", async () => {
    const s = scenario({ "x-mock-tools": MIXED, "x-mock-chunk": "7" });
    const stream = openai().chat.completions.stream(
      { model: "x", messages, tools: chatTools("search_kb", "send_email"), stream_options: { include_usage: true } },
      { headers: s.headers },
    );
    const final = await stream.finalChatCompletion();
    const calls = final.choices[0]?.message.tool_calls ?? [];
    expect(
      calls.map((c) => (c.type === "function" ? [c.id, c.function.name, JSON.parse(c.function.arguments)] : [])),
    ).toEqual([
      ["call_0", "search_kb", { query: "for search_kb", n: 1 }],
      ["call_2", "send_email", { query: "for send_email", n: 1 }],
    ]);
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    expect(final.usage?.total_tokens).toBe(19);
    expect((await s.seen()).body.stream).toBe(true);
  });

  it("stream: raw chunks carry contiguous indices and finish with stop when every call is withheld", async () => {
    const raw = await openai().chat.completions.create(
      { model: "x", messages, stream: true },
      { headers: scenario({ "x-mock-tools": "drop_db,issue_refund,drop_db" }).headers },
    );
    const indices: number[] = [];
    const finishes: string[] = [];
    for await (const chunk of raw) {
      for (const c of chunk.choices) {
        for (const t of c.delta.tool_calls ?? []) if (t.id) indices.push(t.index);
        if (c.finish_reason) finishes.push(c.finish_reason);
      }
    }
    expect(indices).toEqual([0]);
    expect(finishes).toEqual(["tool_calls"]);
    const none = await openai().chat.completions.create(
      { model: "x", messages, stream: true },
      { headers: scenario({ "x-mock-tools": "drop_db" }).headers },
    );
    const last: string[] = [];
    for await (const chunk of none) for (const c of chunk.choices) if (c.finish_reason) last.push(c.finish_reason);
    expect(last).toEqual(["stop"]);
  });

  it("stream: an error event mid-stream reaches the client as the SDK's APIError", async () => {
    const stream = await openai().chat.completions.create(
      { model: "x", messages, stream: true },
      { headers: scenario({ "x-mock-error": "mid-stream" }).headers },
    );
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) got.push(chunk.choices[0]?.delta.content ?? "");
      })(),
    ).rejects.toThrow(/server had an error/);
    expect(got.join("")).toBe("Hello from the mock.");
  });

  it("a draft-only lane withholds the write tool too, and a provider error passes through", async () => {
    await publishModels([override("ovr_draft", { agent: "support-bot" }, { mode: "draft-only" })], 2);
    const { data, response } = await openai()
      .chat.completions.create({ model: "x", messages }, { headers: scenario({ "x-mock-tools": MIXED }).headers })
      .withResponse();
    expect(data.choices[0]?.message.tool_calls?.map((c) => c.type === "function" && c.function.name)).toEqual([
      "search_kb",
    ]);
    expect(response.headers.get("x-agent-lane")).toBe("draft-only");
    const err = await openai()
      .chat.completions.create({ model: "x", messages }, { headers: scenario({ "x-mock-status": "429" }).headers })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(429);
  });
});

describe("responses through the gateway", () => {
  beforeEach(() => publishModels());

  const tools = [
    { type: "function" as const, name: "search_kb", parameters: {}, strict: false },
    { type: "function" as const, name: "drop_db", parameters: {}, strict: false },
    { type: "web_search" as const },
    { type: "file_search" as const, vector_store_ids: ["vs_1"] },
    { type: "code_interpreter" as const, container: { type: "auto" as const } },
  ];

  it("JSON: instructions prepended, hosted tools removed, the disallowed call withheld, approvals announced", async () => {
    const s = scenario({ "x-mock-tools": "search_kb,drop_db,issue_refund" });
    const { data, response } = await openai()
      .responses.create(
        { model: "x", input: "help", instructions: "Be brief.", tools, tool_choice: { type: "file_search" } },
        { headers: s.headers },
      )
      .withResponse();
    expect(data.output.map((o) => (o.type === "function_call" ? o.name : o.type))).toEqual([
      "message",
      "search_kb",
      "issue_refund",
    ]);
    expect(data.output_text).toBe("Hello from the mock.");
    expect(response.headers.get("x-agent-approval-required")).toBe("issue_refund");
    const seen = await s.seen();
    expect(seen.body).toMatchObject({ model: "gpt-test", instructions: "You are support-bot at v1.\n\nBe brief." });
    expect(seen.body.tools).toEqual([tools[0]]);
    expect(seen.body.tool_choice).toBe("auto");
  });

  it("stream: the SDK's ResponseStream accumulates the filtered events without error", async () => {
    const stream = openai().responses.stream(
      { model: "x", input: "help", tools: [tools[0]!] },
      { headers: scenario({ "x-mock-tools": MIXED, "x-mock-chunk": "13" }).headers },
    );
    const seq: number[] = [];
    const indices: number[] = [];
    stream.on("event", (e) => {
      seq.push(e.sequence_number);
      if (e.type === "response.output_item.added") indices.push(e.output_index);
    });
    const final = await stream.finalResponse();
    expect(final.output.map((o) => (o.type === "function_call" ? o.name : o.type))).toEqual([
      "message",
      "search_kb",
      "send_email",
    ]);
    expect(indices).toEqual([0, 1, 2]);
    expect(seq).toEqual(seq.map((_, i) => i));
  });

  it("stream: raw events never mention the withheld call; errors mid-stream reach the client", async () => {
    const raw = await openai().responses.create(
      { model: "x", input: "help", stream: true },
      { headers: scenario({ "x-mock-tools": "drop_db", "x-mock-text": "" }).headers },
    );
    const types: string[] = [];
    for await (const e of raw) {
      expect(JSON.stringify(e)).not.toContain("drop_db");
      types.push(e.type);
    }
    expect(types).toEqual(["response.created", "response.in_progress", "response.completed"]);
    // The Responses API reports a failure as a typed `error` event; the SDK yields it like any other event.
    const failing = await openai().responses.create(
      { model: "x", input: "help", stream: true },
      { headers: scenario({ "x-mock-error": "mid-stream" }).headers },
    );
    const seen: string[] = [];
    for await (const e of failing) seen.push(e.type === "error" ? `error: ${e.message}` : e.type);
    expect(seen.at(-2)).toBe("response.output_text.delta");
    expect(seen.at(-1)).toMatch(/^error: The server had an error/);
  });
});
