/** The fleet page (every agent at a glance, with the guard's health mark) and the sign-in page. */
import type { FleetRow } from "../data";
import { DataAge } from "./layout";

const MARK_WORDS = { ok: "healthy", warn: "rising", breached: "breached", quiet: "no traffic", unknown: "unknown" };

export function FleetView(props: { rows: FleetRow[]; at: number; revision: number }) {
  return (
    <>
      <h1>Fleet</h1>
      <DataAge at={props.at} self="/console" />
      <div data-live="fleet" id="fleet">
        {props.rows.length === 0 ? <p>No agent yet.</p> : null}
        <table class="fleet" data-testid="fleet">
          <thead>
            <tr>
              <th>agent</th>
              <th>health</th>
              <th>active</th>
              <th>fallback</th>
              <th>canary</th>
              <th>lanes in force</th>
            </tr>
          </thead>
          <tbody>
            {props.rows.map((r) => (
              <tr data-agent={r.agent}>
                <td data-label="agent">
                  <a href={`/console/agents/${r.agent}`}>{r.agent}</a>
                </td>
                <td data-label="health">
                  <span class={`mark mark-${r.mark}`} title={r.note}>
                    {MARK_WORDS[r.mark]}
                  </span>
                </td>
                <td data-label="active">{r.pointers.active ?? "none"}</td>
                <td data-label="fallback">{r.pointers.fallback ?? "none"}</td>
                <td data-label="canary">
                  {r.pointers.canary ? `${r.pointers.canary.version} @ ${r.pointers.canary.percent} %` : "–"}
                  {r.plan ? ` · plan step ${r.plan.step + 1}, ${r.plan.status}` : ""}
                </td>
                <td data-label="lanes">
                  {r.overrides.length === 0
                    ? "–"
                    : r.overrides
                        .flatMap((o) => Object.keys(o.set).map((k) => (k === "mode" ? String(o.set.mode) : k)))
                        .join(", ")}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <p class="age">State revision {props.revision}.</p>
      </div>
    </>
  );
}

export function SignIn(props: { csrf: string; error?: string; next?: string }) {
  return (
    <section class="signin">
      <h1>Sign in</h1>
      <p>
        Paste your Switchyard token. It is checked once and never stored; the session lasts 30 minutes from your last
        page.
      </p>
      {props.error ? (
        <p class="error" role="alert">
          {props.error}
        </p>
      ) : null}
      <form method="post" action="/console/login">
        <input type="hidden" name="csrf" value={props.csrf} />
        {props.next ? <input type="hidden" name="next" value={props.next} /> : null}
        <label>
          Token <input type="password" name="token" required autocomplete="current-password" />
        </label>
        <button type="submit">Sign in</button>
      </form>
    </section>
  );
}
