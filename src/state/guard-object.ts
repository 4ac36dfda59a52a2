/**
 * The guard Durable Object (CONTRACT §4.4, docs/guard.md): one instance per agent, named by the agent. It keeps
 * per-second counts per release from the isolates' batches and the operators' signals, evaluates the
 * `rollout.triggers` of the agent's live releases against them after every batch and from an alarm, and applies
 * a breached trigger's action through the control plane's `mutate` as the actor `guard` — the same path as an
 * operator's change, so it is validated, audited and published like one.
 *
 * It also runs the canary's release plan (docs/plans.md): the pure core (rollout/plan.ts) says whether the next
 * step is due; the guard sends that move through the same `mutate`, and only schedules an alarm for when a hold
 * ends. Trigger actions come first: a step is never taken while a trigger of the canary is breached.
 *
 * Counting is committed before anything is evaluated; evaluation is single-flight (batches arriving meanwhile
 * mark it dirty and it runs once more). Each command is decided on a view of the control plane read at a known
 * revision and sent with If-Match, so it never lands on a state it was not decided on.
 */
import { DurableObject } from "cloudflare:workers";
import { GUARD } from "../control/roles";
import type { Bindings } from "../env";
import { moveReason, type PlanView, viewRun } from "../rollout/plan";
import {
  evaluate,
  longestWindow,
  type Marker,
  type Planned,
  REFUSAL_RETRY_MS,
  type TriggerStatus,
} from "../rollout/triggers";
import { addToBuckets, type Batch, type Buckets, entry, pruneBuckets, secondOf } from "../rollout/window";
import { alarmTime, type Clock, systemClock } from "./clock";
import { type GuardHealth, type GuardHistory, healthOf, historyOf } from "./guard-health";
import { GuardStore, markerKey } from "./guard-store";
import { type AgentView, type ControlRpc, type ReleaseMemo, readView } from "./guard-view";

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
/** An alarm for a plan's hold is never set nearer than this (a hold that ended a moment ago is evaluated now). */
const MIN_ALARM_MS = 50;

