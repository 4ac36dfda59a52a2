/**
 * The official `@anthropic-ai/sdk` client pointed at the gateway: `messages.create` and `messages.stream` parse
 * every filtered answer, see exactly the allowed tool_use blocks, and the provider saw the rewritten request.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { override } from "../helpers/fixtures";
import { anthropic, publishModels, scenario } from "./helpers";

const tool = (name: string) => ({ name, input_schema: { type: "object" as const, properties: {} } });
const messages = [{ role: "user" as const, content: "help me" }];

describe("anthropic messages through the gateway", () => {
  beforeEach(() => publishModels());

  it("JSON: rewrites the request and withholds the disallowed tool_use between two allowed ones", async () => {
    const s = scenario({ "x-mock-tools": "search_kb,drop_db,issue_refund" });
    const { data, response } = await anthropic()
      .messages.create(
        {
          model: "claude-client",
          max_tokens: 50,
          system: "Answer in French.",
          messages,
          tools: [tool("search_kb"), tool("drop_db"), { type: "web_search_20250305", name: "web_search" }],
          tool_choice: { type: "tool", name: "drop_db" },
        },
        { headers: s.headers },
      )
      .withResponse();
    expect(data.content.map((b) => (b.type === "tool_use" ? b.name : b.type))).toEqual([
      "text",
      "search_kb",
      "issue_refund",
    ]);
    expect(data.stop_reason).toBe("tool_use");
    expect(response.headers.get("x-agent-approval-required")).toBe("issue_refund");
    const seen = await s.seen();
    expect(seen.body).toMatchObject({
      model: "claude-test",
      max_tokens: 50,
      temperature: 0.2,
      system: "You are claude-bot at v1.\n\nAnswer in French.",
      tools: [tool("search_kb")],
      tool_choice: { type: "auto" },
    });
    // This SDK version sends its key as a bearer token; either credential header is passed through untouched.
    expect(seen.headers["x-api-key"] ?? seen.headers.authorization).toMatch(/^(Bearer )?sk-ant-client$/);
    expect(seen.headers["anthropic-version"]).toBeDefined();
  });

  it("JSON: stop_reason becomes end_turn when every tool_use is withheld", async () => {
    const msg = await anthropic().messages.create(
      { model: "x", max_tokens: 10, messages },
      { headers: scenario({ "x-mock-tools": "drop_db,web_search" }).headers },
    );
    expect(msg.content).toEqual([{ type: "text", text: "Hello from the mock." }]);
    expect(msg.stop_reason).toBe("end_turn");
  });

  it("stream: MessageStream assembles exactly the allowed blocks, whatever the chunking", async () => {
    const s = scenario({ "x-mock-tools": "drop_db,search_kb,drop_db,send_email", "x-mock-chunk": "5" });
    const stream = anthropic().messages.stream({ model: "x", max_tokens: 10, messages }, { headers: s.headers });
    const indices: number[] = [];
    stream.on("streamEvent", (e) => {
      if (e.type === "content_block_start") indices.push(e.index);
    });
    const final = await stream.finalMessage();
    expect(final.content).toEqual([
      { type: "text", text: "Hello from the mock." },
      { type: "tool_use", id: "toolu_1", name: "search_kb", input: { query: "for search_kb", n: 1 } },
      { type: "tool_use", id: "toolu_3", name: "send_email", input: { query: "for send_email", n: 1 } },
    ]);
    expect(indices).toEqual([0, 1, 2]);
    expect(final.stop_reason).toBe("tool_use");
  });

  it("stream: only withheld calls end the turn; an error event mid-stream reaches the client", async () => {
    const raw = await anthropic().messages.create(
      { model: "x", max_tokens: 10, messages, stream: true },
      { headers: scenario({ "x-mock-tools": "drop_db", "x-mock-text": "" }).headers },
    );
    const types: string[] = [];
    let stop: string | null = null;
    for await (const e of raw) {
      types.push(e.type);
      if (e.type === "message_delta") stop = e.delta.stop_reason;
    }
    expect(types).toEqual(["message_start", "message_delta", "message_stop"]);
    expect(stop).toBe("end_turn");
    const failing = anthropic().messages.stream(
      { model: "x", max_tokens: 10, messages },
      { headers: scenario({ "x-mock-error": "mid-stream" }).headers },
    );
    await expect(failing.finalMessage()).rejects.toThrow(/Overloaded/);
  });

  it("a lane with no tool left keeps the history valid: history tools kept, tool_choice none", async () => {
    await publishModels([override("ovr_scope", { agent: "claude-bot" }, { toolScope: ["nothing"] })], 2);
    const s = scenario({ "x-mock-tools": "issue_refund" });
    const history = [
      { role: "user" as const, content: "refund order 7" },
      {
        role: "assistant" as const,
        content: [{ type: "tool_use" as const, id: "toolu_a", name: "issue_refund", input: { order: 7 } }],
      },
      { role: "user" as const, content: [{ type: "tool_result" as const, tool_use_id: "toolu_a", content: "ok" }] },
    ];
    const msg = await anthropic().messages.create(
      { model: "x", max_tokens: 10, messages: history, tools: [tool("issue_refund"), tool("search_kb")] },
      { headers: s.headers },
    );
    expect(msg.content.map((b) => b.type)).toEqual(["text"]);
    expect(msg.stop_reason).toBe("end_turn");
    const seen = await s.seen();
    expect(seen.body.tools).toEqual([tool("issue_refund")]);
    expect(seen.body.tool_choice).toEqual({ type: "none" });
    expect(seen.body.messages).toEqual(history);
  });
});
