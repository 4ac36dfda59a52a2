/**
 * A hostile client against the lane (CONTRACT §2.2.1, request side; docs/threat-model.md Q1–Q10), through the real
 * Worker to the real local provider, which records what it received. The releases declare two hosted tools:
 * `web_search` (read) and `code_interpreter` / `code_execution` (write). In draft-only only read tools remain.
 */
import { SELF } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { override, snapshot } from "../helpers/fixtures";
import { freshIsolate } from "../helpers/publish";
import { anthropicRelease, openaiRelease, scenario, TOOLS } from "./helpers";

const HOSTED = [
  ...TOOLS,
  { name: "web_search", risk: "read" as const },
  { name: "code_interpreter", risk: "write" as const },
  { name: "code_execution", risk: "write" as const },
];

async function publishLanes(draft: boolean): Promise<void> {
  const overrides = draft
    ? [
        override("ovr_a", { agent: "support-bot" }, { mode: "draft-only" }),
        override("ovr_b", { agent: "claude-bot" }, { mode: "draft-only" }),
      ]
    : [];
  await freshIsolate(
    await snapshot(
      draft ? 3 : 4,
      {
        "support-bot": {
          releases: [openaiRelease("v1", { tools: HOSTED })],
          pointers: { active: "v1", fallback: "off" },
        },
        "claude-bot": {
          releases: [anthropicRelease("v1", { tools: HOSTED })],
          pointers: { active: "v1", fallback: "off" },
        },
      },
      overrides,
    ),
  );
}