/** What one evaluation decided to send: a trigger's action, or the plan's next move. */
type Decision =
  | { kind: "trigger"; view: AgentView; now: number; next: Planned }
  | { kind: "plan"; view: AgentView; now: number; plan: PlanView };

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
  private view: AgentView | null = null;
  private viewAt = 0;
  private evaluating: Promise<void> | null = null;
  private dirty = false;
  /** The runtime time of the alarm this instance set (undefined: not known yet, read it from storage). */
  private alarmAt: number | null | undefined = undefined;
  private lastPrune = 0;
  /** A plan move the control plane refused (e.g. the promotion's readiness gate): not retried every second. */
  private planRefusedAt: { key: string; at: number } | null = null;
  private agent: string | null = null;

  constructor(
    ctx: DurableObjectState,
    env: Bindings,
    private readonly clock: Clock = systemClock,
  ) {
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
    const plan = this.planOf(view, statuses, now);
    return healthOf(view, statuses, [...this.markers.values()], this.store.recentSignals(20), now, plan);
  }

  /** The canary's plan now: its step, since when, when the next move is due and what it waits for. Never acts. */
  async plan(agent: string): Promise<PlanView | null> {
    const view = await this.readView(agent, false);
    if (view === null) return null;
    const now = this.clock();
    return this.planOf(view, evaluate(this.input(view, now)).statuses, now);
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
    this.alarmAt = null;
    const agent = this.store.meta("agent");
    if (agent === null) return;
    await this.evaluate(agent);
    const now = this.clock();
    this.prune(now);
    const horizon = secondOf(now) - Math.max(1, this.view ? longestWindow(this.view) : MIN_RETENTION_S);
    const recent = [...this.buckets.values()].some((b) => [...b.keys()].some((s) => s > horizon));
    if (recent) await this.armAlarm();
  }

  private async step(agent: string): Promise<void> {
    for (let i = 0; i < MAX_STEPS; i++) {
      // What the held view calls for is decided again on the control plane's current state, and sent for exactly
      // that revision (If-Match).
      if ((await this.decide(agent, false)) === null) return;
      const fresh = await this.decide(agent, true);
      if (fresh === null) return;
      if (fresh.kind === "plan") {
        await this.movePlan(agent, fresh.view, fresh.plan, fresh.now);
        continue;
      }
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

  /** The plan's next move, as `plan step N` by `guard`, named by the step it leaves and sent with If-Match. */
  private async movePlan(agent: string, view: AgentView, plan: PlanView, now: number): Promise<void> {
    const from = plan.step - 1;
    const command = { kind: "plan.advance" as const, agent, version: plan.version, from, reason: moveReason(plan) };
    const out = await this.control().mutate(command, GUARD, view.revision);
    this.view = null;
    // 412 (the state moved) and 409 plan_moved (a person paused or changed it, or this move landed already) need
    // no more than a fresh look: the next round decides on the state as it now is.
    if (out.ok || out.status === 412 || out.code === "plan_moved") {
      if (out.ok)
        console.log(JSON.stringify({ msg: "plan moved", agent, revision: out.revision, reason: command.reason }));
      return;
    }
    this.planRefusedAt = { key: `${plan.version}#${from}`, at: now };
    console.error(JSON.stringify({ msg: "plan move refused", agent, code: out.code, message: out.message }));
  }

  /**
   * Evaluates on the held view (or a fresh one); records effects seen gone; returns what to send first: a
   * trigger's action before any plan move. When the plan waits only for its hold to end, arms the alarm for then.
   */
  private async decide(agent: string, fresh: boolean): Promise<Decision | null> {
    const view = await this.readView(agent, fresh);
    if (view === null) return null;
    const now = this.clock();
    const { planned, ended, statuses } = evaluate(this.input(view, now));
    for (const e of ended) {
      this.saveMarker({ ...(this.markers.get(markerKey(e.release, e.trigger)) as Marker), endedAt: now });
    }
    const next = planned[0];
    if (next !== undefined) return { kind: "trigger", view, now, next };
    const plan = this.planOf(view, statuses, now);
    if (plan === null || plan.dueAt === null || plan.status !== "running") return null;
    const refused = this.planRefusedAt;
    const retryLater = refused?.key === `${plan.version}#${plan.step - 1}` && now - refused.at < REFUSAL_RETRY_MS;
    if (plan.due && !retryLater) return { kind: "plan", view, now, plan };
    await this.wakeAt(
      alarmTime(this.clock, retryLater ? refused.at + REFUSAL_RETRY_MS : Date.parse(plan.dueAt), MIN_ALARM_MS),
    );
    return null;
  }

  private planOf(view: AgentView, statuses: readonly TriggerStatus[], now: number): PlanView | null {
    return view.plan === null ? null : viewRun(view.plan, this.buckets.get(view.plan.state.version), statuses, now);
  }

  private saveMarker(m: Marker): void {
    this.store.putMarker(m);
    this.markers.set(markerKey(m.release, m.trigger), m);
  }

  private input(view: AgentView, now: number) {
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
  private async readView(agent: string, fresh: boolean): Promise<AgentView | null> {
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
    // Kept as long as the longest window, and as long as the plan's step has run: a step counts all its requests.
    const plan = this.view?.plan ?? null;
    const stepAge = plan === null ? 0 : Math.ceil((now - Date.parse(plan.state.since)) / 1000) + 1;
    const keep = this.view === null ? 86_400 : Math.max(MIN_RETENTION_S, longestWindow(this.view), stepAge);
    const before = secondOf(now) - keep;
    this.store.prune(before, now - BATCH_ID_RETENTION_MS);
    for (const [release, b] of this.buckets) {
      pruneBuckets(b, before);
      if (b.size === 0) this.buckets.delete(release);
    }
  }

  /** While counts are recent: wake in ALARM_MS, unless an alarm is set sooner. */
  private armAlarm(): Promise<void> {
    return this.wakeAt(Date.now() + ALARM_MS);
  }

  /** One alarm per object: the earliest wake-up wanted wins (runtime time; see clock.ts). */
  private async wakeAt(at: number): Promise<void> {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }
}

/** The guard of one agent. */
export const guardOf = (env: Bindings, agent: string): DurableObjectStub<Guard> =>
  env.GUARD.get(env.GUARD.idFromName(agent));
