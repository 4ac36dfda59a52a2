/**
 * The confirm page of a riskier move (the release diff and what share of traffic moves, then the button, sent
 * with If-Match so it lands only on the state shown) and the result page of every move, which offers its undo.
 */
import type { Change } from "../../release/diff";
import type { MoveFields } from "../moves";
import { MoveForm } from "./moves";
import { DiffTable } from "./timeline";

export function ConfirmView(props: {
  agent: string;
  csrf: string;
  title: string;
  fields: MoveFields;
  revision: number;
  changes: Change[];
  diffLabel: string;
  share: string;
  reason?: string;
}) {
  return (
    <section class="confirm" data-testid="confirm">
      <p class="crumbs">
        <a href="/console">Fleet</a> / <a href={`/console/agents/${props.agent}`}>{props.agent}</a> / confirm
      </p>
      <h1>{props.title}?</h1>
      <h2>Traffic that moves</h2>
      <p class="share" data-testid="share">
        {props.share}
      </p>
      <h2>{props.diffLabel}</h2>
      <DiffTable changes={props.changes} />
      <MoveForm
        agent={props.agent}
        csrf={props.csrf}
        fields={{ ...props.fields, confirmed: "1", revision: String(props.revision) }}
        label={`Confirm: ${props.title}`}
        danger
      />
      <p>
        Made on revision {props.revision}: if the state moves before you confirm, nothing happens and you see it again.{" "}
        <a href={`/console/agents/${props.agent}`}>Cancel</a>
      </p>
    </section>
  );
}

export function ResultView(props: {
  agent: string;
  csrf: string;
  done: string;
  revision: number;
  published: boolean;
  detail: string | null;
  undo: MoveFields | null;
  undoLabel: string | null;
  canUndo: boolean;
}) {
  return (
    <section class="result" data-testid="result">
      <p class="crumbs">
        <a href="/console">Fleet</a> / <a href={`/console/agents/${props.agent}`}>{props.agent}</a>
      </p>
      <h1 class="ok">Done: {props.done}</h1>
      <p>
        Revision {props.revision}
        {props.published ? ", published." : "; the gateway serves it now, the KV copy follows within seconds."}
        {props.detail ? ` ${props.detail}` : ""}
      </p>
      {props.undo && props.undoLabel ? (
        props.canUndo ? (
          <div class="undo" data-testid="undo">
            <h2>Undo</h2>
            <MoveForm agent={props.agent} csrf={props.csrf} fields={props.undo} label={`Undo: ${props.undoLabel}`} />
          </div>
        ) : (
          <p class="undo" data-testid="undo">
            Undo ({props.undoLabel}) needs a releaser: ask one, or see the agent page.
          </p>
        )
      ) : (
        <p>This move has no single inverse; the agent page shows what to do next.</p>
      )}
      <p>
        <a href={`/console/agents/${props.agent}`}>Back to {props.agent}</a>
      </p>
    </section>
  );
}
