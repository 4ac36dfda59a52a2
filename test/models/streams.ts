/**
 * Canned upstream answers for the pure filter tests, in each API's documented shapes: text with non-ASCII
 * characters, then calls to the named tools. The integration tests use the live mock provider instead.
 */
import { type EventFilter, sseRelay } from "../../src/proxy/models/sse";
import { pump } from "../../src/proxy/pump";

type Json = Record<string, unknown>;

const args = (name: string) => JSON.stringify({ query: `for ${name}` });
const halves = (s: string) => [s.slice(0, 5), s.slice(5)];
export const TEXT = ["Héllo ", "wörld 🌍", "!"];

export function chatStream(tools: string[]): string {
  const chunk = (delta: Json, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  let out = `${chunk({ role: "assistant", content: "" })}: keep-alive comment\n\n`;
  for (const t of TEXT) out += chunk({ content: t });
  tools.forEach((name, index) => {
    out += chunk({ tool_calls: [{ index, id: `call_${index}`, type: "function", function: { name, arguments: "" } }] });
    for (const a of halves(args(name))) out += chunk({ tool_calls: [{ index, function: { arguments: a } }] });
  });
  out += chunk({}, tools.length ? "tool_calls" : "stop");
  out += `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage: { total_tokens: 3 } })}\n\n`;
  return `${out}data: [DONE]\n\n`;
}

export function responsesStream(tools: string[]): string {
  let seq = 0;
  const ev = (type: string, body: Json) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...body, sequence_number: seq++ })}\n\n`;
  const message = {
    type: "message",
    id: "msg",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text: TEXT.join(""), annotations: [] }],
  };
  const calls = tools.map((name, i) => ({
    type: "function_call",
    id: `fc_${i}`,
    call_id: `call_${i}`,
    name,
    arguments: args(name),
    status: "completed",
  }));
  const response = (status: string, output: unknown[]) => ({
    id: "r",
    object: "response",
    created_at: 1,
    status,
    model: "m",
    output,
  });
  let out = ev("response.created", { response: response("in_progress", []) });
  out += ev("response.output_item.added", {
    output_index: 0,
    item: { ...message, status: "in_progress", content: [] },
  });
  out += ev("response.content_part.added", {
    item_id: "msg",
    output_index: 0,
    content_index: 0,
    part: { type: "output_text", text: "", annotations: [] },
  });
  for (const delta of TEXT)
    out += ev("response.output_text.delta", { item_id: "msg", output_index: 0, content_index: 0, delta });
  out += ev("response.output_item.done", { output_index: 0, item: message });
  calls.forEach((call, i) => {
    const output_index = i + 1;
    out += ev("response.output_item.added", { output_index, item: { ...call, arguments: "", status: "in_progress" } });
    for (const delta of halves(call.arguments))
      out += ev("response.function_call_arguments.delta", { item_id: call.id, output_index, delta });
    out += ev("response.function_call_arguments.done", {
      item_id: call.id,
      output_index,
      name: call.name,
      arguments: call.arguments,
    });
    out += ev("response.output_item.done", { output_index, item: call });
  });
  return out + ev("response.completed", { response: response("completed", [message, ...calls]) });
}

export function messagesStream(tools: string[]): string {
  const ev = (type: string, body: Json) => `event: ${type}\r\ndata: ${JSON.stringify({ type, ...body })}\r\n\r\n`;
  let out = ev("message_start", {
    message: { id: "m", type: "message", role: "assistant", content: [], stop_reason: null, usage: {} },
  });
  out += ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
  for (const text of TEXT) out += ev("content_block_delta", { index: 0, delta: { type: "text_delta", text } });
  out += ev("content_block_stop", { index: 0 }) + ev("ping", {});
  tools.forEach((name, i) => {
    const index = i + 1;
    out += ev("content_block_start", { index, content_block: { type: "tool_use", id: `tu_${i}`, name, input: {} } });
    for (const partial_json of halves(args(name)))
      out += ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json } });
    out += ev("content_block_stop", { index });
  });
  out += ev("message_delta", {
    delta: { stop_reason: tools.length ? "tool_use" : "end_turn", stop_sequence: null },
    usage: {},
  });
  return out + ev("message_stop", {});
}

/** The JSON `data` of every event of a serialized stream, `[DONE]` and non-JSON data left out. */
export function eventsOf(text: string): Json[] {
  return text
    .split(/\r?\n\r?\n/)
    .flatMap((block) =>
      block
        .split(/\r?\n/)
        .filter((l) => l.startsWith("data: "))
        .map((l) => l.slice(6)),
    )
    .filter((d) => d.startsWith("{"))
    .map((d) => JSON.parse(d) as Json);
}

/** A `waitUntil` for streams pumped outside a request: the pump's promise runs on by itself. */
export const background = (p: Promise<unknown>): void => {
  p.catch(() => {});
};

/** Runs chunks through a stream filter, as the model route pumps them, and returns what the client receives. */
export async function filterText(filter: EventFilter, chunks: readonly (string | Uint8Array)[]): Promise<string> {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(typeof chunk === "string" ? enc.encode(chunk) : chunk);
      c.close();
    },
  });
  return new Response(pump(body, background, sseRelay(filter))).text();
}
