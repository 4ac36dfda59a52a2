/**
 * Reads (role viewer): `diff`, `explain`, `audit`, `timeline`. With --json each prints the gateway's answer as
 * it is (its shape is the admin API's, docs/cli.md); on a terminal, a table.
 */
import { Version } from "../../src/release/schema";
import { flag } from "../argv";
import type { AuditEntry } from "../change";
import { type Command, type Ctx, positionals, usageOf } from "../context";
import { parseDuration } from "../duration";
import { EXIT } from "../errors";
import { cut, table } from "../output";
import { valid, validAgent } from "../state";

const show = (v: unknown): string => (v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));
const enc = encodeURIComponent;

export const diff: Command = async (ctx) => {
  const [agentArg, from, to] = positionals(ctx, ["agent", "from", "to"]);
  const agent = validAgent(ctx, agentArg as string);
  ctx.hints.agent = agent;
  valid(ctx, Version, from as string, "from");
  valid(ctx, Version, to as string, "to");
  const { body } = await ctx.gateway.call({ method: "GET", path: `/agents/${enc(agent)}/diff`, query: { from, to } });
  const changes = (body.changes ?? []) as Array<{ path: string; from: unknown; to: unknown }>;
  ctx.out.result(body, () => [
    `${agent}: ${from} → ${to}: ${changes.length} change(s)`,
    ...(changes.length === 0
      ? []
      : table(
          ["PATH", "FROM", "TO"],
          changes.map((c) => [c.path, cut(show(c.from), 50), cut(show(c.to), 50)]),
          ctx.out.paint,
        )),
  ]);
  return EXIT.ok;
};

export const explain: Command = async (ctx) => {
  const [agentArg] = positionals(ctx, ["agent"]);
  const agent = validAgent(ctx, agentArg as string);
  ctx.hints.agent = agent;
  const key = flag(ctx.inv, "key");
  const release = flag(ctx.inv, "release");
  const { body } = await ctx.gateway.call({ method: "GET", path: "/explain", query: { agent, key, release } });
  ctx.out.result(body, () => {
    if (body.ok !== true) {
      const e = (body.error ?? {}) as Record<string, unknown>;
      return [`${agent}: no decision (${show(e.status)} ${show(e.code)}): ${show(e.message)}`];
    }
    const d = body.decision as Record<string, unknown>;
    const tools = (d.tools as Array<{ name: string; risk: string }> | undefined) ?? [];
    const rows: string[][] = [
      ["decision", show((d.headers as Record<string, unknown> | undefined)?.["x-agent-decision"] ?? d.kind)],
      ["release", `${show(d.release)} ${show(d.digest)}`],
      ["lane", show(d.lane)],
      ["tools", tools.map((t) => `${t.name} (${t.risk})`).join(", ") || "none"],
      ["approval", ((d.approval as string[] | undefined) ?? []).join(", ") || "none"],
      ["workflow", `${show(d.workflow)} ${d.upstream === null ? "" : show(d.upstream)}`.trim()],
      ["overrides", ((d.overrides as string[] | undefined) ?? []).join(", ") || "none"],
    ];
    const reasons = ((d.reasons as unknown[] | undefined) ?? []).map((r) => `  - ${show(r)}`);
    return [
      `${agent}${key ? ` key ${key}` : ""} at revision ${show(body.revision)}`,
      ...table(["", ""], rows, ctx.out.paint).slice(1),
      "reasons:",
      ...reasons,
    ];
  });
  return EXIT.ok;
};

export function auditRows(entries: AuditEntry[]): string[][] {
  return entries.map((e) => [
    String(e.seq),
    e.at,
    e.actor,
    e.action,
    e.agent ?? "*",
    String(e.revision),
    cut(e.reason),
  ]);
}

export const audit: Command = async (ctx) => {
  const [agentArg] = positionals(ctx, ["agent"], { min: 0 });
  const agent = agentArg === undefined ? undefined : validAgent(ctx, agentArg);
  ctx.hints.agent = agent;
  const rawLimit = flag(ctx.inv, "limit");
  if (rawLimit !== undefined && !/^\d+$/.test(rawLimit))
    throw usageOf(ctx, `--limit must be a whole number from 1 to 500, got "${rawLimit}"`);
  const limit = rawLimit === undefined ? 20 : Number(rawLimit);
  if (limit < 1 || limit > 500) throw usageOf(ctx, `--limit must be from 1 to 500, got ${limit}`);
  const { body } = await ctx.gateway.call({ method: "GET", path: "/audit", query: { agent, limit } });
  const entries = (body.entries ?? []) as AuditEntry[];
  ctx.out.result(body, () =>
    entries.length === 0
      ? ["no audit entries"]
      : table(["SEQ", "AT", "ACTOR", "ACTION", "AGENT", "REV", "REASON"], auditRows(entries), ctx.out.paint),
  );
  return EXIT.ok;
};

/** `--since`: a duration back from now (`30m`) or an ISO-8601 time, sent as an ISO time. */
export function sinceOf(ctx: Ctx): string | undefined {
  const raw = flag(ctx.inv, "since");
  if (raw === undefined) return undefined;
  const seconds = parseDuration(raw);
  if (seconds !== null) return new Date(ctx.now() - seconds * 1000).toISOString();
  const t = Date.parse(raw);
  if (!/^\d{4}-\d\d-\d\d/.test(raw) || Number.isNaN(t))
    throw usageOf(ctx, `--since must be a duration (30m, 2h) or an ISO time, got "${raw}"`);
  return new Date(t).toISOString();
}

interface TimelineItem {
  at: string;
  kind: string;
  action: string;
  actor: string | null;
  reason: string;
  release: string | null;
  changes?: Array<{ path: string; from: unknown; to: unknown }>;
}

/** Pages followed (cursor = the last `next`) while the gateway says there are more; 500 items a page. */
const TIMELINE_PAGES = 10;

const changesText = (i: TimelineItem): string =>
  (i.changes ?? []).map((c) => `${c.path} ${show(c.from ?? null)} → ${show(c.to ?? null)}`).join("; ");

export const timeline: Command = async (ctx) => {
  const [agentArg] = positionals(ctx, ["agent"]);
  const agent = validAgent(ctx, agentArg as string);
  ctx.hints.agent = agent;
  const since = sinceOf(ctx);
  const path = `/agents/${enc(agent)}/timeline`;
  let { body } = await ctx.gateway.call({ method: "GET", path, query: { since, limit: 500 } });
  const items = [...((body.items ?? []) as TimelineItem[])];
  for (let page = 1; body.more === true && page < TIMELINE_PAGES; page++) {
    ({ body } = await ctx.gateway.call({
      method: "GET",
      path,
      query: { since, limit: 500, cursor: String(body.next) },
    }));
    items.push(...((body.items ?? []) as TimelineItem[]));
  }
  const merged = { ...body, items };
  ctx.out.result(merged, () => {
    const lines =
      items.length === 0
        ? [`${agent}: nothing in the timeline since ${show(body.since)}`]
        : table(
            ["AT", "KIND", "ACTION", "ACTOR", "RELEASE", "WHAT"],
            items.map((i) => [
              i.at,
              i.kind,
              i.action,
              i.actor ?? "",
              i.release ?? "",
              cut([i.reason, changesText(i)].filter(Boolean).join(" — "), 90),
            ]),
            ctx.out.paint,
          );
    if (body.more === true) lines.push(`(more items: narrow --since; ${items.length} shown)`);
    return lines;
  });
  return EXIT.ok;
};
