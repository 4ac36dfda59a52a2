/**
 * Sliding windows over per-second buckets of one release's counts (CONTRACT §2.3, §4.4).
 *
 * A bucket holds what arrived at the guard in one whole second: requests served and failures by class. A window
 * of W seconds at `now` is the buckets of the seconds (nowSecond − W, nowSecond], so the current, partial second
 * counts and the oldest second drops out whole. Pure: the clock comes in as `now` (ms since the epoch).
 */

/** Requests served and failures by class, for one release over some span of time. */
export interface Counts {
  served: number;
  failures: Record<string, number>;
}

/** One release's buckets, keyed by second since the epoch. */
export type Buckets = Map<number, Counts>;

/** What one isolate sends in one flush for one agent: counts per release, under an id that makes a retry harmless. */
export interface Batch {
  id: string;
  releases: Record<string, Counts>;
}

export const secondOf = (ms: number): number => Math.floor(ms / 1000);

export const emptyCounts = (): Counts => ({ served: 0, failures: {} });

/** The entry under `key`, created with `make` when absent. */
export function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

/** Adds `add` into `into` (mutating `into`, which the caller owns). */
export function addCounts(into: Counts, add: Counts): Counts {
  into.served += add.served;
  for (const [cls, n] of Object.entries(add.failures)) into.failures[cls] = (into.failures[cls] ?? 0) + n;
  return into;
}

/** Adds counts that arrived at `now` to the bucket of that second. */
export function addToBuckets(buckets: Buckets, now: number, add: Counts): void {
  addCounts(entry(buckets, secondOf(now), emptyCounts), add);
}

/**
 * The seconds a trigger looks at: its window ending now, cut short after `since` (the moment its action was
 * last taken) so that the failures that caused one action can never cause a second one. The second in which
 * the action was taken is left out whole: conservative, it never counts a failure from before the action.
 */
export interface Span {
  /** Exclusive: the span holds the seconds s with from < s <= to. */
  from: number;
  to: number;
}

export function spanOf(now: number, windowSeconds: number, since: number | null): Span {
  const to = secondOf(now);
  const from = to - windowSeconds;
  return { from: since === null ? from : Math.max(from, secondOf(since)), to };
}

/** The sum of the buckets in a span. */
export function sumSpan(buckets: Buckets | undefined, span: Span): Counts {
  const sum = emptyCounts();
  if (buckets === undefined) return sum;
  for (const [second, counts] of buckets) if (second > span.from && second <= span.to) addCounts(sum, counts);
  return sum;
}

/** Drops the buckets of seconds at or before `second`; returns how many were dropped. */
export function pruneBuckets(buckets: Buckets, second: number): number {
  let dropped = 0;
  for (const s of buckets.keys()) {
    if (s <= second) {
      buckets.delete(s);
      dropped++;
    }
  }
  return dropped;
}

/** Failure rate of one class: failures / served; 0 when nothing was served and nothing failed. */
export function rateOf(counts: Counts, failureClass: string): number {
  const failed = counts.failures[failureClass] ?? 0;
  if (counts.served === 0) return failed === 0 ? 0 : Number.POSITIVE_INFINITY;
  return failed / counts.served;
}

/** Every class's rate, for the health view. */
export function ratesOf(counts: Counts): Record<string, number | null> {
  const rates: Record<string, number | null> = {};
  for (const cls of Object.keys(counts.failures)) {
    const r = rateOf(counts, cls);
    rates[cls] = Number.isFinite(r) ? r : null;
  }
  return rates;
}
