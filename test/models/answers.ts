/**
 * Generated provider answers for the fail-closed property test (CONTRACT §2.2.1): JSON and SSE for the three
 * APIs, with calls to allowed and disallowed tools, optionally at reused indices (new ids at an index already
 * seen), odd content types and a malformed event. Each call's arguments carry a unique marker, so a test can
 * tell whether any byte of a disallowed call reached the client. `reconstruct` reads a client stream the way the
 * official SDKs accumulate it.
 */
import fc from "fast-check";

export type Api = "chat/completions" | "responses" | "messages";
export const ALLOWED = ["search_kb"];
export const NAMES = ["search_kb", "send_email", "drop_db"];

export interface Call {
  name: string;
  id: string;
  args: string;
}

export interface Answer {
  api: Api;
  stream: boolean;
  contentType: string;
  text: string;
  calls: Call[];
  malformed: boolean;
}

type Json = Record<string, unknown>;
const sse = (data: unknown, event?: string) =>
  `${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
const halves = (s: string) => [s.slice(0, 4), s.slice(4)];

const MALFORMED: Record<Api, string[]> = {
  "chat/completions": [
    "data: {not json\n\n",
    'data: {"choices":[{"index":0,"delta":{"tool_calls":{"0":{}}}}]}\n\n',
    "data: [1]\n\n",
  ],
  responses: [
    "event: x\ndata: {'a':1}\n\n",
    'data: {"type":"response.output_item.added","output_index":"0","item":{}}\n\n',
  ],
  messages: ["event: content_block_start\ndata: {index:0}\n\n", 'data: {"type":"content_block_start","index":0}\n\n'],
};

function chatEvents(calls: Call[], reuse: boolean): string[] {
  const chunk = (delta: Json, finish: string | null = null) =>
    sse({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] });
  const out = [chunk({ role: "assistant", content: "hi " })];
  calls.forEach((c, i) => {
    const index = reuse ? 0 : i;
    out.push(chunk({ tool_calls: [{ index, id: c.id, type: "function", function: { name: c.name, arguments: "" } }] }));
    for (const a of halves(c.args)) out.push(chunk({ tool_calls: [{ index, function: { arguments: a } }] }));
  });
  out.push(chunk({}, calls.length > 0 ? "tool_calls" : "stop"), "data: [DONE]\n\n");
  return out;
}

function responsesEvents(calls: Call[], reuse: boolean): string[] {
  let seq = 0;
  const ev = (type: string, body: Json) => sse({ type, ...body, sequence_number: seq++ }, type);
  const item = (c: Call, args: string) => ({
    type: "function_call",
    id: c.id,
    call_id: `call_${c.id}`,
    name: c.name,
    arguments: args,
  });
  const out = [ev("response.created", { response: { id: "r", output: [] } })];
  calls.forEach((c, i) => {
    const output_index = reuse ? 0 : i;
    out.push(ev("response.output_item.added", { output_index, item: item(c, "") }));
    for (const delta of halves(c.args))
      out.push(ev("response.function_call_arguments.delta", { output_index, item_id: c.id, delta }));
    out.push(
      ev("response.function_call_arguments.done", { output_index, item_id: c.id, name: c.name, arguments: c.args }),
    );
    out.push(ev("response.output_item.done", { output_index, item: item(c, c.args) }));
  });
  out.push(ev("response.completed", { response: { id: "r", output: calls.map((c) => item(c, c.args)) } }));
  return out;
}

function messagesEvents(calls: Call[], reuse: boolean): string[] {
  const ev = (type: string, body: Json) => sse({ type, ...body }, type);
  const out = [ev("message_start", { message: { id: "m", type: "message", role: "assistant", content: [] } })];
  calls.forEach((c, i) => {
    const index = reuse ? 0 : i;
    out.push(
      ev("content_block_start", { index, content_block: { type: "tool_use", id: c.id, name: c.name, input: {} } }),
    );
    for (const partial_json of halves(c.args))
      out.push(ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json } }));
    out.push(ev("content_block_stop", { index }));
  });
  out.push(
    ev("message_delta", { delta: { stop_reason: calls.length ? "tool_use" : "end_turn" } }),
    ev("message_stop", {}),
  );
  return out;
}

function jsonBody(api: Api, calls: Call[]): Json {
  if (api === "chat/completions") {
    const tool_calls = calls.map((c) => ({
      id: c.id,
      type: "function",
      function: { name: c.name, arguments: c.args },
    }));
    return {
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", tool_calls }, finish_reason: "tool_calls" }],
    };
  }
  if (api === "responses") {
    return {
      object: "response",
      output: calls.map((c) => ({
        type: "function_call",
        id: c.id,
        call_id: `call_${c.id}`,
        name: c.name,
        arguments: c.args,
      })),
    };
  }
  return {
    type: "message",
    content: calls.map((c) => ({ type: "tool_use", id: c.id, name: c.name, input: JSON.parse(c.args) })),
    stop_reason: "tool_use",
  };
}

const randomCase = (s: string, mask: number[]) =>
  [...s].map((ch, i) => ((mask[i % mask.length] ?? 0) % 2 ? ch.toUpperCase() : ch)).join("");

export const answers: fc.Arbitrary<Answer> = fc
  .record({
    api: fc.constantFrom<Api>("chat/completions", "responses", "messages"),
    stream: fc.boolean(),
    names: fc.array(fc.constantFrom(...NAMES), { maxLength: 5 }),
    reuse: fc.boolean(),
    caseMask: fc.array(fc.nat(1), { minLength: 1, maxLength: 8 }),
    malformedAt: fc.option(fc.nat(40), { nil: undefined }),
    malformedKind: fc.nat(2),
  })
  .map(({ api, stream, names, reuse, caseMask, malformedAt, malformedKind }) => {
    const calls = names.map((name, i) => ({ name, id: `id${i}`, args: JSON.stringify({ q: `mark${i}k` }) }));
    const type = stream ? "text/event-stream; charset=utf-8" : "application/json";
    const contentType = randomCase(type, caseMask);
    let text: string;
    let malformed = false;
    if (stream) {
      const events = (api === "chat/completions" ? chatEvents : api === "responses" ? responsesEvents : messagesEvents)(
        calls,
        reuse,
      );
      if (malformedAt !== undefined) {
        const bad = MALFORMED[api];
        events.splice(malformedAt % (events.length + 1), 0, bad[malformedKind % bad.length] as string);
        malformed = true;
      }
      text = events.join("");
    } else {
      text = JSON.stringify(jsonBody(api, calls));
      if (malformedAt !== undefined) {
        text = text.slice(0, text.length - 1 - (malformedAt % 3));
        malformed = true;
      }
    }
    return { api, stream, contentType, text, calls, malformed };
  });

/** The calls a client SDK ends up with, name and full arguments, from the filtered answer. */
export function reconstruct(api: Api, stream: boolean, text: string): { name: string; args: string }[] {
  if (!stream) {
    const body = JSON.parse(text) as Json;
    if (api === "chat/completions") {
      const m = ((body.choices as Json[])[0]?.message ?? {}) as Json;
      return ((m.tool_calls as Json[] | undefined) ?? []).map((c) => {
        const f = c.function as Json;
        return { name: String(f.name), args: String(f.arguments) };
      });
    }
    if (api === "responses")
      return (body.output as Json[]).map((i) => ({ name: String(i.name), args: String(i.arguments) }));
    return (body.content as Json[]).map((b) => ({ name: String(b.name), args: JSON.stringify(b.input) }));
  }
  const datas = text
    .split("\n\n")
    .map((e) =>
      e
        .split("\n")
        .find((l) => l.startsWith("data: "))
        ?.slice(6),
    )
    .filter((d): d is string => d !== undefined && d !== "[DONE]")
    .map((d) => JSON.parse(d) as Json);
  if (api === "chat/completions") {
    const calls: { name: string; args: string }[] = [];
    for (const d of datas) {
      const delta = (((d.choices as Json[] | undefined) ?? [])[0]?.delta ?? {}) as Json;
      for (const c of (delta.tool_calls as Json[] | undefined) ?? []) {
        const index = c.index as number;
        const slot = calls[index] ?? { name: "", args: "" };
        calls[index] = slot;
        const f = (c.function ?? {}) as Json;
        if (f.name) slot.name = String(f.name);
        if (f.arguments) slot.args += String(f.arguments);
      }
    }
    return calls;
  }
  if (api === "responses") {
    const done = datas.find((d) => d.type === "response.completed");
    return (
      ((done?.response as Json | undefined)?.output as Json[] | undefined)?.map((i) => ({
        name: String(i.name),
        args: String(i.arguments),
      })) ?? []
    );
  }
  const blocks: { name: string; args: string }[] = [];
  for (const d of datas) {
    if (d.type === "content_block_start") blocks.push({ name: String((d.content_block as Json).name), args: "" });
    if (d.type === "content_block_delta") {
      const b = blocks[d.index as number];
      if (b) b.args += String((d.delta as Json).partial_json ?? "");
    }
  }
  return blocks;
}
