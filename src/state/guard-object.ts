/**
 * The guard Durable Object (CONTRACT §4.4, docs/guard.md): one instance per agent, named by the agent. It keeps
 * per-second counts per release from the isolates' batches and the operators' signals, evaluates the
 * `rollout.triggers` of the agent's live releases against them after every batch and from an alarm, and applies
 * a breached trigger's action through the control plane's `mutate` as the actor `guard` — the same path as an
 * operator's change, so it is validated, audited and published like one.
 *
 * Counting is committed before anything is evaluated; evaluation is single-flight (batches arriving meanwhile
 * mark it dirty and it runs once more). Each command is decided on a view of the control plane read at a known
 * revision and sent with If-Match, so it never lands on a state it was not decided on.
 */
import { DurableObject } from "cloudflare:workers";
import { GUARD } from "../control/roles";
import type { Bindings } from "../env";
import { evaluate, type GuardView, longestWindow, type Marker, type Planned } from "../rollout/triggers";
import { addToBuckets, type Batch, type Buckets, entry, pruneBuckets, secondOf } from "../rollout/window";
import { type GuardHealth, type GuardHistory, healthOf, historyOf } from "./guard-health";
import { GuardStore, markerKey } from "./guard-store";
import { type ControlRpc, type ReleaseMemo, readView } from "./guard-view";

/** While counts are in some live window, triggers are re-evaluated this often even without new batches. */
const ALARM_MS = 2000;
const PRUNE_EVERY_MS = 60_000;
/** Buckets are kept at least this long, and as long as the longest live trigger window. */
const MIN_RETENTION_S = 600;
/** Batch ids are remembered this long: far longer than an isolate keeps retrying a batch. */
const BATCH_ID_RETENTION_MS = 15 * 60_000;
/** How long a view of the control plane is used before it is read again (a command always re-reads it). */
const VIEW_TTL_MS = 1000;
/** Commands per evaluation, at most (each one is re-decided on a fresh view; a 412 costs one). */
const MAX_STEPS = 8;

export interface SignalInput {
  release: string;
  failureClass: string;
  count: number;
  reason: string;
  actor: string;
}

