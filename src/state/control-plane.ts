/**
 * The control-plane Durable Object: the one writer of the authoritative state (CONTRACT §4).
 *
 * A mutation is decided by the pure `apply` and committed with its audit entry in one SQLite transaction,
 * without yielding in between, so concurrent admin calls are serialized and none is lost. Only then is the
 * next snapshot published to KV. Publishing is single-flight, in revision order, at most once a second
 * (KV's write rate for one key), and retried from an alarm until it succeeds: a committed change is never
 * lost even when KV is failing, and an older revision never overwrites a newer one. An instance that starts
 * with SQLite ahead of KV (its predecessor was reset or evicted mid-publish) arms the alarm at once, so KV
 * catches up without waiting for the next mutation; and a mutation waits for KV at most PUBLISH_WAIT_MS before
 * answering `published: false`.
 */
import { DurableObject } from "cloudflare:workers";
import { apply, expiredAt } from "../control/apply";
import type { Command } from "../control/commands";
import type { ControlState, Refusal, StoredRelease } from "../control/model";
import { type Actor, EXPIRY } from "../control/roles";
import { buildSnapshot } from "../control/snapshot";
import { concerns } from "../control/timeline";
import type { Bindings } from "../env";
import { digestOf } from "../release/digest";
import type { Manifest } from "../release/schema";
import type { Snapshot } from "../routing/snapshot";
import type { SyncAnswer } from "./control-source";
import { type AuditEntry, ControlStore, type ReleaseSummary } from "./control-store";
import { HEAD_KEY, SNAPSHOT_TTL_SECONDS, snapshotKey } from "./kv-layout";

/** What callers send: the DO adds the digest of a release and the id of an override itself. */
export type CommandInput =
  | Exclude<Command, { kind: "release.put" | "override.add" | "override.expire" }>
  | { kind: "release.put"; agent: string; version: string; manifest: Manifest }
  | Omit<Extract<Command, { kind: "override.add" }>, "id">;

export interface Mutated {
  ok: true;
  revision: number;
  changed: boolean;
  /** Whether KV already holds this revision when the call returns (else an alarm keeps retrying). */
  published: boolean;
  result: Record<string, unknown>;
}

export type KvWriter = Pick<KVNamespace, "put">;

const MIN_PUBLISH_GAP_MS = 1000;
const MAX_RETRY_MS = 30_000;
/** How long a mutation waits for its KV publish before answering `published: false` (the alarm finishes it). */
export const PUBLISH_WAIT_MS = 2000;

/** The wait before the next attempt after `failures` failed ones in a row. */
const retryDelay = (failures: number): number => Math.min(MAX_RETRY_MS, 250 * 2 ** failures);

function newOverrideId(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return `ovr_${[...bytes].map((b) => alphabet[b % alphabet.length]).join("")}`;
}

