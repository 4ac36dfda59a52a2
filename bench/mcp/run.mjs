/**
 * Added latency of MCP tool calls through the gateway (CONTRACT §2.4): the official SDK's client calls
 * `tools/call` on the SDK's own server (test/setup/mcp-server.ts, built for Node) directly and through
 * `/mcp/{agent}/{server}` of the gateway as it deploys (wrangler's bundle in Miniflare), one call at a time,
 * rounds alternating direct and gateway so drift on a shared machine falls on both alike. Both answer styles of
 * the Streamable HTTP transport are measured: JSON answers and event-stream answers.
 *
 *   node bench/mcp/run.mjs [--calls 400] [--rounds 5]      ports 9500 (MCP server) and 9501 (gateway)
 *
 * Writes bench/mcp/results.json.
 */
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Miniflare } from "miniflare";
import { build, load, OUT } from "../build.mjs";
import { oneWorker } from "../miniflare-options.mjs";
import { admin, dryRun, gatewayOptions } from "../proxy/support.mjs";
import { figure, machine, median, table, workerdVersion, writeJson } from "../report.mjs";

const { values } = parseArgs({
  options: { calls: { type: "string", default: "400" }, rounds: { type: "string", default: "5" } },
});
const CALLS = Number(values.calls);
const ROUNDS = Number(values.rounds);
const MCP_PORT = 9500;
const GATEWAY_PORT = 9501;

const [serverBundle] = await build(["test/setup/mcp-server.ts"]);
const { startMcpServer } = await load(serverBundle);
const mcp = await startMcpServer(MCP_PORT);
const gatewayDir = join(OUT, "mcp", "gateway");
dryRun(gatewayDir);
const mf = new Miniflare(oneWorker(gatewayOptions(join(gatewayDir, "index.js"), { port: GATEWAY_PORT })));
const gateway = (await mf.ready).href.replace(/\/$/, "");

const release = (version) => ({
  agent: "tools-bot",
  version,
  instructions: { system: "You are the bench agent." },
  model: { provider: "openai", name: "gpt-bench", baseUrl: "http://127.0.0.1:9/v1" },
  tools: [
    { name: "search_kb", risk: "read", server: "json" },
    { name: "send_email", risk: "write", server: "json" },
    { name: "create_ticket", risk: "write", server: "sse" },
    { name: "issue_refund", risk: "destructive", server: "sse" },
  ],
  mcpServers: { json: { url: `${mcp.url}/json` }, sse: { url: `${mcp.url}/sse` } },
  workflows: { default: { upstream: "http://127.0.0.1:9/agent" } },
  rollout: {
    fallback: "off",
    owners: ["bench"],
    triggers: [
      { failureClass: "upstream_error", maxRate: 0.5, minRequests: 50, windowSeconds: 60, action: "rollback" },
    ],
    userFallback: { status: 503, body: { message: "paused" } },
  },
});
await admin(gateway, "PUT", "/agents/tools-bot/releases/v1", release("v1"));
await admin(gateway, "POST", "/agents/tools-bot/promote", { version: "v1", reason: "bench" });

async function connect(url) {
  const client = new Client({ name: "bench", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { "x-agent-key": "bench-user" } } }),
  );
  return client;
}

/** Per-call latencies (ms) of `calls` sequential tools/call. */
async function timed(client, tool, calls) {
  const out = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await client.callTool({ name: tool, arguments: { query: "refund policy" } });
    out.push(performance.now() - t0);
  }
  return out;
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const figures = [];
for (const [style, server, tool] of [
  ["json", "json", "search_kb"],
  ["sse", "sse", "create_ticket"],
]) {
  // The gateway's isolate must have the release: wait for the first call to succeed.
  const viaGateway = await (async () => {
    for (let i = 0; i < 200; i++) {
      try {
        return await connect(`${gateway}/mcp/tools-bot/${server}`);
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error("the gateway never served tools-bot");
  })();
  const direct = await connect(`${mcp.url}/${server}`);
  await timed(direct, tool, 100); // warm both paths
  await timed(viaGateway, tool, 100);
  const rounds = { direct: [], gateway: [], p99Direct: [], p99Gateway: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ["direct", "gateway"] : ["gateway", "direct"];
    for (const path of order) {
      const ms = await timed(path === "direct" ? direct : viaGateway, tool, CALLS);
      rounds[path].push(median(ms));
      rounds[path === "direct" ? "p99Direct" : "p99Gateway"].push(pct(ms, 0.99));
    }
  }
  const added = rounds.gateway.map((g, i) => g - rounds.direct[i]);
  figures.push(
    figure(`tools/call direct, ${style} answers (median)`, rounds.direct, "ms"),
    figure(`tools/call via gateway, ${style} answers (median)`, rounds.gateway, "ms"),
    figure(`added by the gateway, ${style} answers (median)`, added, "ms"),
    figure(`tools/call direct, ${style} answers (p99)`, rounds.p99Direct, "ms"),
    figure(`tools/call via gateway, ${style} answers (p99)`, rounds.p99Gateway, "ms"),
  );
  await direct.close();
  await viaGateway.close();
}

console.log(table(figures));
writeJson(new URL("./results.json", import.meta.url).pathname, {
  bench: "mcp tools/call latency",
  date: new Date().toISOString(),
  machine: machine(),
  workerd: workerdVersion(),
  calls: CALLS,
  rounds: ROUNDS,
  figures,
});
await mf.dispose();
mcp.server.closeAllConnections();
mcp.server.close();
