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
 * answering `published: false`. An instance that finds KV in the format-1 layout (meta `layout` below 2)
 * republishes in the current one the same way (migration, docs/storage.md).
 *
 * What is published (format 3): a root per revision naming 256 shards by digest, and manifests stored once
 * under their digest (publication.ts, kv-publisher.ts). The freshness path (`sync`) answers an isolate with the
 * root and, when it knows what the isolate's revision named, the values it lacks, so a flip is one round trip.
 */
import { DurableObject } from "cloudflare:workers";
import { apply, expiredAt } from "../control/apply";
import type { Command } from "../control/commands";
import type { ControlState, Refusal, StoredRelease } from "../control/model";
import { type Actor, EXPIRY } from "../control/roles";
import { agentSnapshot, buildPublication, type Publication } from "../control/snapshot";
import { concerns } from "../control/timeline";
import type { Bindings } from "../env";
import { digestOf } from "../release/digest";
import type { Manifest } from "../release/schema";
import type { Snapshot as AgentSnapshot } from "../routing/snapshot-legacy";
import { alarmTime, type Clock, systemClock } from "./clock";
import type { SyncAnswer } from "./control-source";
import { type AuditEntry, ControlStore, type ReleaseSummary } from "./control-store";
import { KvPublisher, type KvWriter as PublisherWriter } from "./kv-publisher";
import { type Rendered, render } from "./publication";

/** What callers send: the DO adds the digest of a release and the id of an override itself. */
export type CommandInput =
  | Exclude<Command, { kind: "release.put" | "override.add" | "override.expire" }>
  | { kind: "release.put"; agent: string; version: string; manifest: Manifest; reason?: string }
  | Omit<Extract<Command, { kind: "override.add" }>, "id">;

export interface Mutated {
  ok: true;
  revision: number;
  changed: boolean;
  /** Whether KV already holds this revision when the call returns (else an alarm keeps retrying). */
  published: boolean;
  result: Record<string, unknown>;
}

/** What tests may put in place of the KV binding's writes; a missing `delete` uses the binding's. */
export type KvWriter = Pick<KVNamespace, "put"> & Partial<Pick<KVNamespace, "delete">>;

const MIN_PUBLISH_GAP_MS = 1000;
const MAX_RETRY_MS = 30_000;
/** How long a mutation waits for its KV publish before answering `published: false` (the alarm finishes it). */
export const PUBLISH_WAIT_MS = 2000;

