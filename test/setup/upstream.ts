/**
 * A real HTTP upstream for the integration tests, run in Node on 127.0.0.1. It echoes what it received as JSON,
 * and has a few paths that misbehave on purpose: slow, failing, streaming, resetting the connection. It counts
 * the requests it received per path (`GET /__hits?prefix=`), so a test can prove no request reached it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Requests received, by path: lets a test prove the gateway did *not* call the upstream. */
const hits = new Map<string, number>();

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://upstream");
  const p = url.pathname;
  if (p === "/__hits") {
    // GET /__hits?prefix=/agent/x → {"count": n}: how many requests arrived under that path prefix.
    const prefix = url.searchParams.get("prefix") ?? "/";
    let count = 0;
    for (const [path, n] of hits) if (path.startsWith(prefix)) count += n;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ count }));
    return;
  }
  hits.set(p, (hits.get(p) ?? 0) + 1);
  if (p.endsWith("/slow")) {
    const ms = Number(url.searchParams.get("ms") ?? "2000");
    await new Promise((r) => setTimeout(r, ms));
  }
  if (p.endsWith("/reset")) {
    req.socket.destroy();
    return;
  }
  if (p.endsWith("/truncate")) {
    // A chunked body cut off mid-way: two chunks, then the socket is destroyed without the terminating chunk.
    res.writeHead(200, { "content-type": "text/plain" });
    res.write("part 0\n");
    await new Promise((r) => setTimeout(r, 20));
    res.write("part 1\n");
    await new Promise((r) => setTimeout(r, 20));
    req.socket.destroy();
    return;
  }
  if (p.endsWith("/truncate-declared")) {
    // A body of declared length (small: the gateway reads it whole) of which only a part is sent.
    res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
    res.write('{"partial":');
    await new Promise((r) => setTimeout(r, 20));
    req.socket.destroy();
    return;
  }
  if (p.endsWith("/declared")) {
    // A whole body of declared length: ?bytes= of "x" (default 10), in two writes ?pause= ms apart (default 10).
    const n = Number(url.searchParams.get("bytes") ?? "10");
    res.writeHead(200, { "content-type": "text/plain", "content-length": String(n), "x-upstream": "declared" });
    res.write("x".repeat(Math.floor(n / 2)));
    await new Promise((r) => setTimeout(r, Number(url.searchParams.get("pause") ?? "10")));
    res.end("x".repeat(n - Math.floor(n / 2)));
    return;
  }
  if (p.endsWith("/stall")) {
    // Headers and one chunk, then silence for ?ms= (default 5 s), then the socket is destroyed.
    res.writeHead(200, { "content-type": "text/plain" });
    res.write("first\n");
    await new Promise((r) => setTimeout(r, Number(url.searchParams.get("ms") ?? "5000")));
    req.socket.destroy();
    return;
  }
  if (p.endsWith("/drip")) {
    // A long stream: "tick i" every 50 ms, ?n= of them (default 40), then a clean end. A connection closed by the
    // other side before the end is counted under the path /__drip-closed (GET /__hits?prefix=/__drip-closed).
    res.writeHead(200, { "content-type": "text/plain" });
    const n = Number(url.searchParams.get("n") ?? "40");
    let closed = false;
    res.on("close", () => {
      if (!res.writableEnded) hits.set("/__drip-closed", (hits.get("/__drip-closed") ?? 0) + 1);
      closed = true;
    });
    for (let i = 0; i < n && !closed; i++) {
      res.write(`tick ${i}\n`);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!closed) res.end();
    return;
  }
  if (p.endsWith("/stream")) {
    res.writeHead(200, { "content-type": "text/plain" });
    for (let i = 0; i < 5; i++) {
      res.write(`chunk ${i}\n`);
      await new Promise((r) => setTimeout(r, 20));
    }
    res.end();
    return;
  }
  const status = /\/status\/(\d{3})$/.exec(p);
  const body = await readBody(req);
  const headers: Record<string, string> = { "content-type": "application/json" };
  const failure = url.searchParams.get("failure");
  if (failure) headers["x-agent-failure-class"] = failure;
  res.writeHead(status ? Number(status[1]) : 200, headers);
  res.end(JSON.stringify({ method: req.method, path: p, query: url.search, headers: req.headers, body }));
}

export async function startUpstream(port = 0): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { url: `http://127.0.0.1:${address.port}`, server };
}
