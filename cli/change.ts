/**
 * What a mutation changed, in the control plane's own record: the audit entry committed at the answered
 * revision (its before and after). Read after the answer, so what is printed is what was recorded, not what the
 * CLI assumed; when the audit cannot be read (it is only a report), the revision alone is printed.
 */
import type { Ctx } from "./context";

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  role?: string;
  action: string;
  agent: string | null;
  reason: string;
  before: unknown;
  after: unknown;
  revision: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export async function changeAt(ctx: Ctx, agent: string | null, revision: number): Promise<AuditEntry | null> {
  try {
    const { body } = await ctx.gateway.call({
      method: "GET",
      path: "/audit",
      query: { agent: agent ?? undefined, limit: 20 },
    });
    const entries = Array.isArray(body.entries) ? (body.entries as AuditEntry[]) : [];
    return entries.find((e) => e.revision === revision) ?? null;
  } catch {
    return null;
  }
}

export function canaryText(c: unknown): string {
  if (!isRecord(c)) return "none";
  return `${String(c.version)} @ ${String(c.percent)}%`;
}

const pointerText = (field: string, v: unknown): string =>
  field === "canary" ? canaryText(v) : v === null || v === undefined ? "none" : String(v);

export function scopeText(scope: unknown): string {
  if (!isRecord(scope)) return "?";
  if (scope.agent === "*") return "every agent";
  return scope.release === undefined ? String(scope.agent) : `${String(scope.agent)}@${String(scope.release)}`;
}

export function setText(set: unknown): string {
  if (!isRecord(set)) return "?";
  const parts: string[] = [];
  if (set.mode !== undefined) parts.push(String(set.mode));
  if (Array.isArray(set.disableTools)) parts.push(`tools off: ${set.disableTools.join(",")}`);
  if (Array.isArray(set.toolScope)) parts.push(`tools only: ${set.toolScope.join(",")}`);
  if (Array.isArray(set.forceApproval)) parts.push(`approval: ${set.forceApproval.join(",")}`);
  if (set.workflow !== undefined) parts.push(`workflow: ${String(set.workflow)}`);
  return parts.join("; ");
}

/** The change as lines for a person. */
export function describeChange(e: AuditEntry): string[] {
  const { before, after } = e;
  if (e.action === "override.add" && isRecord(after)) {
    const expiry = typeof after.expiresAt === "string" ? `, until ${after.expiresAt}` : ", no expiry";
    return [`override ${String(after.id)} laid: ${setText(after.set)} on ${scopeText(after.scope)}${expiry}`];
  }
  if ((e.action === "override.remove" || e.action === "override.expire") && before !== null) {
    const gone = Array.isArray(before) ? before : [before];
    return gone
      .filter(isRecord)
      .map((o) => `override ${String(o.id)} lifted: was ${setText(o.set)} on ${scopeText(o.scope)}`);
  }
  if (e.action === "release.put" && isRecord(after)) {
    return [`stored ${e.agent}@${String(after.version)} ${String(after.digest)}`];
  }
  if (isRecord(before) && isRecord(after)) {
    const lines: string[] = [];
    for (const field of ["active", "fallback", "canary", "offFrom"]) {
      const from = pointerText(field, before[field]);
      const to = pointerText(field, after[field]);
      if (from !== to) lines.push(`${field.padEnd(8)} ${from} → ${to}`);
    }
    for (const field of Object.keys(after)) {
      if (["active", "fallback", "canary", "offFrom"].includes(field)) continue;
      if (JSON.stringify(before[field]) !== JSON.stringify(after[field])) {
        lines.push(`${field.padEnd(8)} ${JSON.stringify(before[field] ?? null)} → ${JSON.stringify(after[field])}`);
      }
    }
    return lines;
  }
  return [`${e.action}: ${JSON.stringify(after)}`];
}
