/**
 * The page frame of every console page: header with who is signed in, the sign-out form, and the live-refresh
 * hook. Only same-origin stylesheet and script (the CSP allows nothing inline); the page works without the
 * script, which only refreshes the parts marked `data-live` and counts down the ages and expiries.
 */
import type { Child } from "hono/jsx";
import type { Session } from "../session";

export const ASSET_VERSION = "1";

export function Layout(props: { title: string; session: Session | null; children: Child; refresh?: boolean }) {
  const s = props.session;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>{`${props.title} · Switchyard`}</title>
        <link rel="stylesheet" href={`/console/assets/app.css?v=${ASSET_VERSION}`} />
        <script src={`/console/assets/app.js?v=${ASSET_VERSION}`} defer />
      </head>
      <body data-refresh={props.refresh ? "5000" : undefined}>
        <header class="top">
          <a class="brand" href="/console">
            Switchyard
          </a>
          {s ? (
            <nav>
              <span class="who" data-testid="who">
                {s.actor.name} · <b>{s.actor.role}</b>
              </span>
              <form method="post" action="/console/logout" class="inline">
                <input type="hidden" name="csrf" value={s.csrf} />
                <button type="submit" class="link">
                  Sign out
                </button>
              </form>
            </nav>
          ) : null}
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

/** "12 s ago"-style age of the data on the page, kept current by the script. */
export function DataAge(props: { at: number; self: string }) {
  return (
    <p class="age" data-live="age">
      Data as of{" "}
      <time datetime={new Date(props.at).toISOString()}>{new Date(props.at).toISOString().slice(11, 19)} UTC</time>{" "}
      <span data-age-of={String(props.at)} />
      <noscript>
        {" "}
        · <a href={props.self}>Refresh</a>
      </noscript>
    </p>
  );
}

export const pct = (rate: number | null | undefined): string =>
  rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(rate < 0.1 ? 2 : 1)} %`;

/** Seconds until `at`, in words: "4 min 10 s". */
export function inWords(ms: number): string {
  if (ms <= 0) return "now";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function Countdown(props: { until: string; now: number }) {
  return (
    <time datetime={props.until} data-countdown={props.until}>
      in {inWords(Date.parse(props.until) - props.now)}
    </time>
  );
}
