/**
 * The readiness gate's five answers (CONTRACT §4.3) for the serving release, in plain words: which version,
 * which fallback, who may roll it back (to call), which signals act, and what users get if rollback is not enough.
 */
import type { StoredRelease } from "../../control/model";
import type { Trigger } from "../../release/schema";
import { pct } from "./layout";

export function actionWords(action: Trigger["action"]): string {
  if (action === "abort-canary") return "abort the canary";
  if (action === "rollback") return "roll back to the fallback";
  const s = action.set;
  const parts: string[] = [];
  if (s.mode) parts.push(`switch this release to ${s.mode}`);
  if (s.disableTools) parts.push(`disable ${s.disableTools.join(", ")}`);
  if (s.toolScope) parts.push(`allow only ${s.toolScope.join(", ")}`);
  if (s.forceApproval) parts.push(`require approval for ${s.forceApproval.join(", ")} tools`);
  if (s.workflow) parts.push(`route to the ${s.workflow} workflow`);
  return parts.join(" and ") || "lay an override";
}

export const triggerWords = (t: Trigger): string =>
  `When more than ${pct(t.maxRate)} of requests fail with ${t.failureClass} over ${t.windowSeconds} s ` +
  `(counted from ${t.minRequests} requests on), the guard will ${actionWords(t.action)}.`;

export function Readiness(props: { release: StoredRelease | null; role: string }) {
  const r = props.release;
  if (r === null) return <p>No release is serving.</p>;
  const m = r.manifest;
  const ro = m.rollout;
  const fallback = ro?.fallback;
  return (
    <dl class="answers" data-testid="readiness">
      <dt>Which version</dt>
      <dd>
        <a href={`/console/agents/${m.agent}/releases/${m.version}`}>{m.version}</a> ({props.role}),{" "}
        <code class="digest">{r.digest.slice(0, 19)}…</code>
        {m.description ? ` — ${m.description}` : ""}
      </dd>
      <dt>Its fallback</dt>
      <dd>
        {fallback === undefined
          ? "not set"
          : fallback === "off"
            ? "off: rolling back serves the user fallback below"
            : `rolling back makes ${fallback} active`}
      </dd>
      <dt>Who may roll it back</dt>
      <dd>
        {ro?.owners?.length ? `Call ${ro.owners.join(", ")}. Any operator may roll back at once.` : "nobody named"}
      </dd>
      <dt>Which signals act</dt>
      <dd>
        {ro?.triggers?.length ? (
          <ul>
            {ro.triggers.map((t) => (
              <li>{triggerWords(t)}</li>
            ))}
          </ul>
        ) : (
          "none"
        )}
      </dd>
      <dt>If rollback is not enough</dt>
      <dd>
        {ro?.userFallback
          ? `Users get HTTP ${ro.userFallback.status}: ${JSON.stringify(ro.userFallback.body)}`
          : "not set"}
      </dd>
    </dl>
  );
}
