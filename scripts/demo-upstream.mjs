// The demo agent behind the local gateway: it answers every request with what it received from Switchyard —
// the release, lane, tools, approval set and workflow — so a person can watch them change as pointers flip.
import { createServer } from "node:http";

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
      res.writeHead(200, { "content-type": "application/json" });
      res.end(`${JSON.stringify(body, null, 2)}\n`);
    });
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}