/** The KV layout this code publishes (meta `layout`); format-1 state predates the key. */
const LAYOUT = 3;
/** Revisions whose named keys are remembered, so `sync` can send an isolate only what it lacks. */
const RECENT = 4;
/** A `sync` or `blobs` answer carries at most this many bytes of values (far inside the RPC limit of 32 MiB). */
export const RPC_BLOB_BYTES = 8 * 2 ** 20;

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
  /** Protected so the tests' subclass (test/worker.ts) can put a faulty KV writer in front of it. */
  protected publisher: KvPublisher;
  private publishing: Promise<void> | null = null;
  private lastPublishAt = 0;
  private failures = 0;
  private renderMemo: { revision: number; rendered: Promise<Rendered> } | null = null;
  /** The last publication built: shards whose inputs did not change are reused from it. */
  private lastPublication: Publication | null = null;
  /** Recent revisions as rendered, for `sync` (what an isolate's revision named) and their shards. */
  private readonly recent = new Map<number, Rendered>();

  /** `clock` decides what time a change is made at (audit, plans, override expiry); publishing runs on real time. */
  constructor(
    ctx: DurableObjectState,
    env: Bindings,
    private readonly clock: Clock = systemClock,
  ) {
    super(ctx, env);
    this.store = new ControlStore(ctx.storage.sql);
    this.state = this.store.load();
    this.publisher = this.newPublisher(env.STATE);
    // State committed but not yet in KV: the previous instance was reset or evicted mid-publish (its in-memory
    // retry is gone). Publish from an alarm rather than wait for the next mutation. Any call wakes the new
    // instance; with the default freshness path every isolate's sync() does, within a second. A second later,
    // not now: KV takes one write a second per key, and the predecessor's last put may still be landing.
    if (this.publishedRevision() < this.state.revision || this.kvLayoutBehind()) {
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
      if (expiry !== null) await this.armAlarm(alarmTime(this.clock, expiry));
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
    const now = this.clock();
    const out = apply(this.state, command, {
      now,
      actor,
      release: (a, v) => this.store.release(a, v),
      releaseCount: (a) => this.store.releaseCount(a),
      storedBytes: () => this.store.storedBytes(),
    });
    if (!out.ok) return out;
    if (out.changed && out.audit !== null) {
      const at = new Date(now).toISOString();
      const audit = { ...out.audit, at, actor: actor.name, role: actor.role, revision: out.state.revision };
      this.ctx.storage.transactionSync(() => this.store.commit(out.effects, audit, actor.name, at));
      this.state = out.state;
    }
    return { ok: true, revision: this.state.revision, changed: out.changed, result: out.result };
  }

  /**
   * Removes expired overrides (audited as `expiry`), publishes what is pending, deletes KV keys unnamed for
   * long enough, and re-arms for the next expiry or collection.
   */
  override async alarm(): Promise<void> {
    const expired = expiredAt(this.state, this.clock());
    if (expired.length > 0) this.commit({ kind: "override.expire", ids: expired }, EXPIRY);
    await this.publish();
    if (this.publishing === null) {
      // Never beside a write: a key being named again must not be deleted under it.
      this.publishing = this.publisher.collect().then(
        () => undefined,
        (err: unknown) => console.error(JSON.stringify({ msg: "kv collection failed", error: String(err) })),
      );
      await this.publishing.finally(() => {
        this.publishing = null;
      });
    }
    const expiry = this.store.nextExpiry();
    for (const next of [expiry === null ? null : alarmTime(this.clock, expiry), this.publisher.nextCollection()])
      if (next !== null) await this.armAlarm(next);
  }

  private publishedRevision(): number {
    return this.kvLayoutBehind() ? 0 : this.store.meta("published");
  }

  private kvLayoutBehind(): boolean {
    return this.state.revision > 0 && this.store.meta("layout") < LAYOUT;
  }

  protected newPublisher(kv: PublisherWriter): KvPublisher {
    return new KvPublisher({
      sql: this.ctx.storage.sql,
      kv,
      now: Date.now,
      manifestText: (digest) => this.store.manifestText(digest),
    });
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
    let revision = this.state.revision;
    try {
      const rendered = await this.rendered();
      revision = rendered.revision;
      await this.publisher.publish(rendered, this.kvLayoutBehind());
      this.lastPublishAt = Date.now();
      this.failures = 0;
      this.store.setMeta("layout", LAYOUT);
      if (revision > this.store.meta("published")) this.store.setMeta("published", revision);
      const collectAt = this.publisher.nextCollection();
      if (collectAt !== null) await this.armAlarm(collectAt);
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

  /** The current state as stored values (what KV holds once published), rendered once per revision. */
  private rendered(): Promise<Rendered> {
    const revision = this.state.revision;
    if (this.renderMemo?.revision !== revision) {
      const digest = (a: string, v: string) => this.store.digest(a, v);
      const publication = buildPublication(this.state, digest, this.clock(), this.lastPublication ?? undefined);
      this.lastPublication = publication;
      const rendered = render(publication);
      this.renderMemo = { revision, rendered };
      void rendered.then((r) => {
        this.recent.set(r.revision, r);
        for (const old of this.recent.keys()) if (this.recent.size > RECENT) this.recent.delete(old);
      });
    }
    return this.renderMemo.rendered;
  }

  /** The current root as JSON text (the freshness path's payload). */
  async snapshotText(): Promise<{ revision: number; text: string }> {
    const r = await this.rendered();
    return { revision: r.revision, text: r.rootText };
  }

  /**
   * The freshness path's one call: the committed revision, and its root when the caller holds an older one
   * (`have`, null when cold). When this instance remembers what `have` named, the values named now and not then
   * come along (bounded), so a flip reaches an isolate in one round trip.
   */
  async sync(have: number | null): Promise<SyncAnswer> {
    const revision = this.state.revision;
    if (revision === 0 || (have !== null && have >= revision)) return { revision };
    const r = await this.rendered();
    const before = have === null ? undefined : this.recent.get(have)?.named;
    if (before === undefined) return { revision: r.revision, text: r.rootText };
    const added = [...r.named].filter((k) => !before.has(k) && k !== r.rootKey);
    return { revision: r.revision, text: r.rootText, blobs: this.blobTexts(r, added) };
  }

  /** Stored values by key (shards of recent revisions, manifests), at most RPC_BLOB_BYTES; unknown keys left out. */
  async blobs(keys: string[]): Promise<Record<string, string>> {
    return this.blobTexts(await this.rendered(), keys);
  }

  private blobTexts(r: Rendered, keys: readonly string[]): Record<string, string> {
    const out: Record<string, string> = {};
    let bytes = 0;
    for (const key of keys) {
      const text =
        r.shards.get(key) ??
        (key.startsWith("release:") ? this.store.manifestText(key.slice(8)) : null) ??
        this.olderShard(key);
      if (text === null) continue;
      if (bytes > 0 && bytes + text.length > RPC_BLOB_BYTES) break;
      out[key] = text;
      bytes += text.length;
    }
    return out;
  }

  /** A shard of an older remembered revision (an isolate that read an older root from a shared cache). */
  private olderShard(key: string): string | null {
    for (const r of this.recent.values()) {
      const text = r.shards.get(key);
      if (text !== undefined) return text;
    }
    return null;
  }

  /** For `explain`: one agent's pointers and live manifests, with the overrides in force, as one value. */
  agentSnapshot(agent: string): AgentSnapshot {
    return agentSnapshot(this.state, agent, (a, v) => this.store.release(a, v), this.clock());
  }

  head(): { revision: number; publishedRevision: number } {
    return { revision: this.state.revision, publishedRevision: this.publishedRevision() };
  }

  current(): ControlState & { publishedRevision: number } {
    const now = this.clock();
    const overrides = this.state.overrides.filter((o) => o.expiresAt === undefined || Date.parse(o.expiresAt) > now);
    return { ...this.state, overrides, publishedRevision: this.publishedRevision() };
  }

  releases(agent: string): ReleaseSummary[] | null {
    return !Object.hasOwn(this.state.agents, agent) ? null : this.store.releases(agent);
  }

  release(agent: string, version: string): StoredRelease | null {
    return this.store.release(agent, version);
  }

  audit(query: { agent?: string; agents?: readonly string[]; limit: number; before?: number }): AuditEntry[] {
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
}
