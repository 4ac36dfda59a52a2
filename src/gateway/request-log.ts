/**
 * One JSON line per request, for Workers Logs: enough to reconstruct an incident from the logs alone —
 * which release and digest served, in which lane, why, and what the upstream answered.
 */
import { type Decision, decisionHeader, laneOf } from "../routing/decide";

/** The data-plane doors, as named in logs. */
export type Route = "agent" | "model" | "mcp";

export interface RequestLog {
  route: Route;
  method: string;
  agent: string;
  status: number;
  upstreamStatus: number | null;
  failureClass: string | null;
  durationMs: number;
  decision: Decision | null;
  stale: boolean;
  error?: string;
}

export function logRequest(entry: RequestLog): void {
  const d = entry.decision;
  console.log(
    JSON.stringify({
      msg: "request",
      route: entry.route,
      method: entry.method,
      agent: entry.agent,
      release: d?.release.version ?? null,
      digest: d?.release.digest ?? null,
      lane: d ? laneOf(d) : null,
      decision: d ? decisionHeader(d, entry.stale) : null,
      workflow: d?.served.workflowName ?? null,
      revision: d?.revision ?? null,
      status: entry.status,
      upstreamStatus: entry.upstreamStatus,
      failureClass: entry.failureClass,
      durationMs: entry.durationMs,
      ...(entry.error ? { error: entry.error } : {}),
    }),
  );
}

/** The line for a body the upstream cut short after its status was sent (counted as a late `upstream_error`). */
export function logCut(route: Route, agent: string, release: string, error: unknown): void {
  console.error(
    JSON.stringify({
      msg: "upstream body cut",
      route,
      agent,
      release,
      failureClass: "upstream_error",
      error: String(error),
    }),
  );
}