export class Guard extends DurableObject<Bindings> {
  private readonly store: GuardStore;
  private readonly buckets: Map<string, Buckets>;
  private readonly markers: Map<string, Marker>;
  private readonly releases: ReleaseMemo = new Map();
  private view: GuardView | null = null;
  private viewAt = 0;
  private evaluating: Promise<void> | null = null;
  private dirty = false;
  private alarmArmed = false;
  private lastPrune = 0;
  private clock: () => number = Date.now;
  private agent: string | null = null;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.store = new GuardStore(ctx.storage.sql);
    this.buckets = this.store.loadBuckets();
    this.markers = this.store.loadMarkers();
  }

  /** Counts the isolates' batches (once each, whatever the retries), then evaluates the triggers. */
  async record(agent: string, batches: Batch[]): Promise<{ accepted: number; duplicates: number }> {
    this.remember(agent);
    const now = this.clock();
    const { counted, duplicates } = this.ctx.storage.transactionSync(() => this.store.addBatches(batches, now));
    for (const [release, c] of counted) addToBuckets(this.bucketsOf(release), now, c);
    this.prune(now);
    await this.armAlarm();
    await this.evaluate(agent);
    return { accepted: batches.length - duplicates, duplicates };
  }

  /** An operator's report of failures (POST /admin/v1/signals): counted like any failure, then evaluated. */
  async signal(agent: string, s: SignalInput): Promise<{ at: string }> {
    this.remember(agent);
    const at = this.clock();
    this.ctx.storage.transactionSync(() => this.store.addSignal({ ...s, at }));
    addToBuckets(this.bucketsOf(s.release), at, { served: 0, failures: { [s.failureClass]: s.count } });
    console.log(JSON.stringify({ msg: "guard signal", agent, ...s }));
    await this.armAlarm();
    await this.evaluate(agent);
    return { at: new Date(at).toISOString() };
  }

  /** Per live release, each trigger's counts, rates and state; null for an unknown agent. Never acts. */
  async health(agent: string): Promise<GuardHealth | null> {
    const view = await this.readView(agent, false);
    if (view === null) return null;
    const now = this.clock();
    const { statuses } = evaluate(this.input(view, now));
    return healthOf(view, statuses, [...this.markers.values()], this.store.recentSignals(20), now);
  }

  /** Counts per second from `fromMs` on, by release, with the guard's markers (the timeline, the chart). */
  async history(agent: string, fromMs: number): Promise<GuardHistory | null> {
    const view = await this.readView(agent, false);
    if (view === null) return null;
    const triggersOf = (release: string) => this.releases.get(release)?.triggers ?? [];
    return historyOf(view, this.buckets, triggersOf, [...this.markers.values()], secondOf(fromMs), this.clock());
  }

  /** Runs the evaluation now and waits for it (the alarm's work; tests call it directly). */
  async evaluate(agent: string): Promise<void> {
    this.dirty = true;
    if (this.evaluating === null) {
      this.evaluating = (async () => {
        while (this.dirty) {
          this.dirty = false;
          try {
            await this.step(agent);
          } catch (err) {
            // The control plane was unreachable or failed: the alarm tries again in a moment.
            console.error(JSON.stringify({ msg: "guard evaluation failed", agent, error: String(err) }));
          }
        }
      })().finally(() => {
        this.evaluating = null;
      });
    }
    return this.evaluating;
  }

  override async alarm(): Promise<void> {
    this.alarmArmed = false;
    const agent = this.store.meta("agent");
    if (agent === null) return;
    await this.evaluate(agent);
    const now = this.clock();
    this.prune(now);
    const horizon = secondOf(now) - Math.max(1, this.view ? longestWindow(this.view) : MIN_RETENTION_S);
    const recent = [...this.buckets.values()].some((b) => [...b.keys()].some((s) => s > horizon));
    if (recent) await this.armAlarm();
  }

  /** Tests only: drive the guard's clock (counting, windows and markers); null restores the real one. */
  useClockForTests(clock: (() => number) | null): void {
    this.clock = clock ?? Date.now;
  }

  private async step(agent: string): Promise<void> {
    for (let i = 0; i < MAX_STEPS; i++) {
      // A breach seen on the held view is decided again on the control plane's current state, and the command
      // is sent for exactly that revision (If-Match).
      if ((await this.plan(agent, false)) === null) return;
      const fresh = await this.plan(agent, true);
      if (fresh === null) return;
      const { view, now, next } = fresh;
      const out = await this.control().mutate(next.command, GUARD, view.revision);
      this.view = null; // whatever happened, the next decision is made on a fresh view
      if (!out.ok && out.status === 412) continue;
      const marker: Marker = {
        release: next.release,
        trigger: next.trigger,
        at: now,
        command: next.command.kind,
        outcome: out.ok ? "acted" : "refused",
        overrideId: out.ok && typeof out.result.id === "string" ? out.result.id : null,
        revision: out.ok ? out.revision : null,
        detail: out.ok ? next.command.reason : `${out.code}: ${out.message}`,
        endedAt: null,
      };
      this.saveMarker(marker);
      console.log(JSON.stringify({ msg: out.ok ? "guard acted" : "guard refused", agent, ...marker }));
    }
  }

  /** Evaluates on the held view (or a fresh one); records effects seen gone; returns the first command to send. */
  private async plan(agent: string, fresh: boolean): Promise<{ view: GuardView; now: number; next: Planned } | null> {
    const view = await this.readView(agent, fresh);
    if (view === null) return null;
    const now = this.clock();
    const { planned, ended } = evaluate(this.input(view, now));
    for (const e of ended) {
      this.saveMarker({ ...(this.markers.get(markerKey(e.release, e.trigger)) as Marker), endedAt: now });
    }
    const next = planned[0];
    return next === undefined ? null : { view, now, next };
  }

  private saveMarker(m: Marker): void {
    this.store.putMarker(m);
    this.markers.set(markerKey(m.release, m.trigger), m);
  }

  private input(view: GuardView, now: number) {
    return {
      view,
      now,
      buckets: (release: string) => this.buckets.get(release),
      marker: (release: string, index: number) => this.markers.get(markerKey(release, index)),
    };
  }

  /**
   * The control plane's state for this agent, re-read at most once per VIEW_TTL_MS (on the guard's clock) unless
   * `fresh`: with many isolates flushing, evaluations must not turn into as many calls to the one control plane.
   */
  private async readView(agent: string, fresh: boolean): Promise<GuardView | null> {
    const now = this.clock();
    if (!fresh && this.view?.agent === agent && Math.abs(now - this.viewAt) < VIEW_TTL_MS) return this.view;
    this.view = await readView(this.control(), agent, this.view, this.releases);
    this.viewAt = now;
    return this.view;
  }

  private control(): ControlRpc {
    return this.env.CONTROL.get(this.env.CONTROL.idFromName("global")) as unknown as ControlRpc;
  }

  private bucketsOf(release: string): Buckets {
    return entry(this.buckets, release, () => new Map());
  }

  /** The alarm has no caller to name the agent, so the first call's name is kept. */
  private remember(agent: string): void {
    if (this.agent === agent) return;
    if (this.store.meta("agent") === null) this.store.setMeta("agent", agent);
    this.agent = agent;
  }

  private prune(now: number): void {
    if (now - this.lastPrune < PRUNE_EVERY_MS && now >= this.lastPrune) return;
    this.lastPrune = now;
    const keep = this.view === null ? 86_400 : Math.max(MIN_RETENTION_S, longestWindow(this.view));
    const before = secondOf(now) - keep;
    this.store.prune(before, now - BATCH_ID_RETENTION_MS);
    for (const [release, b] of this.buckets) {
      pruneBuckets(b, before);
      if (b.size === 0) this.buckets.delete(release);
    }
  }

  /** Alarms run on the real clock, whatever clock the tests drive, so a test can never make them spin. */
  private async armAlarm(): Promise<void> {
    if (this.alarmArmed) return;
    this.alarmArmed = true;
    await this.ctx.storage.setAlarm(Date.now() + ALARM_MS);
  }
}

/** The guard of one agent. */
export const guardOf = (env: Bindings, agent: string): DurableObjectStub<Guard> =>
  env.GUARD.get(env.GUARD.idFromName(agent));