export class ControlPlane extends DurableObject<Bindings> {
  private readonly store: ControlStore;
  private state: ControlState;
  private kv: KvWriter;
  private publishing: Promise<void> | null = null;
  private lastPublishAt = 0;
  private failures = 0;
  private snapshotMemo: Snapshot | null = null;
  private textMemo: { revision: number; text: string } | null = null;

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.store = new ControlStore(ctx.storage.sql);
    this.state = this.store.load();
    this.kv = env.STATE;
    // State committed but not yet in KV: the previous instance was reset or evicted mid-publish (its in-memory
    // retry is gone). Publish from an alarm rather than wait for the next mutation. Any call wakes the new
    // instance; with the default freshness path every isolate's sync() does, within a second. A second later,
    // not now: KV takes one write a second per key, and the predecessor's last put may still be landing.
    if (this.publishedRevision() < this.state.revision) {
      void ctx.blockConcurrencyWhile(() => this.armAlarm(Date.now() + MIN_PUBLISH_GAP_MS));
    }
  }

  async mutate(input: CommandInput, actor: Actor, ifMatch?: number): Promise<Mutated | Refusal> {
    // The only await before deciding: everything from the revision check to the commit runs without yielding.
    const command: Command =
      input.kind === "release.put"
        ? { ...input, digest: await digestOf(input.manifest) }
        : input.kind === "override.add"
          ? { ...input, id: newOverrideId() }
          : input;
    const done = this.commit(command, actor, ifMatch);
    if (!done.ok) return done;
    if (done.changed) {
      // An override with a ttl needs its own wake-up: the alarm may be idle (nothing to publish) or set later.
      const expiry = this.store.nextExpiry();
      if (expiry !== null) await this.armAlarm(expiry);
      await this.publishWithin(PUBLISH_WAIT_MS);
    }
    return { ...done, published: this.publishedRevision() >= done.revision };
  }

  private commit(command: Command, actor: Actor, ifMatch?: number): Omit<Mutated, "published"> | Refusal {
    if (ifMatch !== undefined && ifMatch !== this.state.revision) {
      return {
        ok: false,
        status: 412,
        code: "revision_mismatch",
        message: `If-Match names revision ${ifMatch}, the state is at ${this.state.revision}`,
        details: { revision: this.state.revision },
      };
    }
    const now = Date.now();
    const out = apply(this.state, command, { now, actor, release: (a, v) => this.store.release(a, v) });
    if (!out.ok) return out;
    if (out.changed && out.audit !== null) {
      const at = new Date(now).toISOString();
      const audit = { ...out.audit, at, actor: actor.name, role: actor.role, revision: out.state.revision };
      this.ctx.storage.transactionSync(() => this.store.commit(out.effects, audit, actor.name, at));
      this.state = out.state;
      this.snapshotMemo = null;
    }
    return { ok: true, revision: this.state.revision, changed: out.changed, result: out.result };
  }

  /** Removes expired overrides (audited as `expiry`), publishes what is pending, and re-arms for the next expiry. */
  override async alarm(): Promise<void> {
    const expired = expiredAt(this.state, Date.now());
    if (expired.length > 0) this.commit({ kind: "override.expire", ids: expired }, EXPIRY);
    await this.publish();
    const next = this.store.nextExpiry();
    if (next !== null) await this.armAlarm(next);
  }

  private publishedRevision(): number {
    return this.store.meta("published");
  }

  /**
   * Publishes, waiting at most `ms`: a KV put that hangs must not hold the admin call open. The write goes on
   * after the bound (a failure arms the retry alarm); should the object be evicted meanwhile, its successor
   * finds KV behind and arms the alarm itself (constructor).
   */
  private async publishWithin(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    try {
      await Promise.race([this.publish(), bound]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async publish(): Promise<void> {
    if (this.publishedRevision() >= this.state.revision) return;
    // In flight: its end re-arms for what it did not cover (write() below). Not `lastPublishAt + gap`, which may
    // be past: an alarm that fires at once and finds the write still in flight would spin.
    if (this.publishing !== null) return this.armAlarm(Date.now() + MIN_PUBLISH_GAP_MS);
    const wait = this.lastPublishAt + MIN_PUBLISH_GAP_MS - Date.now();
    if (wait > 0) return this.armAlarm(Date.now() + wait);
    this.publishing = this.write().finally(() => {
      this.publishing = null;
    });
    await this.publishing;
  }

  private async write(): Promise<void> {
    const snapshot = this.snapshot();
    const revision = snapshot.revision;
    try {
      const key = snapshotKey(revision);
      await this.kv.put(key, this.snapshotText().text, { expirationTtl: SNAPSHOT_TTL_SECONDS });
      await this.kv.put(HEAD_KEY, JSON.stringify({ revision, key, publishedAt: snapshot.publishedAt }));
      this.lastPublishAt = Date.now();
      this.failures = 0;
      if (revision > this.publishedRevision()) this.store.setMeta("published", revision);
      console.log(JSON.stringify({ msg: "published", revision }));
    } catch (err) {
      this.failures++;
      const retryIn = retryDelay(this.failures);
      console.error(JSON.stringify({ msg: "publish failed", revision, error: String(err), retryIn }));
      await this.armAlarm(Date.now() + retryIn);
      return;
    }
    if (this.state.revision > revision) await this.armAlarm(this.lastPublishAt + MIN_PUBLISH_GAP_MS);
  }

  private async armAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** The snapshot of the current state (what KV holds once published), built once per revision. */
  snapshot(): Snapshot {
    if (this.snapshotMemo === null || this.snapshotMemo.revision !== this.state.revision) {
      this.snapshotMemo = buildSnapshot(this.state, (a, v) => this.store.release(a, v), Date.now());
    }
    return this.snapshotMemo;
  }

  /** The current snapshot as JSON text, serialized once per revision (the freshness path's payload). */
  snapshotText(): { revision: number; text: string } {
    const snapshot = this.snapshot();
    if (this.textMemo?.revision !== snapshot.revision) {
      this.textMemo = { revision: snapshot.revision, text: JSON.stringify(snapshot) };
    }
    return this.textMemo;
  }

  /**
   * The freshness path's one call: the committed revision, and its snapshot when the caller holds an older
   * one (`have`, null when cold), so that a flip reaches an isolate in one round trip.
   */
  sync(have: number | null): SyncAnswer {
    const revision = this.state.revision;
    if (revision === 0 || (have !== null && have >= revision)) return { revision };
    return this.snapshotText();
  }

  head(): { revision: number; publishedRevision: number } {
    return { revision: this.state.revision, publishedRevision: this.publishedRevision() };
  }

  current(): ControlState & { publishedRevision: number } {
    const now = Date.now();
    const overrides = this.state.overrides.filter((o) => o.expiresAt === undefined || Date.parse(o.expiresAt) > now);
    return { ...this.state, overrides, publishedRevision: this.publishedRevision() };
  }

  releases(agent: string): ReleaseSummary[] | null {
    return !Object.hasOwn(this.state.agents, agent) ? null : this.store.releases(agent);
  }

  release(agent: string, version: string): StoredRelease | null {
    return this.store.release(agent, version);
  }

  audit(query: { agent?: string; limit: number; before?: number }): AuditEntry[] {
    return this.store.audit(query);
  }

  /**
   * Up to `limit` audit entries that concern the agent (its own and fleet-wide ones), from `since` on and after
   * `afterSeq`, oldest first.
   */
  auditSince(agent: string, since: string, afterSeq: number, limit: number): AuditEntry[] {
    const out: AuditEntry[] = [];
    for (;;) {
      const rows = this.store.auditSince(agent, since, afterSeq, 200);
      for (const row of rows) if (out.length < limit && concerns(row, agent)) out.push(row);
      const last = rows.at(-1);
      if (out.length >= limit || last === undefined) return out;
      afterSeq = last.seq;
    }
  }

  /** Tests only: replace the KV writer to inject publish failures. */
  useKvWriterForTests(kv: KvWriter | null): void {
    this.kv = kv ?? this.env.STATE;
  }
}
