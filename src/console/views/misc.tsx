/** Smaller console pages: explain, one release, one audit entry, and the error page. */
import type { Change } from "../../release/diff";
import { DiffTable } from "./timeline";

export function ExplainView(props: { agent: string; key: string; release: string; result: unknown }) {
  const r = props.result as { reasons?: unknown[] } | null;
  return (
    <>
      <p class="crumbs">
        <a href="/console">Fleet</a> / <a href={`/console/agents/${props.agent}`}>{props.agent}</a> / explain
      </p>
      <h1>Explain a request to {props.agent}</h1>
      <form method="get" class="move">
        <label>
          Sticky key (x-agent-key) <input name="key" value={props.key} />
        </label>
        <label>
          Pinned release (x-agent-release) <input name="release" value={props.release} />
        </label>
        <button type="submit">Explain</button>
      </form>
      {r === null ? null : (
        <>
          {Array.isArray(r.reasons) ? (
            <ol class="reasons" data-testid="reasons">
              {r.reasons.map((x) => (
                <li>{typeof x === "string" ? x : JSON.stringify(x)}</li>
              ))}
            </ol>
          ) : null}
          <pre class="json" data-testid="decision">
            {JSON.stringify(r, null, 2)}
          </pre>
        </>
      )}
    </>
  );
}

export function ReleaseView(props: {
  agent: string;
  version: string;
  digest: string;
  manifest: unknown;
  against: string | null;
  changes: Change[] | null;
}) {
  return (
    <>
      <p class="crumbs">
        <a href="/console">Fleet</a> / <a href={`/console/agents/${props.agent}`}>{props.agent}</a> / {props.version}
      </p>
      <h1>
        {props.agent}@{props.version}
      </h1>
      <p>
        <code class="digest">{props.digest}</code>
      </p>
      {props.changes !== null ? (
        <>
          <h2>Against the active release {props.against}</h2>
          <DiffTable changes={props.changes} />
        </>
      ) : null}
      <h2>Manifest</h2>
      <pre class="json">{JSON.stringify(props.manifest, null, 2)}</pre>
    </>
  );
}

export function AuditView(props: { entry: Record<string, unknown>; changes: Change[] }) {
  const e = props.entry;
  const agent = typeof e.agent === "string" ? e.agent : null;
  return (
    <>
      <p class="crumbs">
        <a href="/console">Fleet</a> / {agent ? <a href={`/console/agents/${agent}`}>{agent}</a> : "fleet-wide"} / audit
        #{String(e.seq)}
      </p>
      <h1>
        {String(e.action)} by {String(e.actor)} ({String(e.role)})
      </h1>
      <p>
        <time datetime={String(e.at)}>{String(e.at)}</time> · revision {String(e.revision)} · “{String(e.reason)}”
      </p>
      <DiffTable changes={props.changes} />
    </>
  );
}

export function ErrorView(props: {
  status: number;
  message: string;
  problems?: Array<{ path: string; message: string }>;
  back?: string;
}) {
  return (
    <section class="error-page" data-testid="error">
      <h1>{props.status === 403 ? "Not allowed" : props.status === 404 ? "Not found" : "Refused"}</h1>
      <p class="error" role="alert">
        {props.message}
      </p>
      {props.problems?.length ? (
        <ul>
          {props.problems.map((p) => (
            <li>
              <code>{p.path || "(form)"}</code>: {p.message}
            </li>
          ))}
        </ul>
      ) : null}
      <p>Nothing was changed.</p>
      {props.back ? <a href={props.back}>Back</a> : <a href="/console">Back to the fleet</a>}
    </section>
  );
}
