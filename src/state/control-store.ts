/**
 * The control plane's SQLite tables inside its Durable Object (docs/storage.md). Synchronous by design:
 * a mutation reads, decides and writes without yielding, so two mutations can never interleave.
 */
import type { ControlState, Effect, StoredRelease } from "../control/model";
import type { AuditRecord } from "../control/timeline";
import { canonicalJson } from "../release/digest";
import type { Manifest } from "../release/schema";
import type { PlanState } from "../rollout/plan";
import type { Override } from "../routing/override";
import type { Pointers } from "../routing/snapshot";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS releases (
  agent TEXT NOT NULL, version TEXT NOT NULL, manifest TEXT NOT NULL, digest TEXT NOT NULL,
  created_at TEXT NOT NULL, created_by TEXT NOT NULL, ever_active INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (agent, version));
CREATE INDEX IF NOT EXISTS releases_by_digest ON releases (digest);
CREATE TABLE IF NOT EXISTS pointers (agent TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS overrides (id TEXT PRIMARY KEY, body TEXT NOT NULL, expires_at INTEGER);
CREATE TABLE IF NOT EXISTS plans (agent TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL,
  agent TEXT, reason TEXT NOT NULL, before TEXT, after TEXT, revision INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS audit_by_agent ON audit (agent, seq);
CREATE INDEX IF NOT EXISTS audit_by_at ON audit (at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

/** An audit row as stored; the shape is the pure core's (control/timeline.ts), declared once. */
export type AuditEntry = AuditRecord;

export interface ReleaseSummary {
  version: string;
  digest: string;
  createdAt: string;
  createdBy: string;
}

type Row = Record<string, SqlStorageValue>;
const json = (v: SqlStorageValue | undefined): unknown =>
  v === null || v === undefined ? null : JSON.parse(String(v));

const auditEntry = (r: Row): AuditEntry => ({
  seq: Number(r.seq),
  at: String(r.at),
  actor: String(r.actor),
  role: String(r.role),
  action: String(r.action),
  agent: r.agent === null ? null : String(r.agent),
  reason: String(r.reason),
  before: json(r.before),
  after: json(r.after),
  revision: Number(r.revision),
});

export class ControlStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
  }

  load(): ControlState {
    const agents: Record<string, Pointers> = {};
    for (const r of this.sql.exec<Row>("SELECT agent, body FROM pointers"))
      agents[String(r.agent)] = json(r.body) as Pointers;
    const overrides = [...this.sql.exec<Row>("SELECT body FROM overrides ORDER BY rowid")].map(
      (r) => json(r.body) as Override,
    );
    const plans: Record<string, PlanState> = {};
    for (const r of this.sql.exec<Row>("SELECT agent, body FROM plans"))
      plans[String(r.agent)] = json(r.body) as PlanState;
    return { revision: this.meta("revision"), agents, overrides, plans };
  }

  meta(key: string): number {
    const row = [...this.sql.exec<Row>("SELECT value FROM meta WHERE key = ?", key)][0];
    return row ? Number(row.value) : 0;
  }

  setMeta(key: string, value: number): void {
    this.sql.exec(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }

  release(agent: string, version: string): StoredRelease | null {
    const row = [...this.sql.exec<Row>("SELECT * FROM releases WHERE agent = ? AND version = ?", agent, version)][0];
    if (!row) return null;
    return {
      manifest: json(row.manifest) as Manifest,
      digest: String(row.digest),
      createdAt: String(row.created_at),
      createdBy: String(row.created_by),
      everActive: Number(row.ever_active) === 1,
    };
  }

  /** A release's manifest as canonical JSON (its digest is the SHA-256 of this text), found by digest. */
  manifestText(digest: string): string | null {
    const row = [...this.sql.exec<Row>("SELECT manifest FROM releases WHERE digest = ? LIMIT 1", digest)][0];
    return row ? canonicalJson(json(row.manifest)) : null;
  }

  /** The digest of a stored release, without reading its manifest. */
  digest(agent: string, version: string): string | null {
    const row = [
      ...this.sql.exec<Row>("SELECT digest FROM releases WHERE agent = ? AND version = ?", agent, version),
    ][0];
    return row ? String(row.digest) : null;
  }

  /** Bytes of manifests stored (meta `stored_bytes`; counted once from the table where the key predates it). */
  storedBytes(): number {
    const row = [...this.sql.exec<Row>("SELECT value FROM meta WHERE key = 'stored_bytes'")][0];
    if (row) return Number(row.value);
    const sum = this.sql
      .exec<Row>("SELECT COALESCE(SUM(LENGTH(CAST(manifest AS BLOB))), 0) AS n FROM releases")
      .one().n;
    this.setMeta("stored_bytes", Number(sum));
    return Number(sum);
  }

  /** How many releases an agent has stored. */
  releaseCount(agent: string): number {
    return Number(this.sql.exec<Row>("SELECT COUNT(*) AS n FROM releases WHERE agent = ?", agent).one().n);
  }

  releases(agent: string): ReleaseSummary[] {
    return [
      ...this.sql.exec<Row>(
        "SELECT version, digest, created_at, created_by FROM releases WHERE agent = ? ORDER BY created_at, rowid",
        agent,
      ),
    ].map((r) => ({
      version: String(r.version),
      digest: String(r.digest),
      createdAt: String(r.created_at),
      createdBy: String(r.created_by),
    }));
  }

  /** Writes a mutation's effects, its audit entry and the new revision. Call inside one transaction. */
  commit(effects: readonly Effect[], audit: Omit<AuditEntry, "seq">, actorName: string, at: string): number {
    for (const e of effects) {
      switch (e.kind) {
        case "release.insert": {
          const body = JSON.stringify(e.manifest);
          this.setMeta("stored_bytes", this.storedBytes() + new TextEncoder().encode(body).length);
          this.sql.exec(
            "INSERT INTO releases (agent, version, manifest, digest, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)",
            e.agent,
            e.version,
            body,
            e.digest,
            at,
            actorName,
          );
          break;
        }
        case "release.activated":
          this.sql.exec("UPDATE releases SET ever_active = 1 WHERE agent = ? AND version = ?", e.agent, e.version);
          break;
        case "pointers":
          this.sql.exec(
            "INSERT INTO pointers (agent, body) VALUES (?, ?) ON CONFLICT(agent) DO UPDATE SET body = excluded.body",
            e.agent,
            JSON.stringify(e.pointers),
          );
          break;
        case "override.insert":
          this.sql.exec(
            "INSERT INTO overrides (id, body, expires_at) VALUES (?, ?, ?)",
            e.override.id,
            JSON.stringify(e.override),
            e.override.expiresAt === undefined ? null : Date.parse(e.override.expiresAt),
          );
          break;
        case "override.delete":
          this.sql.exec("DELETE FROM overrides WHERE id = ?", e.id);
          break;
        case "plan":
          if (e.plan === null) this.sql.exec("DELETE FROM plans WHERE agent = ?", e.agent);
          else
            this.sql.exec(
              "INSERT INTO plans (agent, body) VALUES (?, ?) ON CONFLICT(agent) DO UPDATE SET body = excluded.body",
              e.agent,
              JSON.stringify(e.plan),
            );
          break;
      }
    }
    const cursor = this.sql.exec<Row>(
      "INSERT INTO audit (at, actor, role, action, agent, reason, before, after, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
      audit.at,
      audit.actor,
      audit.role,
      audit.action,
      audit.agent,
      audit.reason,
      JSON.stringify(audit.before ?? null),
      JSON.stringify(audit.after ?? null),
      audit.revision,
    );
    this.setMeta("revision", audit.revision);
    return Number(cursor.one().seq);
  }

  /** Newest first; `agents` (a token's scope, CONTRACT §4.1) keeps only the entries of those agents. */
  audit(query: { agent?: string; agents?: readonly string[]; limit: number; before?: number }): AuditEntry[] {
    const where: string[] = [];
    const args: SqlStorageValue[] = [];
    if (query.agent !== undefined) {
      where.push("agent = ?");
      args.push(query.agent);
    }
    if (query.agents !== undefined) {
      // One bound JSON list rather than one parameter per agent (a query binds at most 100).
      where.push("agent IN (SELECT value FROM json_each(?))");
      args.push(JSON.stringify(query.agents));
    }
    if (query.before !== undefined) {
      where.push("seq < ?");
      args.push(query.before);
    }
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`;
    return [...this.sql.exec<Row>(sql, ...args, query.limit)].map(auditEntry);
  }

  /**
   * The timeline's audit rows: those of the agent and the fleet-wide ones (agent null), from `since` (ISO) on,
   * oldest first. The caller keeps the fleet-wide rows that concern the agent.
   */
  auditSince(agent: string, since: string, afterSeq: number, limit: number): AuditEntry[] {
    // The first entry at or after `since` bounds the scan from below (audit_by_at), so a timeline of the last
    // hours reads the last hours, not the whole history. Exact even if the clock ever stepped back: every row
    // before that entry's seq is older than `since`, and `at >= ?` still filters the rest.
    const first = [
      ...this.sql.exec<{ seq: number | null }>(
        "SELECT min(seq) AS seq FROM audit INDEXED BY audit_by_at WHERE at >= ?",
        since,
      ),
    ];
    const floor = first[0]?.seq ?? null;
    if (floor === null) return [];
    const sql = "SELECT * FROM audit WHERE seq > ? AND (agent = ? OR agent IS NULL) AND at >= ? ORDER BY seq LIMIT ?";
    return [...this.sql.exec<Row>(sql, Math.max(afterSeq, floor - 1), agent, since, limit)].map(auditEntry);
  }

  /** The earliest expiry among stored overrides, in ms, or null. */
  nextExpiry(): number | null {
    const row = this.sql.exec<Row>("SELECT MIN(expires_at) AS t FROM overrides").one();
    return row.t === null ? null : Number(row.t);
  }
}
