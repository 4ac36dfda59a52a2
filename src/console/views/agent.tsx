/**
 * The agent page: pointers and lanes in force, the serving release's readiness answers, failure-rate charts
 * per live release, the timeline, and the moves. Sections marked `data-live` are swapped in place by the
 * refresh script; the forms are outside them, so a reason being typed is never lost.
 */
import { type AgentPage, CHART_SPAN_MS } from "../data";
import { RateChart } from "./chart";
import { Countdown, DataAge, pct } from "./layout";
import { Moves } from "./moves";
import { Readiness } from "./readiness";
import { Timeline } from "./timeline";

const setWords = (set: Record<string, unknown>): string =>
  Object.entries(set)
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : String(v)}`)
    .join("; ");

export function AgentView(props: { page: AgentPage; csrf: string; operator: boolean; releaser: boolean }) {
  const { page } = props;
  const p = page.pointers;
  const a = page.agent;
  const canaryShare = p.canary ? p.canary.percent : 0;
  return (
    <>
      <p class="crumbs">
        <a href="/console">Fleet</a> / {a} · <a href={`/console/agents/${a}/explain`}>Explain a request</a>
      </p>
      <h1>{a}</h1>
      <DataAge at={page.at} self={`/console/agents/${a}`} />
      <section data-live="pointers" id="pointers">
        <h2>Serving</h2>
        <dl class="pointers" data-testid="pointers">
          <dt>Active</dt>
          <dd data-testid="active">
            {p.active === "off" ? `off (user fallback of ${p.offFrom})` : (p.active ?? "none")}
            {p.canary ? ` · ${pct(1 - canaryShare / 100)} of sticky keys and every keyless request` : ""}
          </dd>
          <dt>Fallback</dt>
          <dd>{p.fallback ?? "none"}</dd>
          <dt>Canary</dt>
          <dd data-testid="canary">
            {p.canary ? `${p.canary.version} at ${p.canary.percent} % of sticky keys` : "none"}
          </dd>
          {page.plan ? (
            <>
              <dt>Plan</dt>
              <dd data-testid="plan">
                {page.plan.version}: step {page.plan.step + 1}, {page.plan.status} since{" "}
                <time datetime={page.plan.since}>{page.plan.since.slice(11, 19)} UTC</time>
                {page.plan.note ? ` — ${page.plan.note}` : ""}
              </dd>
            </>
          ) : null}
          <dt>Revision</dt>
          <dd>{page.revision}</dd>
        </dl>
        <h2>Lanes in force</h2>
        {page.overrides.length === 0 ? (
          <p data-testid="no-overrides">None: every release runs autonomous with all its tools.</p>
        ) : (
          <ul class="overrides" data-testid="overrides">
            {page.overrides.map((o) => (
              <li data-override={o.id}>
                <b>{setWords(o.set)}</b> on{" "}
                {o.scope.agent === "*" ? "every agent" : o.scope.release ? `${o.scope.release}` : "the whole agent"} ·
                by {o.actor}: “{o.reason}” ·{" "}
                {o.expiresAt ? <Countdown until={o.expiresAt} now={page.at} /> : "no expiry"}
                {props.releaser ? (
                  <>
                    {" "}
                    ·{" "}
                    <a class="button-link" href={`/console/agents/${a}/confirm?move=override.lift&id=${o.id}`}>
                      Lift…
                    </a>
                  </>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section>
        <h2>Serving release: the five answers</h2>
        <Readiness release={page.active} role={p.active === "off" ? "rolled back from" : "active"} />
      </section>
      <section data-live="charts" id="charts" class="charts">
        <h2>Failure rates against the triggers</h2>
        {page.charts.length === 0 ? <p>No live release.</p> : null}
        {page.charts.map((c) => (
          <RateChart
            release={c.version}
            role={c.role}
            series={c.series}
            from={page.at - CHART_SPAN_MS}
            to={page.at}
            changes={page.timeline.items}
          />
        ))}
      </section>
      <Moves page={page} csrf={props.csrf} operator={props.operator} releaser={props.releaser} />
      <section data-live="timeline" id="timeline">
        <h2>Timeline, last hour</h2>
        <Timeline items={page.timeline.items} agent={a} />
        {page.timeline.more ? <p>More than 200 changes: the oldest are not shown.</p> : null}
      </section>
    </>
  );
}
