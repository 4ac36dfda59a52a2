/** The response filters (CONTRACT §2.2) as plain function calls: JSON bodies and event streams of each API. */
import { describe, expect, it } from "vitest";
import { chatStreamFilter, filterChatCompletion } from "../../src/proxy/models/chat-response";
import type { Obj } from "../../src/proxy/models/json";
import { filterMessage, messagesStreamFilter } from "../../src/proxy/models/messages-response";
import { ToolGate, Unfilterable } from "../../src/proxy/models/policy";
import { filterResponse, responsesStreamFilter } from "../../src/proxy/models/responses-response";
import { sseRelay } from "../../src/proxy/models/sse";
import { pump } from "../../src/proxy/pump";
import { background, chatStream, eventsOf, filterText, messagesStream, responsesStream } from "./streams";

const gate = (allowed = ["search_kb", "send_email", "issue_refund"]) => {
  const blocked: string[] = [];
  const g = new ToolGate({ allowed: new Set(allowed), approval: new Set(["issue_refund"]) }, (n) => blocked.push(n));
  return { g, blocked };
};

const MIXED = ["search_kb", "drop_db", "send_email"];

describe("chat completions", () => {
  it("JSON: withholds the disallowed call between two allowed ones and reports it", () => {
    const { g, blocked } = gate();
    const calls = MIXED.map((name, i) => ({ id: `c${i}`, type: "function", function: { name, arguments: "{}" } }));
    const body: Obj = {
      choices: [
        { index: 0, message: { role: "assistant", content: null, tool_calls: calls }, finish_reason: "tool_calls" },
      ],
    };
    expect(filterChatCompletion(body, g)).toBe(true);
    expect(body).toMatchObject({
      choices: [{ message: { tool_calls: [calls[0], calls[2]] }, finish_reason: "tool_calls" }],
    });
    expect(blocked).toEqual(["drop_db"]);
  });

  it("JSON: no call left → no tool_calls field and finish_reason stop; approval tools are announced", () => {
    const { g } = gate();
    const body: Obj = {
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "a", type: "function", function: { name: "drop_db", arguments: "{}" } }],
          },
          finish_reason: "tool_calls",
        },
      ],
    };
    filterChatCompletion(body, g);
    expect(body).toEqual({
      choices: [{ index: 0, message: { role: "assistant", content: null }, finish_reason: "stop" }],
    });
    const { g: g2 } = gate();
    filterChatCompletion(
      { choices: [{ message: { tool_calls: [{ type: "function", function: { name: "issue_refund" } }] } }] },
      g2,
    );
    expect(g2.approvalRequired).toEqual(["issue_refund"]);
  });

  it("stream: drops the withheld call's deltas, renumbers later calls, keeps text and usage", async () => {
    const { g, blocked } = gate();
    const events = eventsOf(await filterText(chatStreamFilter(g), [chatStream(MIXED)]));
    const calls = events.flatMap((e) => ((e.choices as Obj[])[0]?.delta as Obj | undefined)?.tool_calls ?? []) as Obj[];
    expect(calls.map((c) => c.index)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(calls.filter((c) => c.id).map((c) => (c.function as Obj).name)).toEqual(["search_kb", "send_email"]);
    expect(events.at(-1)?.usage).toEqual({ total_tokens: 3 });
    expect(blocked).toEqual(["drop_db"]);
  });

  it("stream: only disallowed calls → finish_reason stop", async () => {
    const { g } = gate();
    const events = eventsOf(await filterText(chatStreamFilter(g), [chatStream(["drop_db"])]));
    const finishes = events.map((e) => (e.choices as Obj[])[0]?.finish_reason).filter((f) => f);
    expect(finishes).toEqual(["stop"]);
    expect(JSON.stringify(events)).not.toContain("drop_db");
  });

  it("stream: a call hidden behind a JSON-escaped key is still withheld", async () => {
    const text = chatStream(["drop_db"]).replaceAll('"tool_calls"', '"tool\\u005fcalls"');
    expect(text).toContain("tool\\u005fcalls");
    const { g, blocked } = gate();
    expect(await filterText(chatStreamFilter(g), [text])).not.toContain("drop_db");
    expect(blocked).toEqual(["drop_db"]);
  });

  it("stream: passes every byte through unchanged when nothing is withheld", async () => {
    const text = chatStream(["search_kb", "send_email"]);
    expect(await filterText(chatStreamFilter(gate().g), [text])).toBe(text);
  });
});

describe("responses", () => {
  it("JSON: withholds the call and, with it, any item answering its call_id", () => {
    const { g } = gate();
    const body: Obj = {
      output: [
        { type: "message", content: [] },
        { type: "function_call", call_id: "a", name: "search_kb", arguments: "{}" },
        { type: "web_search_call", id: "ws", status: "completed" },
        { type: "function_call", call_id: "b", name: "drop_db", arguments: "{}" },
        { type: "computer_call_output", call_id: "b" },
        { type: "function_call", call_id: "c", name: "issue_refund", arguments: "{}" },
      ],
    };
    filterResponse(body, g);
    expect((body.output as Obj[]).map((o) => o.call_id ?? o.type)).toEqual(["message", "a", "c"]);
    expect(g.blocked).toEqual(["web_search", "drop_db"]);
    expect(g.approvalRequired).toEqual(["issue_refund"]);
  });

  it("stream: output_index and sequence_number stay contiguous; response.completed is filtered too", async () => {
    const { g } = gate();
    const events = eventsOf(await filterText(responsesStreamFilter(g), [responsesStream(MIXED)]));
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const added = events.filter((e) => e.type === "response.output_item.added");
    expect(added.map((e) => [e.output_index, (e.item as Obj).name ?? "text"])).toEqual([
      [0, "text"],
      [1, "search_kb"],
      [2, "send_email"],
    ]);
    const completed = events.find((e) => e.type === "response.completed")?.response as Obj;
    expect((completed.output as Obj[]).map((o) => o.name ?? o.type)).toEqual(["message", "search_kb", "send_email"]);
    expect(JSON.stringify(events)).not.toContain("drop_db");
    expect(g.blocked).toEqual(["drop_db"]);
  });
});

