/**
 * One JSON line per request, for Workers Logs: enough to reconstruct an incident from the logs alone —
 * which release and digest served, in which lane, why, and what the upstream answered.
 */
import { type Decision, decisionHeader, laneOf } from "../routing/decide";

export interface RequestLog {
  route: "agent" | "model";
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
