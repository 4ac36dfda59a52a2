/**
 * One JSON line per request, for Workers Logs: enough to reconstruct an incident from the logs alone —
 * which release and digest served, in which lane, why, and what the upstream answered.
 *
 * The line is built as text: the part that depends only on what is served (agent, release, digest, lane,
 * workflow, revision) is serialized once per served lane and revision and reused; per request only the method,
 * the decision header, the statuses, the failure class and the duration are serialized (docs/performance.md).
 * Every value still goes through JSON.stringify, so the line is JSON whatever a client or an upstream sent.
 */
import { type Decision, decisionHeader, laneOf } from "../routing/decide";
import type { Served } from "../routing/served";

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
  /** `x-agent-decision` as stamped, when the caller has it already (else it is derived from the decision). */
  decisionHeader?: string;
  error?: string;
}

interface Fragment {
  revision: number;
  lane: string;
  text: string;
}
const fragments = new WeakMap<Served, Fragment>();

/** `"agent":…,"release":…,"digest":…,"lane":…,"workflow":…,"revision":…` for one decision, cached per lane. */
export function servedFragment(d: Decision): string {
  const lane = laneOf(d);
  const cached = fragments.get(d.served);
  if (cached !== undefined && cached.revision === d.revision && cached.lane === lane) return cached.text;
  const text = JSON.stringify({
    agent: d.agent,
    release: d.release.version,
    digest: d.release.digest,
    lane,
    workflow: d.served.workflowName,
    revision: d.revision,
  }).slice(1, -1);
  fragments.set(d.served, { revision: d.revision, lane, text });
  return text;
}

const NO_DECISION = '"release":null,"digest":null,"lane":null,"workflow":null,"revision":null,"decision":null';

/** The request line, as text (the fields of `RequestLog`, in the shape logs have always had). */
export function requestLine(entry: RequestLog): string {
  const d = entry.decision;
  const served =
    d === null
      ? `"agent":${JSON.stringify(entry.agent)},${NO_DECISION}`
      : `${servedFragment(d)},"decision":${JSON.stringify(entry.decisionHeader ?? decisionHeader(d, entry.stale))}`;
  return (
    `{"msg":"request","route":${JSON.stringify(entry.route)},"method":${JSON.stringify(entry.method)},${served}` +
    `,"status":${entry.status},"upstreamStatus":${entry.upstreamStatus ?? "null"}` +
    `,"failureClass":${entry.failureClass === null ? "null" : JSON.stringify(entry.failureClass)}` +
    `,"durationMs":${entry.durationMs}${entry.error ? `,"error":${JSON.stringify(entry.error)}` : ""}}`
  );
}

export function logRequest(entry: RequestLog): void {
  console.log(requestLine(entry));
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