describe("anthropic messages", () => {
  it("JSON: withholds tool_use blocks and corrects stop_reason when none is left", () => {
    const { g } = gate();
    const body: Obj = {
      content: [
        { type: "text", text: "hi" },
        { type: "tool_use", id: "x", name: "drop_db", input: {} },
      ],
      stop_reason: "tool_use",
    };
    expect(filterMessage(body, g)).toBe(true);
    expect(body).toEqual({ content: [{ type: "text", text: "hi" }], stop_reason: "end_turn" });
  });

  it("stream: block indices stay contiguous, stop_reason stays tool_use while an allowed call remains", async () => {
    const { g } = gate();
    const events = eventsOf(await filterText(messagesStreamFilter(g), [messagesStream(MIXED)]));
    const starts = events.filter((e) => e.type === "content_block_start");
    expect(starts.map((e) => [e.index, (e.content_block as Obj).name ?? "text"])).toEqual([
      [0, "text"],
      [1, "search_kb"],
      [2, "send_email"],
    ]);
    expect(new Set(events.filter((e) => "index" in e).map((e) => e.index))).toEqual(new Set([0, 1, 2]));
    expect(events.find((e) => e.type === "message_delta")?.delta).toMatchObject({ stop_reason: "tool_use" });
  });

  it("stream: a block start without an index is never passed on (it cannot be tied to a judged block)", () => {
    const data = JSON.stringify({ type: "content_block_start", content_block: { type: "tool_use", name: "drop_db" } });
    const ev = { raw: `event: content_block_start\ndata: ${data}\n\n`, event: "content_block_start", data, id: null };
    expect(() => messagesStreamFilter(gate().g)(ev)).toThrow(Unfilterable);
  });

  it("JSON: a call's type is read case-insensitively (TOOL_USE, Function_Call are withheld too)", () => {
    const { g } = gate();
    const message: Obj = {
      content: [{ type: "TOOL_USE", id: "x", name: "drop_db", input: {} }],
      stop_reason: "tool_use",
    };
    expect(filterMessage(message, g)).toBe(true);
    expect(JSON.stringify(message)).not.toContain("drop_db");
    const response: Obj = { output: [{ type: "Function_Call", call_id: "c", name: "drop_db", arguments: "{}" }] };
    expect(filterResponse(response, g)).toBe(true);
    expect(JSON.stringify(response)).not.toContain("drop_db");
  });

  it("stream: only disallowed calls → stop_reason end_turn", async () => {
    const { g } = gate();
    const events = eventsOf(await filterText(messagesStreamFilter(g), [messagesStream(["drop_db", "web_search"])]));
    expect(events.find((e) => e.type === "message_delta")?.delta).toMatchObject({ stop_reason: "end_turn" });
    expect(g.blocked).toEqual(["drop_db", "web_search"]);
  });
});

describe("stream transport", () => {
  it("passes an error event and unknown JSON events through untouched; an event that is not JSON is unfilterable", async () => {
    const text =
      'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\nevent: odd\ndata: {"odd":1}\n\n';
    expect(await filterText(messagesStreamFilter(gate().g), [text])).toBe(text);
    const bad = `${text}event: odd\ndata: not json\n\nevent: later\ndata: {}\n\n`;
    const failed: unknown[] = [];
    const relay = sseRelay(messagesStreamFilter(gate().g), undefined, (e) => {
      failed.push(e);
      return "event: error\ndata: {}\n\n";
    });
    const out = relay.chunk?.(new TextEncoder().encode(bad));
    expect(out).toBe(`${text}event: error\ndata: {}\n\n`);
    expect(relay.finished?.()).toBe(true);
    expect(failed).toHaveLength(1);
  });

  it("emits each event as soon as it is complete, before the stream ends", async () => {
    const { g } = gate();
    let upstream!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        upstream = c;
      },
    });
    const reader = pump(body, background, sseRelay(responsesStreamFilter(g))).getReader();
    const [first] = responsesStream([]).split(/(?<=\n\n)/);
    upstream.enqueue(new TextEncoder().encode(`${first}event: response.in_progress\ndata: {"ty`));
    const { value } = await reader.read(); // the upstream has not ended: only the complete event came through
    expect(new TextDecoder().decode(value)).toBe(first);
    await reader.cancel();
  });

  it("a stream that fails upstream fails for the client too", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("data: {}\n\n"));
        c.error(new Error("connection reset"));
      },
    });
    let cut: unknown = null;
    const relay = { ...sseRelay((e) => e.raw), cut: (e: unknown) => (cut = e) };
    await expect(new Response(pump(body, background, relay)).text()).rejects.toThrow("connection reset");
    expect(String(cut)).toContain("connection reset"); // and the route is told it was the upstream's doing
  });
});
