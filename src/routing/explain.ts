/** The decision as a plain object: what `explain` answers, with the headers the data plane would send. */
import { type Decision, decisionHeader, laneOf, type Outcome, reasonsOf } from "./decide";

export function describeDecision(d: Decision, stale = false) {
  return {
    kind: d.kind,
    via: d.via,
    agent: d.agent,
    release: d.release.version,
    digest: d.release.digest,
    revision: d.revision,
    bucket: d.bucket,
    canary: d.canary,
    lane: laneOf(d),
    tools: d.served.tools.map((t) => ({ name: t.name, risk: t.risk })),
    approval: d.served.approval,
    workflow: d.served.workflowName,
    upstream: d.kind === "off" || d.kind === "failsafe" ? null : d.served.workflow.upstream,
    overrides: d.served.overrideIds,
    userFallback: d.kind === "off" || d.kind === "failsafe" ? d.served.userFallback : null,
    headers: {
      "x-agent-release": d.release.version,
      "x-agent-lane": laneOf(d),
      "x-agent-decision": decisionHeader(d, stale),
    },
    reasons: reasonsOf(d),
  };
}

export function describeOutcome(o: Outcome) {
  return o.ok
    ? { ok: true, decision: describeDecision(o.decision) }
    : { ok: false, error: { code: o.code, status: o.status, message: o.message } };
}
