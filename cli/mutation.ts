/**
 * The one path of every mutation: a reason (`--reason` or SWITCHYARD_REASON), the body checked with the
 * project's own zod schema before anything is sent, `--if-revision` as If-Match, `--dry-run` printing the
 * request instead of sending it, and the answer printed as what changed and the new revision.
 */
import type { z } from "zod";
import { flag, on } from "./argv";
import { type AuditEntry, changeAt, describeChange } from "./change";
import { type Ctx, usageOf } from "./context";
import { problemsOf, usageError } from "./errors";
import type { ApiRequest } from "./http";
import { USAGE } from "./usage";

export function reasonOf(ctx: Ctx): string {
  const reason = (flag(ctx.inv, "reason") ?? ctx.env.SWITCHYARD_REASON ?? "").trim();
  if (reason === "") {
    throw usageError(
      'a reason is required for every change: --reason "…" (or SWITCHYARD_REASON)',
      USAGE[ctx.command],
      `${ctx.hints.commandLine} --reason "what you saw and why this helps"`,
    );
  }
  return reason;
}

export function ifRevisionOf(ctx: Ctx): number | undefined {
  const raw = flag(ctx.inv, "if-revision");
  if (raw === undefined) return undefined;
  if (!/^\d{1,15}$/.test(raw.trim())) throw usageOf(ctx, `--if-revision must be a revision number, got "${raw}"`);
  return Number(raw.trim());
}

/** The body as the admin API will validate it: refused here first, with the same field-level problems. */
export function checked<T extends z.ZodType>(ctx: Ctx, schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw usageError(
      "invalid input; nothing was sent",
      USAGE[ctx.command],
      `switchyard ${ctx.command} --help`,
      problemsOf(parsed.error.issues),
    );
  }
  return body as z.infer<T>;
}

export interface MutationSpec {
  agent: string | null;
  /** What this does, for the person reading: "roll back support-bot". */
  summary: string;
  request: ApiRequest;
  /** Reported with the result: JSON fields beside it, and lines printed before it (release push: readiness). */
  report?: { json: Record<string, unknown>; lines: string[] };
}

export interface Mutated {
  command: string;
  agent: string | null;
  changed: boolean;
  revision: number;
  published: boolean | null;
  result: Record<string, unknown>;
  change: AuditEntry | null;
  [extra: string]: unknown;
}

export async function mutate(ctx: Ctx, spec: MutationSpec): Promise<Mutated | null> {
  if (on(ctx.inv, "dry-run")) {
    const d = ctx.gateway.describe(spec.request);
    const report = spec.report ?? { json: {}, lines: [] };
    ctx.out.result({ command: ctx.command, agent: spec.agent, dryRun: true, ...report.json, request: d }, () => [
      ...report.lines,
      `dry run, nothing sent: ${spec.summary}`,
      `  ${d.method} ${d.url}`,
      ...Object.entries(d.headers).map(([k, v]) => `  ${k}: ${v}`),
      ...(d.body === undefined
        ? []
        : JSON.stringify(d.body, null, 2)
            .split("\n")
            .map((l) => `  ${l}`)),
    ]);
    return null;
  }
  const { body } = await ctx.gateway.call(spec.request);
  const { revision, changed, published, ...result } = body;
  const out: Mutated = {
    command: ctx.command,
    agent: spec.agent,
    changed: changed === true,
    revision: Number(revision),
    published: typeof published === "boolean" ? published : null,
    result,
    change: null,
    ...spec.report?.json,
  };
  if (out.changed) out.change = await changeAt(ctx, spec.agent, out.revision);
  printMutated(ctx, spec.summary, out, spec.report?.lines);
  return out;
}

export function printMutated(ctx: Ctx, summary: string, m: Mutated, before: string[] = []): void {
  const p = ctx.out.paint;
  ctx.out.result(m, () => {
    if (!m.changed) return [...before, `${summary}: nothing to change (revision ${m.revision})`];
    const lines = [...before, `${summary}: ${p.green("done")}, revision ${p.bold(String(m.revision))}`];
    if (m.change !== null) for (const l of describeChange(m.change)) lines.push(`  ${l}`);
    if (m.published === false) {
      lines.push(p.yellow("  published: false — committed and served via the control plane; KV catches up by itself"));
    }
    return lines;
  });
}
