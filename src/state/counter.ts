/**
 * The isolate's side of counting (CONTRACT §2.3): requests served and failures by class, per agent and
 * release, accumulated in memory and sent to the agent's guard in batches — at most one call per agent per
 * second per isolate, never one per request (docs/guard.md).
 *
 * A flush runs inside the `waitUntil` of the request that started it, a second after the previous flush, so
 * counts leave within about a second even when traffic stops. A batch whose call failed is kept and sent again
 * with the same id, which the guard counts once, whether or not the first call had landed.
 */

import type { Bindings } from "../env";
import { FailureClass } from "../release/schema";
import { type Batch, type Counts, emptyCounts, entry } from "../rollout/window";
import type { Decision } from "../routing/decide";
import { guardOf } from "./guard-object";

export interface CounterOptions {
  send: (agent: string, batches: Batch[]) => Promise<unknown>;
  now: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** The least time between two flushes (default 1000 ms). */
  intervalMs?: number;
  isolateId?: string;
}

/** A flush whose call takes longer than this is counted as failed; its batches are kept and sent again. */
const SEND_TIMEOUT_MS = 5000;
/** Failed batches kept per agent (about this many seconds of an unreachable guard); older ones are dropped. */
const MAX_HELD_BATCHES = 30;
/** Distinct failure classes per release per batch: a misbehaving upstream cannot grow the guard's tables. */
const MAX_CLASSES = 32;
/** Flushes one waitUntil runs back to back before it lets the next request start another. */
const MAX_LINKS = 3;
/** A flush loop not finished after this long is presumed cancelled with its request; another may start. */
const STUCK_MS = 25_000;

/** A flush loop, running inside the `waitUntil` of the request that started it. */
interface Run {
  since: number;
  done: Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Counter {
  private pending = new Map<string, Map<string, Counts>>();
  private readonly held = new Map<string, Batch[]>();
  private readonly isolateId: string;
  private seq = 0;
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  private running: Run | null = null;

  constructor(private readonly opts: CounterOptions) {
    this.isolateId = opts.isolateId ?? crypto.randomUUID();
  }

  /**
   * Counts one request (`served`), or only failures found after its answer began (`served` false: a body cut
   * short, calls withheld from a stream); `background` receives the flush when this call starts one.
   */
  record(
    agent: string,
    release: string,
    failures: readonly string[],
    background: (p: Promise<unknown>) => void,
    served = true,
  ) {
    const c = entry(
      entry(this.pending, agent, () => new Map<string, Counts>()),
      release,
      emptyCounts,
    );
    if (served) c.served++;
    for (const cls of failures) {
      if (c.failures[cls] !== undefined || Object.keys(c.failures).length < MAX_CLASSES) {
        c.failures[cls] = (c.failures[cls] ?? 0) + 1;
      }
    }
    const now = this.opts.now();
    if (this.running !== null && now - this.running.since < STUCK_MS) return;
    const run: Run = { since: now, done: Promise.resolve() };
    this.running = run;
    run.done = this.loop(run);
    background(run.done);
  }

  /** Sends what is pending now (tests; and the loop's one step). Never throws. */
  async flush(): Promise<void> {
    this.lastFlushAt = this.opts.now();
    const taken = this.pending;
    this.pending = new Map();
    const agents = new Set([...taken.keys(), ...this.held.keys()]);
    await Promise.all([...agents].map((agent) => this.flushAgent(agent, taken.get(agent))));
  }

  private async loop(run: Run): Promise<void> {
    const sleep = this.opts.sleep ?? defaultSleep;
    try {
      for (let link = 1; ; link++) {
        const wait = this.lastFlushAt + (this.opts.intervalMs ?? 1000) - this.opts.now();
        if (wait > 0) await sleep(wait);
        // Before the last flush of this loop, let the next request start one of its own: counts that arrive
        // while this flush is on the wire must not wait for a request that may never come.
        if (link === MAX_LINKS && this.running === run) this.running = null;
        await this.flush();
        if (link === MAX_LINKS || (this.pending.size === 0 && this.held.size === 0)) return;
      }
    } finally {
      if (this.running === run) this.running = null;
    }
  }

  private async flushAgent(agent: string, fresh: Map<string, Counts> | undefined): Promise<void> {
    const batches = this.held.get(agent) ?? [];
    this.held.delete(agent);
    if (fresh !== undefined)
      batches.push({ id: `${this.isolateId}:${++this.seq}`, releases: Object.fromEntries(fresh) });
    if (batches.length === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        this.opts.send(agent, batches),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${SEND_TIMEOUT_MS} ms`)), SEND_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      // Merged, not replaced: an overlapping flush may have held batches of its own meanwhile.
      const all = [...batches, ...(this.held.get(agent) ?? [])];
      const keep = all.slice(-MAX_HELD_BATCHES);
      this.held.set(agent, keep);
      const dropped = all.length - keep.length;
      console.error(
        JSON.stringify({ msg: "guard flush failed", agent, held: keep.length, dropped, error: String(err) }),
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

let counter: Counter | null = null;

/** A request's failure classes: none, one, or several (e.g. the upstream's own class and `tool_blocked`). */
export type Failure = string | null | readonly (string | null)[];

/** Failure classes as counted: lower-cased, valid names only (a header is untrusted input), each once. */
export function failureClasses(failure: Failure): string[] {
  if (failure === null) return [];
  const out = new Set<string>();
  for (const item of typeof failure === "string" ? [failure] : failure) {
    if (item === null) continue;
    // A header may name several classes as a list (RFC 9110 §5.6.1), as answeredFailure does for a 5xx.
    for (const raw of item.split(",", MAX_CLASSES)) {
      const cls = raw.trim().toLowerCase();
      if (FailureClass.safeParse(cls).success) out.add(cls);
      else console.warn(JSON.stringify({ msg: "failure class ignored: not a valid name", value: raw.slice(0, 100) }));
    }
  }
  return [...out];
}

/**
 * Counts the outcome of one data-plane request for its release: served, with its failure classes (§2.3).
 * Requests that reached no release's upstream (no decision, mode `off`) are not counted: they say nothing
 * about the release and would only thin out its rates.
 */
export function recordOutcome(
  env: Bindings,
  ctx: { waitUntil(p: Promise<unknown>): void },
  decision: Decision | null,
  failure: Failure,
): void {
  record(env, ctx, decision, failure, true);
}

/**
 * Counts failures of a request already counted by `recordOutcome`, found after its status was sent: a body the
 * upstream cut short, or tool calls withheld from a stream. The request is not counted as served again.
 */
export function recordLateFailure(
  env: Bindings,
  ctx: { waitUntil(p: Promise<unknown>): void },
  decision: Decision | null,
  failure: Failure,
): void {
  const classes = failureClasses(failure);
  if (classes.length > 0) record(env, ctx, decision, classes, false);
}

function record(
  env: Bindings,
  ctx: { waitUntil(p: Promise<unknown>): void },
  decision: Decision | null,
  failure: Failure,
  served: boolean,
): void {
  if (decision === null || decision.kind === "off" || decision.kind === "failsafe") return;
  counter ??= new Counter({ send: (agent, batches) => guardOf(env, agent).record(agent, batches), now: Date.now });
  counter.record(decision.agent, decision.release.version, failureClasses(failure), (p) => ctx.waitUntil(p), served);
}

/** This isolate's counter (tests: flush it, or forget it for a cold start). */
export const isolateCounter = (): Counter | null => counter;
export function resetCounterForTests(): void {
  counter = null;
}
