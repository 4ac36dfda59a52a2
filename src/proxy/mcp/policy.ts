/**
 * The tool policy of one MCP server in a lane (CONTRACT §1.1, §2.4): the tools of the effective set that the
 * release declares as served by this server, and which of them need approval. A tool the server offers that the
 * release does not declare for it is in neither set, so it is never listed and never called.
 *
 * Built once per (release, lane, server) and reused: a `Served` value is already shared by every request in
 * its lane until the snapshot or the lane changes.
 */
import type { McpServer } from "../../release/schema";
import type { Decision } from "../../routing/decide";
import type { Served } from "../../routing/served";

export interface McpLane {
  name: string;
  server: McpServer;
  allowed: ReadonlySet<string>;
  approval: ReadonlySet<string>;
  /** Named in refusals: the lane's mode and the serving release. */
  mode: string;
  release: string;
}

const memo = new WeakMap<Served, Map<string, McpLane | null>>();

/** The lane of `name` for this decision, or null when the serving release declares no such server. */
export function mcpLaneOf(d: Decision, name: string): McpLane | null {
  let byServer = memo.get(d.served);
  if (byServer === undefined) {
    byServer = new Map();
    memo.set(d.served, byServer);
  }
  let lane = byServer.get(name);
  if (lane === undefined) {
    lane = build(d, name);
    // Only declared names are remembered, so a client sending made-up names cannot grow the memo.
    if (lane !== null) byServer.set(name, lane);
  }
  return lane;
}

function build(d: Decision, name: string): McpLane | null {
  const servers = d.release.manifest.mcpServers;
  // Own keys only: a server named `constructor` must not resolve to Object.prototype members.
  if (servers === undefined || !Object.hasOwn(servers, name)) return null;
  const tools = d.served.tools.filter((t) => t.server === name);
  const approval = new Set(d.served.approval);
  return {
    name,
    server: servers[name] as McpServer,
    allowed: new Set(tools.map((t) => t.name)),
    approval: new Set(tools.filter((t) => approval.has(t.name)).map((t) => t.name)),
    mode: d.served.mode,
    release: d.release.version,
  };
}
