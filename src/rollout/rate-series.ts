/**
 * Failure rates over time, for the timeline's "failure-rate changes" and the console's chart (CONTRACT §4.2,
 * §5). From the guard's per-second counts of one release, each failure class gets a series of points, one per
 * step, each the rate over a trailing window: the window of the class's trigger (what the guard compares with
 * its threshold), or DEFAULT_WINDOW_S for a class no trigger watches. Pure: the range comes in, nothing is read.
 *
 * A rate change is a point where the rate moves to another band: bands are half the trigger's threshold wide
 * (or RATE_BAND without a trigger), so a crossing of the threshold is always a change, and noise inside a band
 * is not. Points over fewer than `minPoints` requests carry no rate: a handful of requests says nothing.
 */
import type { Trigger } from "../release/schema";

export const DEFAULT_WINDOW_S = 60;
export const RATE_BAND = 0.05;
/** A point needs at least this many requests in its window (or the trigger's minRequests, if smaller). */
export const MIN_POINT_REQUESTS = 10;

/** One second of one release's counts, as the guard keeps them. */
export interface SecondCounts {
  second: number;
  served: number;
  failures: Record<string, number>;
}

export interface RatePoint {
  /** End of the step, ms since the epoch. */
  at: number;
  requests: number;
  failures: number;
  /** failures / requests over the window; null when the window has too few requests. */
  rate: number | null;
}

export interface ClassSeries {
  failureClass: string;
  windowSeconds: number;
  /** The lowest `maxRate` among the release's triggers on this class; null when none watches it. */
  threshold: number | null;
  points: RatePoint[];
}

export interface Range {
  /** ms since the epoch; the first point is one step after it. */
  from: number;
  to: number;
  stepSeconds: number;
}

export interface RateChange {
  at: number;
  release: string;
  failureClass: string;
  from: number | null;
  to: number;
  threshold: number | null;
  windowSeconds: number;
  requests: number;
  /** Whether this change crossed the threshold, and which way. */
  crossed: "above" | "below" | null;
}

/** Every class watched by a trigger or seen failing, each with its series over the range. */
export function rateSeries(
  seconds: readonly SecondCounts[],
  triggers: readonly Trigger[],
  range: Range,
): ClassSeries[] {
  const classes = new Map<string, { windowSeconds: number; threshold: number | null; min: number }>();
  for (const t of triggers) {
    const c = classes.get(t.failureClass);
    classes.set(t.failureClass, {
      windowSeconds: Math.min(c?.windowSeconds ?? t.windowSeconds, t.windowSeconds),
      threshold: Math.min(c?.threshold ?? t.maxRate, t.maxRate),
      min: Math.min(c?.min ?? MIN_POINT_REQUESTS, Math.max(1, t.minRequests)),
    });
  }
  for (const s of seconds)
    for (const cls of Object.keys(s.failures))
      if (!classes.has(cls))
        classes.set(cls, { windowSeconds: DEFAULT_WINDOW_S, threshold: null, min: MIN_POINT_REQUESTS });

  const step = Math.max(1, Math.floor(range.stepSeconds));
  const ends: number[] = [];
  for (let t = Math.floor(range.from / 1000) + step; t <= Math.floor(range.to / 1000); t += step) ends.push(t);
  const bySecond = new Map(seconds.map((s) => [s.second, s]));

  return [...classes]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([failureClass, c]) => ({
      failureClass,
      windowSeconds: c.windowSeconds,
      threshold: c.threshold,
      points: ends.map((end) => {
        let requests = 0;
        let failures = 0;
        for (let s = end - c.windowSeconds + 1; s <= end; s++) {
          const counts = bySecond.get(s);
          if (counts === undefined) continue;
          requests += counts.served;
          failures += counts.failures[failureClass] ?? 0;
        }
        return { at: end * 1000, requests, failures, rate: requests >= c.min ? failures / requests : null };
      }),
    }));
}

const bandOf = (rate: number, threshold: number | null): number =>
  rate === 0 ? 0 : 1 + Math.floor(rate / (threshold === null ? RATE_BAND : threshold / 2));

/** The points of a series where the rate moved to another band (the first rate above zero counts as one). */
export function rateChanges(release: string, series: ClassSeries): RateChange[] {
  const out: RateChange[] = [];
  let last: { rate: number | null; band: number } = { rate: null, band: 0 };
  for (const p of series.points) {
    if (p.rate === null) continue;
    const band = bandOf(p.rate, series.threshold);
    if (band !== last.band) {
      const t = series.threshold;
      const wasAbove = t !== null && last.rate !== null && last.rate > t;
      const isAbove = t !== null && p.rate > t;
      out.push({
        at: p.at,
        release,
        failureClass: series.failureClass,
        from: last.rate,
        to: p.rate,
        threshold: t,
        windowSeconds: series.windowSeconds,
        requests: p.requests,
        crossed: isAbove && !wasAbove ? "above" : wasAbove && !isAbove ? "below" : null,
      });
    }
    last = { rate: p.rate, band };
  }
  return out;
}
