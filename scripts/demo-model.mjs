// The demo's model: an OpenAI- and Anthropic-compatible mock that always wants to email the customer. It answers
// POST /v1/chat/completions, /v1/responses and /v1/messages in each API's own shape, as JSON or, when the request
// says `stream: true`, as server-sent events: a short text, then a call to `send_email`. Through the gateway a
// person sees the call arrive in an autonomous lane and withheld in draft-only (README, "Model traffic").

const ARGS = { to: "customer@example.com", subject: "Your refund", body: "It is on its way." };
const TEXT = "I will email the customer now.";
const sse = (data, event) => `${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`;

function chat(model, stream) {
  const call = { id: "call_demo", type: "function", function: { name: "send_email", arguments: JSON.stringify(ARGS) } };
  if (!stream) {
    const message = { role: "assistant", content: TEXT, tool_calls: [call] };
    return {
      id: "chatcmpl-demo",
      object: "chat.completion",
      created: 0,
      model,
      choices: [{ index: 0, message, finish_reason: "tool_calls" }],
    };
  }
  const chunk = (delta, finish_reason = null) =>
    sse({
      id: "chatcmpl-demo",
      object: "chat.completion.chunk",
      created: 0,
      model,
      choices: [{ index: 0, delta, finish_reason }],
    });
  return [
    chunk({ role: "assistant", content: TEXT }),
    chunk({ tool_calls: [{ index: 0, ...call, function: { name: "send_email", arguments: "" } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: JSON.stringify(ARGS) } }] }),
    chunk({}, "tool_calls"),
    "data: [DONE]\n\n",
  ];
}

function responses(model, stream) {
  const message = {
    type: "message",
    id: "msg_demo",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text: TEXT, annotations: [] }],
  };
  const call = {
    type: "function_call",
    id: "fc_demo",
    call_id: "call_demo",
    name: "send_email",
    arguments: JSON.stringify(ARGS),
    status: "completed",
  };
  const response = (status, output) => ({ id: "resp_demo", object: "response", created_at: 0, status, model, output });
  if (!stream) return response("completed", [message, call]);
  let seq = 0;
  const ev = (type, body) => sse({ type, ...body, sequence_number: seq++ }, type);
  return [
    ev("response.created", { response: response("in_progress", []) }),
    ev("response.output_item.added", { output_index: 0, item: message }),
    ev("response.output_item.done", { output_index: 0, item: message }),
    ev("response.output_item.added", { output_index: 1, item: { ...call, arguments: "", status: "in_progress" } }),
    ev("response.function_call_arguments.delta", { output_index: 1, item_id: "fc_demo", delta: call.arguments }),
    ev("response.output_item.done", { output_index: 1, item: call }),
    ev("response.completed", { response: response("completed", [message, call]) }),
  ];
}

function messages(model, stream) {
  const use = { type: "tool_use", id: "toolu_demo", name: "send_email", input: ARGS };
  const message = {
    id: "msg_demo",
    type: "message",
    role: "assistant",
    model,
    stop_sequence: null,
    usage: { input_tokens: 1, output_tokens: 1 },
  };
  if (!stream) return { ...message, content: [{ type: "text", text: TEXT }, use], stop_reason: "tool_use" };
  const ev = (type, body) => sse({ type, ...body }, type);
  return [
    ev("message_start", { message: { ...message, content: [], stop_reason: null } }),
    ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
    ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: TEXT } }),
    ev("content_block_stop", { index: 0 }),
    ev("content_block_start", { index: 1, content_block: { ...use, input: {} } }),
    ev("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: JSON.stringify(ARGS) } }),
    ev("content_block_stop", { index: 1 }),
    ev("message_delta", { delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 1 } }),
    ev("message_stop", {}),
  ];
}

const APIS = { "/v1/chat/completions": chat, "/v1/responses": responses, "/v1/messages": messages };

/** Answers a model request, or returns false when the path is no model API. */
export function answerModel(req, bodyText, res) {
  const api = APIS[new URL(req.url ?? "/", "http://demo").pathname];
  if (req.method !== "POST" || api === undefined) return false;
  let body = {};
  try {
    body = JSON.parse(bodyText || "{}");
  } catch {}
  const out = api(String(body.model ?? "demo-model"), body.stream === true);
  if (Array.isArray(out)) {
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
    res.end(out.join(""));
  } else {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(`${JSON.stringify(out)}\n`);
  }
  return true;
}