async function send(path: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const s = scenario(headers);
  const res = await SELF.fetch(`https://gw/models/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...s.headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { res, text, seen: s.seen };
}

const msg = [{ role: "user", content: "hi" }];

describe("refused fields: 400 tool_not_allowed naming the field, and the provider never called", () => {
  beforeEach(() => publishLanes(false));
  for (const [path, body, field] of [
    ["support-bot/v1/responses", { input: "hi", prompt: { id: "pmpt_1" } }, "prompt"],
    ["support-bot/v1/responses", { input: "hi", background: true }, "background"],
    ["support-bot/v1/chat/completions", { messages: msg, plugins: [{ id: "web" }] }, "plugins"],
    ["claude-bot/v1/messages", { messages: msg, max_tokens: 5, skills: ["x"] }, "skills"],
    ["support-bot/v1/chat/completions", { messages: msg, tools: { type: "function" } }, "tools"],
  ] as const) {
    it(`${path}: ${field}`, async () => {
      const { res, text, seen } = await send(path, body);
      expect(res.status).toBe(400);
      expect(JSON.parse(text).error).toMatchObject({ code: "tool_not_allowed", details: { field } });
      expect(await seen()).toBeNull(); // the provider has no record of it
    });
  }

  it("an unknown query parameter is refused too", async () => {
    const s = scenario();
    const res = await SELF.fetch("https://gw/models/support-bot/v1/chat/completions?tools=mcp", {
      method: "POST",
      headers: { "content-type": "application/json", ...s.headers },
      body: JSON.stringify({ messages: msg }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { details: { field: string } } }).error.details.field).toBe("?tools");
  });
});

describe("provider-run tools are tools: allowed only when declared, by name and risk", () => {
  const responsesTools = [
    { type: "mcp", server_label: "x", server_url: "https://mcp.example" },
    { type: "code_interpreter", container: { type: "auto" } },
    { type: "computer_use_preview", display_width: 1, display_height: 1, environment: "browser" },
    { type: "web_search" },
    { type: "file_search", vector_store_ids: ["vs"] },
    { type: "image_generation" },
    { type: "local_shell" },
    { type: "function", name: "send_email", parameters: {} },
  ];

  it("Responses, autonomous: only the declared hosted tools stay (web_search, code_interpreter, send_email)", async () => {
    await publishLanes(false);
    const { res, seen } = await send("support-bot/v1/responses", { input: "hi", tools: responsesTools });
    expect(res.status).toBe(200);
    const types = ((await seen()).body.tools ?? []).map((t) => t.type);
    expect(types).toEqual(["code_interpreter", "web_search", "function"]);
  });

  it("Responses, draft-only: the write hosted tool goes too; only web_search (read) stays", async () => {
    await publishLanes(true);
    const { seen } = await send("support-bot/v1/responses", {
      input: "hi",
      tools: responsesTools,
      tool_choice: "required",
    });
    const body = (await seen()).body;
    expect((body.tools ?? []).map((t) => t.type)).toEqual(["web_search"]);
  });

  it("Chat: legacy functions, web_search_options and a custom tool named like an allowed function", async () => {
    await publishLanes(true);
    const { seen } = await send("support-bot/v1/chat/completions", {
      messages: msg,
      functions: [{ name: "send_email", parameters: {} }],
      function_call: { name: "send_email" },
      tools: [{ type: "custom", function: { name: "search_kb" }, custom: { name: "send_email" } }],
      web_search_options: {},
    });
    const body = (await seen()).body;
    expect(body.functions).toBeUndefined();
    expect(body.function_call).toBeUndefined();
    expect(body.tools).toBeUndefined();
    expect(body.web_search_options).toEqual({}); // web_search is declared read: it stays in draft-only
  });

  it("Messages: mcp_servers, container, a server tool typed one thing and named another, and the betas", async () => {
    await publishLanes(true);
    const { res, seen } = await send(
      "claude-bot/v1/messages",
      {
        messages: msg,
        max_tokens: 5,
        mcp_servers: [{ type: "url", url: "https://mcp.example/sse", name: "x" }],
        container: "container_1",
        tools: [
          { type: "web_fetch_20250910", name: "search_kb" },
          { type: "code_execution_20250825", name: "code_execution" },
          { type: "web_search_20250305", name: "web_search" },
          { name: "search_kb", input_schema: { type: "object" } },
        ],
      },
      {
        "anthropic-beta":
          "mcp-client-2025-04-04, code-execution-2025-08-25,prompt-caching-2024-07-31,new-thing-2027-01-01",
      },
    );
    expect(res.status).toBe(200);
    const got = await seen();
    expect(got.body.mcp_servers).toBeUndefined();
    expect(got.body.container).toBeUndefined();
    expect((got.body.tools ?? []).map((t) => t.name)).toEqual(["web_search", "search_kb"]);
    expect(got.headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31");
  });

  it("Messages, autonomous: a declared code_execution keeps its container and beta; mcp is never declared", async () => {
    await publishLanes(false);
    const { seen } = await send(
      "claude-bot/v1/messages",
      {
        messages: msg,
        max_tokens: 5,
        container: "container_1",
        mcp_servers: [{ type: "url", url: "https://m", name: "x" }],
      },
      { "anthropic-beta": "code-execution-2025-08-25,mcp-client-2025-04-04" },
    );
    const got = await seen();
    expect(got.body.container).toBe("container_1");
    expect(got.body.mcp_servers).toBeUndefined();
    expect(got.headers["anthropic-beta"]).toBe("code-execution-2025-08-25");
  });

  it("Messages with only server tools in its history keeps no server tool for it, and calls none", async () => {
    await publishLanes(true);
    const history = [
      { role: "user", content: "hi" },
      { role: "assistant", content: [{ type: "server_tool_use", id: "s1", name: "code_execution", input: {} }] },
      { role: "user", content: "go on" },
    ];
    const { seen } = await send("claude-bot/v1/messages", {
      messages: history,
      max_tokens: 5,
      tools: [{ type: "code_execution_20250825", name: "code_execution" }],
    });
    const body = (await seen()).body;
    expect((body.tools ?? []).map((t) => t.type)).toEqual([undefined]);
    expect(body.tool_choice).toEqual({ type: "none" });
  });

  it("openai-beta is removed", async () => {
    await publishLanes(false);
    const { seen } = await send(
      "support-bot/v1/chat/completions",
      { messages: msg },
      { "openai-beta": "assistants=v2" },
    );
    expect((await seen()).headers["openai-beta"]).toBeUndefined();
  });
});
