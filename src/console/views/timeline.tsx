/** The agent's timeline on its page: newest first, each change with its field-level diff and a deep link. */
import type { TimelineItem } from "../../control/timeline";
import { pct } from "./layout";

const show = (v: unknown): string =>
  v === null || v === undefined ? "–" : typeof v === "string" ? v : JSON.stringify(v);
/** Rates read as percentages; everything else as JSON. */
const showAt = (path: string, v: unknown): string =>
  path.startsWith("rates.") && typeof v === "number" ? pct(v) : show(v);

export function Timeline(props: { items: TimelineItem[]; agent: string }) {
  const items = [...props.items].reverse();
  if (items.length === 0) return <p>Nothing changed in the last hour.</p>;
  return (
    <ol class="timeline" data-testid="timeline">
      {items.map((i) => (
        <li class={`tl tl-${i.kind}`} id={i.id} data-action={i.action}>
          <div class="tl-head">
            <time datetime={i.at}>{i.at.slice(11, 19)}</time> <span class={`kind kind-${i.kind}`}>{i.kind}</span>{" "}
            <b>{i.action}</b>
            {i.release ? <> · {i.release}</> : null}
            {i.actor ? <> · {i.actor}</> : null}
            {i.seq !== null ? (
              <>
                {" "}
                · <a href={`/console/audit/${i.seq}`}>#{i.seq}</a>
              </>
            ) : null}
          </div>
          {i.reason ? <div class="tl-reason">{i.reason}</div> : null}
          {i.changes.length > 0 ? (
            <table class="diff">
              <tbody>
                {i.changes.slice(0, 12).map((c) => (
                  <tr>
                    <th>{c.path || "(value)"}</th>
                    <td class="from">{showAt(c.path, c.from)}</td>
                    <td class="to">{showAt(c.path, c.to)}</td>
                  </tr>
                ))}
                {i.changes.length > 12 ? (
                  <tr>
                    <td colspan={3}>… {i.changes.length - 12} more</td>
                  </tr>
                ) : null}
              </tbody>
            </table>
          ) : null}
        </li>
      ))}
    </ol>
  );
}

/** A field-level diff table (releases, lanes), shared by the confirm and release pages. */
export function DiffTable(props: { changes: Array<{ path: string; from: unknown; to: unknown }> }) {
  if (props.changes.length === 0) return <p>No field differs.</p>;
  return (
    <table class="diff" data-testid="diff">
      <thead>
        <tr>
          <th>field</th>
          <th>from</th>
          <th>to</th>
        </tr>
      </thead>
      <tbody>
        {props.changes.map((c) => (
          <tr>
            <th>{c.path || "(value)"}</th>
            <td class="from">{show(c.from)}</td>
            <td class="to">{show(c.to)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
