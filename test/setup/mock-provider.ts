/**
 * A local model provider for the tests and the stream bench: it speaks the documented JSON and server-sent event
 * shapes of OpenAI Chat Completions, OpenAI Responses and Anthropic Messages, and records what it received.
 *
 * Scenarios are chosen by request headers (the gateway forwards them untouched):
 *   x-mock-tools: a,b,c     the answer calls these tools, in this order (after the text, if any)
 *   x-mock-text: ...        the answer's text ("Hello from the mock." by default; "" for none)
 *   x-mock-repeat: n        the text is sent n times, one delta each (long streams for the bench)
 *   x-mock-error: mid-stream  the stream stops after its first text delta with the API's error event
 *   x-mock-status: 429      an error answer with this status, in the API's error shape
 *   x-mock-chunk: n         the stream's bytes are written in n-byte pieces instead of one write per event
 *   x-mock-id: id           the request is recorded; `GET /_seen/<id>` returns { headers, body }
 *   x-mock-cut: n           the stream's connection is dropped after its first n events (no end, no error event)
 *   x-mock-script: id       the answer is the one stored by `PUT /_script/<id>` { status, headers, chunks }: any
 *                           status, headers and bytes, written chunk by chunk (hostile-provider tests)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

type Json = Record<string, unknown>;
interface Scenario {
  model: string;
  text: string;
  tools: string[];
  repeat: number;
  error: boolean;
  includeUsage: boolean;
}

const seen = new Map<string, { headers: IncomingMessage["headers"]; body: unknown }>();
interface Script {
  status?: number;
  headers?: Record<string, string>;
  chunks: string[];
}
const scripts = new Map<string, Script>();
const argsOf = (name: string) => JSON.stringify({ query: `for ${name}`, n: 1 });
const halves = (s: string) => [s.slice(0, 7), s.slice(7)];
const deltas = (s: Scenario) => (s.text === "" ? [] : Array.from({ length: s.repeat }, () => s.text));

function chat(s: Scenario): { json: Json; events: string[] } {
  const base = { id: "chatcmpl-mock", created: 1_700_000_000, model: s.model, system_fingerprint: "fp_mock" };
  const finish = s.tools.length > 0 ? "tool_calls" : "stop";
  const usage = { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 };
  const calls = s.tools.map((name, i) => ({
    id: `call_${i}`,
    type: "function",
    function: { name, arguments: argsOf(name) },
  }));
  const message = {
    role: "assistant",
    content: s.text === "" ? null : deltas(s).join(""),
    refusal: null,
    annotations: [],
  };
  const json = {
    ...base,
    object: "chat.completion",
    choices: [
      {
        index: 0,
        message: calls.length ? { ...message, tool_calls: calls } : message,
        logprobs: null,
        finish_reason: finish,
      },
    ],
    usage,
  };
  const chunk = (delta: Json, finish_reason: string | null = null) =>
    `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, logprobs: null, finish_reason }] })}\n\n`;
  const events = [chunk({ role: "assistant", content: "", refusal: null })];
  for (const text of deltas(s)) {
    events.push(chunk({ content: text }));
    if (s.error)
      return {
        json,
        events: [
          ...events,
          `data: ${JSON.stringify({ error: { message: "The server had an error while processing your request.", type: "server_error", param: null, code: null } })}\n\n`,
        ],
      };
  }
  s.tools.forEach((name, index) => {
    events.push(
      chunk({ tool_calls: [{ index, id: `call_${index}`, type: "function", function: { name, arguments: "" } }] }),
    );
    for (const part of halves(argsOf(name)))
      events.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }));
  });
  events.push(chunk({}, finish));
  if (s.includeUsage)
    events.push(`data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [], usage })}\n\n`);
  events.push("data: [DONE]\n\n");
  return { json, events };
}

function responses(s: Scenario): { json: Json; events: string[] } {
  const text = deltas(s).join("");
  const message = {
    type: "message",
    id: "msg_0",
    status: "completed",
    role: "assistant",
    content: [{ type: "output_text", text, annotations: [], logprobs: [] }],
  };
  const calls = s.tools.map((name, i) => ({
    type: "function_call",
    id: `fc_${i}`,
    call_id: `call_${i}`,
    name,
    arguments: argsOf(name),
    status: "completed",
  }));
  const output = [...(text === "" ? [] : [message]), ...calls];
  const usage = {
    input_tokens: 12,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 7,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 19,
  };
  const response = (status: string, out: unknown[]) => ({
    id: "resp_mock",
    object: "response",
    created_at: 1_700_000_000,
    status,
    error: null,
    incomplete_details: null,
    instructions: null,
    model: s.model,
    output: out,
    parallel_tool_calls: true,
    temperature: 1,
    tool_choice: "auto",
    tools: [],
    top_p: 1,
    usage: status === "completed" ? usage : null,
  });
  let seq = 0;
  const ev = (type: string, body: Json) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...body, sequence_number: seq++ })}\n\n`;
  const events = [
    ev("response.created", { response: response("in_progress", []) }),
    ev("response.in_progress", { response: response("in_progress", []) }),
  ];
  if (text !== "") {
    const ids = { item_id: "msg_0", output_index: 0 };
    events.push(
      ev("response.output_item.added", { output_index: 0, item: { ...message, status: "in_progress", content: [] } }),
    );
    events.push(
      ev("response.content_part.added", {
        ...ids,
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [], logprobs: [] },
      }),
    );
    for (const delta of deltas(s)) {
      events.push(ev("response.output_text.delta", { ...ids, content_index: 0, delta, logprobs: [] }));
      if (s.error)
        return {
          json: response("completed", output),
          events: [
            ...events,
            ev("error", {
              code: "server_error",
              message: "The server had an error while processing your request.",
              param: null,
            }),
          ],
        };
    }
    events.push(ev("response.output_text.done", { ...ids, content_index: 0, text, logprobs: [] }));
    events.push(ev("response.content_part.done", { ...ids, content_index: 0, part: message.content[0] as Json }));
    events.push(ev("response.output_item.done", { output_index: 0, item: message }));
  }
  calls.forEach((call, i) => {
    const output_index = i + (text === "" ? 0 : 1);
    events.push(
      ev("response.output_item.added", { output_index, item: { ...call, arguments: "", status: "in_progress" } }),
    );
    for (const delta of halves(call.arguments))
      events.push(ev("response.function_call_arguments.delta", { item_id: call.id, output_index, delta }));
    events.push(
      ev("response.function_call_arguments.done", {
        item_id: call.id,
        output_index,
        name: call.name,
        arguments: call.arguments,
      }),
    );
    events.push(ev("response.output_item.done", { output_index, item: call }));
  });
  events.push(ev("response.completed", { response: response("completed", output) }));
  return { json: response("completed", output), events };
}

function messages(s: Scenario): { json: Json; events: string[] } {
  const text = deltas(s).join("");
  const uses = s.tools.map((name, i) => ({
    type: "tool_use",
    id: `toolu_${i}`,
    name,
    input: JSON.parse(argsOf(name)),
  }));
  const content = [...(text === "" ? [] : [{ type: "text", text }]), ...uses];
  const stop_reason = uses.length > 0 ? "tool_use" : "end_turn";
  const message = {
    id: "msg_mock",
    type: "message",
    role: "assistant",
    model: s.model,
    content,
    stop_reason,
    stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: 7 },
  };
  const ev = (type: string, body: Json) => `event: ${type}\ndata: ${JSON.stringify({ type, ...body })}\n\n`;
  const events = [
    ev("message_start", {
      message: { ...message, content: [], stop_reason: null, usage: { input_tokens: 12, output_tokens: 1 } },
    }),
  ];
  let index = 0;
  if (text !== "") {
    events.push(ev("content_block_start", { index, content_block: { type: "text", text: "" } }), ev("ping", {}));
    for (const t of deltas(s)) {
      events.push(ev("content_block_delta", { index, delta: { type: "text_delta", text: t } }));
      if (s.error)
        return {
          json: message,
          events: [...events, ev("error", { error: { type: "overloaded_error", message: "Overloaded" } })],
        };
    }
    events.push(ev("content_block_stop", { index: index++ }));
  }
  for (const use of uses) {
    events.push(ev("content_block_start", { index, content_block: { ...use, input: {} } }));
    for (const partial_json of halves(JSON.stringify(use.input)))
      events.push(ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json } }));
    events.push(ev("content_block_stop", { index: index++ }));
  }
  events.push(
    ev("message_delta", { delta: { stop_reason, stop_sequence: null }, usage: { output_tokens: 7 } }),
    ev("message_stop", {}),
  );
  return { json: message, events };
}

const APIS: Record<string, typeof chat> = {
  "/v1/chat/completions": chat,
  "/v1/responses": responses,
  "/v1/messages": messages,
};

function errorBody(path: string, status: number): Json {
  const message = `mock error ${status}`;
  return path.endsWith("/messages")
    ? { type: "error", error: { type: "rate_limit_error", message } }
    : { error: { message, type: "requests", param: null, code: null } };
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? "/", "http://mock").pathname;
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const record = seen.get(path.slice("/_seen/".length));
  if (req.method === "GET" && path.startsWith("/_seen/")) {
    res.writeHead(record ? 200 : 404, { "content-type": "application/json" }).end(JSON.stringify(record ?? null));
    return;
  }
  if (req.method === "PUT" && path.startsWith("/_script/")) {
    scripts.set(path.slice("/_script/".length), JSON.parse(Buffer.concat(chunks).toString("utf8")) as Script);
    res.writeHead(204).end();
    return;
  }
  const api = APIS[path];
  const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Json;
  const h = (name: string) => (req.headers[name] as string | undefined) ?? undefined;
  const id = h("x-mock-id");
  if (id) seen.set(id, { headers: req.headers, body });
  const script = scripts.get(h("x-mock-script") ?? "");
  if (script !== undefined) {
    res.writeHead(script.status ?? 200, script.headers ?? {});
    for (const c of script.chunks) {
      res.write(c);
      await new Promise((r) => setImmediate(r));
    }
    res.end();
    return;
  }
  const status = Number(h("x-mock-status") ?? 200);
  if (api === undefined || status !== 200) {
    res
      .writeHead(api ? status : 404, { "content-type": "application/json" })
      .end(JSON.stringify(errorBody(path, status)));
    return;
  }
  const scenario: Scenario = {
    model: String(body.model ?? "unknown"),
    text: h("x-mock-text") ?? "Hello from the mock.",
    tools: (h("x-mock-tools") ?? "").split(",").filter((t) => t !== ""),
    repeat: Number(h("x-mock-repeat") ?? 1),
    error: h("x-mock-error") === "mid-stream",
    includeUsage: (body.stream_options as Json | undefined)?.include_usage === true,
  };
  const { json, events } = api(scenario);
  if (body.stream !== true) {
    res.writeHead(200, { "content-type": "application/json", "x-request-id": "req_mock" }).end(JSON.stringify(json));
    return;
  }
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-request-id": "req_mock",
  });
  const piece = Number(h("x-mock-chunk") ?? 0);
  if (piece > 0) {
    const bytes = Buffer.from(events.join(""), "utf8");
    for (let i = 0; i < bytes.length; i += piece) {
      res.write(bytes.subarray(i, i + piece));
      await new Promise((r) => setImmediate(r));
    }
  } else if (h("x-mock-cut") !== undefined) {
    for (const e of events.slice(0, Number(h("x-mock-cut")))) res.write(e);
    await new Promise((r) => setTimeout(r, 20));
    req.socket.destroy();
    return;
  } else {
    for (const e of events) res.write(e);
  }
  res.end();
}

export async function startMockProvider(port = 0): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { url: `http://127.0.0.1:${address.port}`, server };
}
