/** The request rewriters of the three APIs (CONTRACT §2.2), as plain function calls. */
import { describe, expect, it } from "vitest";
import { rewriteChat } from "../../src/proxy/models/chat-request";
import type { Obj } from "../../src/proxy/models/json";
import { rewriteMessages } from "../../src/proxy/models/messages-request";
import type { ModelLane } from "../../src/proxy/models/request-common";
import { rewriteResponses } from "../../src/proxy/models/responses-request";

const lane = (allowed: string[], params: Obj = { temperature: 0.2, max_tokens: 100 }): ModelLane => ({
  model: "m-release",
  params,
  system: "SYS",
  policy: { allowed: new Set(allowed), approval: new Set() },
});
const fn = (name: string) => ({ type: "function", function: { name, parameters: {} } });
const run = <T extends Obj>(rewrite: (b: Obj, l: ModelLane) => void, body: T, l: ModelLane): Obj => {
  const copy = structuredClone(body);
  rewrite(copy, l);
  return copy;
};

describe("OpenAI chat request", () => {
  it("sets the model, fills only unset params, and never lets params change the stream mode", () => {
    const out = run(
      rewriteChat,
      { model: "gpt-client", temperature: 1, top_p: null, messages: [] },
      lane([], {
        temperature: 0.2,
        top_p: 0.5,
        stream: true,
        seed: 7,
      }),
    );
    expect(out).toMatchObject({ model: "m-release", temperature: 1, top_p: 0.5, seed: 7 });
    expect(out.stream).toBeUndefined();
  });

  it.each([
    ["no system message", [{ role: "user", content: "hi" }], ["SYS", "hi"]],
    [
      "an identical first system message",
      [
        { role: "system", content: "SYS" },
        { role: "user", content: "hi" },
      ],
      ["SYS", "hi"],
    ],
    [
      "the client's own system message",
      [
        { role: "system", content: "mine" },
        { role: "user", content: "hi" },
      ],
      ["SYS", "mine", "hi"],
    ],
    [
      "a later copy",
      [
        { role: "developer", content: "mine" },
        { role: "system", content: [{ type: "text", text: "SYS" }] },
      ],
      ["SYS", "mine"],
    ],
  ])("puts the release instructions first exactly once: %s", (_, messages, texts) => {
    const out = run(rewriteChat, { messages }, lane([]));
    const got = (out.messages as Obj[]).map((m) => (typeof m.content === "string" ? m.content : "SYS"));
    expect(got).toEqual(texts);
    expect((out.messages as Obj[])[0]?.role).toMatch(/system|developer/);
  });

  it("removes tools outside the effective set and relaxes a tool_choice that names one", () => {
    const body = { messages: [], tools: [fn("search_kb"), fn("drop_db"), { type: "custom", custom: { name: "x" } }] };
    const named = run(
      rewriteChat,
      { ...body, tool_choice: { type: "function", function: { name: "drop_db" } } },
      lane(["search_kb"]),
    );
    expect(named.tools).toEqual([fn("search_kb")]);
    expect(named.tool_choice).toBe("auto");
    const kept = run(
      rewriteChat,
      { ...body, tool_choice: { type: "function", function: { name: "search_kb" } } },
      lane(["search_kb"]),
    );
    expect(kept.tool_choice).toEqual({ type: "function", function: { name: "search_kb" } });
    const allowed = (names: string[]) => ({
      type: "allowed_tools",
      allowed_tools: { mode: "required", tools: names.map((name) => ({ type: "function", function: { name } })) },
    });
    const some = run(rewriteChat, { ...body, tool_choice: allowed(["search_kb", "drop_db"]) }, lane(["search_kb"]));
    expect(some.tool_choice).toEqual(allowed(["search_kb"]));
    const none = run(rewriteChat, { ...body, tool_choice: allowed(["drop_db"]) }, lane(["search_kb"]));
    expect(none.tool_choice).toBe("none");
  });

  it("drops tools, tool_choice and parallel_tool_calls when no tool remains, keeping the tool history", () => {
    const messages = [
      { role: "user", content: "refund me" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c1", type: "function", function: { name: "issue_refund", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "c1", content: "done" },
    ];
    const out = run(
      rewriteChat,
      { messages, tools: [fn("issue_refund")], tool_choice: "required", parallel_tool_calls: false },
      lane([]),
    );
    expect(out).not.toHaveProperty("tools");
    expect(out).not.toHaveProperty("tool_choice");
    expect(out).not.toHaveProperty("parallel_tool_calls");
    expect((out.messages as Obj[]).slice(1)).toEqual(messages);
  });

  it("applies the same rules to legacy functions and to web_search_options", () => {
    const out = run(
      rewriteChat,
      {
        messages: [],
        functions: [{ name: "search_kb" }, { name: "drop_db" }],
        function_call: { name: "drop_db" },
        web_search_options: {},
      },
      lane(["search_kb"]),
    );
    expect(out).toMatchObject({ functions: [{ name: "search_kb" }], function_call: "auto" });
    expect(out).not.toHaveProperty("web_search_options");
    expect(run(rewriteChat, { messages: [], web_search_options: {} }, lane(["web_search"]))).toHaveProperty(
      "web_search_options",
    );
  });
});

describe("OpenAI Responses request", () => {
  it("prepends the release instructions to the client's, once, and drops copies from input", () => {
    expect(run(rewriteResponses, { input: "hi" }, lane([])).instructions).toBe("SYS");
    expect(run(rewriteResponses, { instructions: "mine" }, lane([])).instructions).toBe("SYS\n\nmine");
    expect(run(rewriteResponses, { instructions: "SYS\n\nmine" }, lane([])).instructions).toBe("SYS\n\nmine");
    const input = [
      { role: "system", content: "SYS" },
      { role: "user", content: "hi" },
    ];
    expect(run(rewriteResponses, { input }, lane([])).input).toEqual([{ role: "user", content: "hi" }]);
  });

  it("removes hosted tools unless the release lists their name, and relaxes tool_choice", () => {
    const tools = [
      { type: "function", name: "search_kb", parameters: {} },
      { type: "function", name: "drop_db", parameters: {} },
      { type: "web_search_preview" },
      { type: "file_search", vector_store_ids: ["vs"] },
      { type: "code_interpreter", container: { type: "auto" } },
      { type: "mcp", server_label: "x", server_url: "https://mcp" },
      { type: "namespace", name: "crm", description: "", tools: [{ type: "function", name: "drop_db" }] },
    ];
    const out = run(rewriteResponses, { tools, tool_choice: { type: "file_search" } }, lane(["search_kb"]));
    expect(out.tools).toEqual([tools[0]]);
    expect(out.tool_choice).toBe("auto");
    const web = run(
      rewriteResponses,
      { tools, tool_choice: { type: "web_search_preview" } },
      lane(["search_kb", "web_search"]),
    );
    expect((web.tools as Obj[]).map((t) => t.type)).toEqual(["function", "web_search_preview"]);
    expect(web.tool_choice).toEqual({ type: "web_search_preview" });
    const allowed = run(
      rewriteResponses,
      {
        tools,
        tool_choice: {
          type: "allowed_tools",
          mode: "auto",
          tools: [
            { type: "function", name: "drop_db" },
            { type: "mcp", server_label: "x" },
          ],
        },
      },
      lane(["search_kb"]),
    );
    expect(allowed.tool_choice).toBe("none");
  });

  it("removes tools and tool_choice when none remains; function_call history stays", () => {
    const input = [
      { type: "function_call", call_id: "c1", name: "issue_refund", arguments: "{}" },
      { type: "function_call_output", call_id: "c1", output: "ok" },
    ];
    const out = run(rewriteResponses, { input, tools: [{ type: "web_search" }], tool_choice: "required" }, lane([]));
    expect(out).not.toHaveProperty("tools");
    expect(out).not.toHaveProperty("tool_choice");
    expect(out.input).toEqual(input);
  });
});

describe("Anthropic messages request", () => {
  const tool = (name: string) => ({ name, input_schema: { type: "object" } });

  it.each([
    [undefined, "SYS"],
    ["mine", "SYS\n\nmine"],
    ["SYS", "SYS"],
    [
      [{ type: "text", text: "mine", cache_control: { type: "ephemeral" } }],
      [
        { type: "text", text: "SYS" },
        { type: "text", text: "mine", cache_control: { type: "ephemeral" } },
      ],
    ],
    [
      [
        { type: "text", text: "SYS" },
        { type: "text", text: "mine" },
      ],
      [
        { type: "text", text: "SYS" },
        { type: "text", text: "mine" },
      ],
    ],
  ])("puts the release instructions first in system, once (%j)", (system, expected) => {
    expect(
      run(rewriteMessages, { messages: [], ...(system === undefined ? {} : { system }) }, lane([])).system,
    ).toEqual(expected);
  });

  it("fills max_tokens from the release params and filters server tools by name", () => {
    const tools = [tool("search_kb"), { type: "web_search_20250305", name: "web_search" }, tool("drop_db")];
    const out = run(
      rewriteMessages,
      { messages: [], tools, tool_choice: { type: "tool", name: "drop_db", disable_parallel_tool_use: true } },
      lane(["search_kb"]),
    );
    expect(out).toMatchObject({ model: "m-release", max_tokens: 100, tools: [tool("search_kb")] });
    expect(out.tool_choice).toEqual({ type: "auto", disable_parallel_tool_use: true });
  });

  it("with no tool left and no tool history, removes tools and tool_choice", () => {
    const out = run(
      rewriteMessages,
      { messages: [{ role: "user", content: "hi" }], tools: [tool("drop_db")], tool_choice: { type: "any" } },
      lane([]),
    );
    expect(out).not.toHaveProperty("tools");
    expect(out).not.toHaveProperty("tool_choice");
  });

  it("with no tool left but tool blocks in history, keeps the history's tools and forbids calls", () => {
    const messages = [
      { role: "user", content: "refund" },
      { role: "assistant", content: [{ type: "tool_use", id: "tu1", name: "issue_refund", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "tu1", content: "ok" }] },
    ];
    const out = run(
      rewriteMessages,
      { messages, tools: [tool("issue_refund"), tool("drop_db")], tool_choice: { type: "any" } },
      lane(["search_kb"]),
    );
    expect(out.tools).toEqual([tool("issue_refund")]);
    expect(out.tool_choice).toEqual({ type: "none" });
    expect(out.messages).toEqual(messages);
  });
});
