// The demo agent behind the local gateway: it answers every request with what it received from Switchyard —
// the release, lane, tools, approval set and workflow — so a person can watch them change as pointers flip.
// To watch the guard act (docs/guard.md), a request can ask it to fail: `?failure=<class>` answers with that
// `x-agent-failure-class` (e.g. tool_blocked), `?status=<5xx>` with that status (counted as upstream_error).
// POST /v1/chat/completions, /v1/responses and /v1/messages are the demo's model (scripts/demo-model.mjs).
import { createServer } from "node:http";
import { answerModel } from "./demo-model.mjs";

function contextOf(header) {
  if (!header) return null;
  try {
    return JSON.parse(Buffer.from(header, "base64url").toString("utf8"));
  } catch {
    return null;
  }
}

export function startDemoUpstream(port) {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      if (answerModel(req, Buffer.concat(chunks).toString("utf8"), res)) return;
      const h = req.headers;
      const context = contextOf(h["x-agent-context"]);
      const body = {
        reply: `Hello from ${h["x-agent-release"] ?? "?"} in lane ${h["x-agent-lane"] ?? "?"}`,
        received: {
          method: req.method,
          path: req.url,
          release: h["x-agent-release"],
          digest: h["x-agent-digest"],
          lane: h["x-agent-lane"],
          tools: h["x-agent-tools"],
          approval: h["x-agent-approval"],
          workflow: h["x-agent-workflow"],
          key: h["x-agent-key"] ?? null,
          instructions: context?.instructions?.system ?? null,
          body: Buffer.concat(chunks).toString("utf8"),
        },
      };
      const q = new URL(req.url ?? "/", "http://demo").searchParams;
      const headers = { "content-type": "application/json" };
      if (q.get("failure")) headers["x-agent-failure-class"] = q.get("failure");
      const status = /^[2-5]\d\d$/.test(q.get("status") ?? "") ? Number(q.get("status")) : 200;
      res.writeHead(status, headers);
      res.end(`${JSON.stringify(body, null, 2)}\n`);
    });
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}
