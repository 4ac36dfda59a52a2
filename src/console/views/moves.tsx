/**
 * The buttons of the agent page, as plain forms (they work without script). Each asks for a reason and carries
 * the session's CSRF token. Shown by role: operators get the safer moves, releasers the riskier ones too
 * (which go through a confirm page first); a viewer gets none. The control plane checks every role again.
 */
import type { Child } from "hono/jsx";
import type { AgentPage } from "../data";
import type { MoveFields } from "../moves";

const TTLS: Array<[string, string]> = [
  ["", "until lifted"],
  ["1800", "30 min"],
  ["3600", "1 hour"],
  ["14400", "4 hours"],
];

export function MoveForm(props: {
  agent: string;
  csrf: string;
  fields: MoveFields;
  label: string;
  danger?: boolean;
  children?: Child;
  reasonLabel?: string;
}) {
  return (
    <form method="post" action={`/console/agents/${props.agent}/act`} class="move" data-move={props.fields.move}>
      <input type="hidden" name="csrf" value={props.csrf} />
      {Object.entries(props.fields).map(([k, v]) => (
        <input type="hidden" name={k} value={v} />
      ))}
      {props.children}
      <label>
        {props.reasonLabel ?? "Reason"}{" "}
        <input name="reason" required maxlength={2000} placeholder="why, for the audit log" autocomplete="off" />
      </label>
      <button type="submit" class={props.danger ? "danger" : ""}>
        {props.label}
      </button>
    </form>
  );
}

function Scope(props: { page: AgentPage }) {
  const p = props.page.pointers;
  return (
    <label>
      For{" "}
      <select name="release">
        <option value="">the whole agent</option>
        {p.active !== null && p.active !== "off" ? <option value={p.active}>{p.active} (active)</option> : null}
        {p.canary ? <option value={p.canary.version}>{p.canary.version} (canary)</option> : null}
      </select>
    </label>
  );
}

const Ttl = () => (
  <label>
    Expires{" "}
    <select name="ttl">
      {TTLS.map(([v, l]) => (
        <option value={v}>{l}</option>
      ))}
    </select>
  </label>
);

export function Moves(props: { page: AgentPage; csrf: string; operator: boolean; releaser: boolean }) {
  const { page, csrf } = props;
  const a = page.agent;
  const p = page.pointers;
  if (!props.operator) return null;
  const tools = [...(page.active?.manifest.tools ?? []), ...(page.canary?.manifest.tools ?? [])]
    .map((t) => t.name)
    .filter((n, i, all) => all.indexOf(n) === i);
  return (
    <section class="moves" data-testid="moves">
      <h2>Make it safer</h2>
      <MoveForm agent={a} csrf={csrf} fields={{ move: "lane", mode: "draft-only" }} label="Draft-only">
        <Scope page={page} />
        <Ttl />
      </MoveForm>
      <MoveForm
        agent={a}
        csrf={csrf}
        fields={{ move: "lane", mode: "off" }}
        label="Off (serve the user fallback)"
        danger
      >
        <Scope page={page} />
        <Ttl />
      </MoveForm>
      {tools.length > 0 ? (
        <MoveForm agent={a} csrf={csrf} fields={{ move: "tool.disable" }} label="Disable tool">
          <label>
            Tool{" "}
            <select name="tool">
              {tools.map((t) => (
                <option value={t}>{t}</option>
              ))}
            </select>
          </label>
          <Scope page={page} />
          <Ttl />
        </MoveForm>
      ) : null}
      {p.canary ? (
        <MoveForm agent={a} csrf={csrf} fields={{ move: "canary.abort" }} label={`Abort canary ${p.canary.version}`}>
          {null}
        </MoveForm>
      ) : null}
      {page.plan?.status === "running" ? (
        <MoveForm agent={a} csrf={csrf} fields={{ move: "canary.pause" }} label="Pause the plan" />
      ) : null}
      {page.plan?.status === "paused" && props.releaser ? (
        <MoveForm agent={a} csrf={csrf} fields={{ move: "canary.resume" }} label="Resume the plan…" />
      ) : null}
      {p.active !== null && p.active !== "off" ? (
        <MoveForm agent={a} csrf={csrf} fields={{ move: "rollback" }} label="Roll back">
          <label>
            To{" "}
            <select name="to">
              <option value="">its fallback ({p.fallback ?? "none"})</option>
              {page.releases
                .filter((r) => r.version !== p.active)
                .map((r) => (
                  <option value={r.version}>{r.version}</option>
                ))}
              <option value="off">off</option>
            </select>
          </label>
        </MoveForm>
      ) : null}
      {p.canary || props.releaser ? (
        <MoveForm agent={a} csrf={csrf} fields={{ move: "canary.set" }} label="Set canary">
          <label>
            Release{" "}
            <select name="version">
              {page.releases
                .filter((r) => r.version !== p.active)
                .map((r) => (
                  <option value={r.version} selected={p.canary?.version === r.version}>
                    {r.version}
                  </option>
                ))}
            </select>
          </label>
          <label>
            Percent{" "}
            <input name="percent" type="number" min="0" max="100" step="0.01" value={String(p.canary?.percent ?? 1)} />
          </label>
          <small>Lowering is an operator's move; starting or raising is a releaser's and is confirmed first.</small>
        </MoveForm>
      ) : null}
      {props.releaser ? (
        <MoveForm agent={a} csrf={csrf} fields={{ move: "promote" }} label="Promote…">
          <label>
            Release{" "}
            <select name="version">
              {page.releases
                .filter((r) => r.version !== p.active)
                .map((r) => (
                  <option value={r.version}>{r.version}</option>
                ))}
            </select>
          </label>
        </MoveForm>
      ) : null}
    </section>
  );
}
