/**
 * `wait <agent>`: the CI gate. Polls until the running canary is no longer a canary and says how it ended, from
 * the control plane's audit log: exit 0 promoted (by a person or by the plan), 1 aborted, rolled back or
 * replaced by another canary, 4 still running at `--timeout` (default 30m). A gateway that stops answering
 * meanwhile is retried until the timeout. With no canary running when it starts, the last way a canary of the
 * agent ended is reported (with its time), or, when there never was one, exit 1.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { flag } from "../argv";
import type { AuditEntry } from "../change";
import { canaryText } from "../change";
import { type Command, type Ctx, positionals, usageOf } from "../context";
import { formatDuration, parseDuration } from "../duration";
import { CliError, EXIT } from "../errors";
import { agentIn, readState, validAgent } from "../state";
import { intervalOf } from "./status";

type Outcome = "promoted" | "aborted" | "rolled-back" | "replaced" | "ended";
const CANARY_ACTIONS = new Set(["promote", "canary.abort", "rollback", "canary.set"]);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const canaryOf = (side: unknown): unknown => (isRecord(side) ? side.canary : null);
const versionOf = (c: unknown): string | null => (isRecord(c) && typeof c.version === "string" ? c.version : null);

function outcomeOf(e: AuditEntry, version: string): Outcome {
  if (e.action === "promote" && isRecord(e.after) && e.after.active === version) return "promoted";
  if (e.action === "canary.abort") return "aborted";
  if (e.action === "rollback") return "rolled-back";
  if (e.action === "canary.set") return "replaced";
  return "ended";
}

async function auditOf(ctx: Ctx, agent: string): Promise<AuditEntry[]> {
  const { body } = await ctx.gateway.call({ method: "GET", path: "/audit", query: { agent, limit: 100 } });
  return (Array.isArray(body.entries) ? body.entries : []) as AuditEntry[];
}

function report(
  ctx: Ctx,
  agent: string,
  version: string | null,
  outcome: Outcome,
  e: AuditEntry | null,
  waitedMs: number,
): number {
  const exit = outcome === "promoted" ? EXIT.ok : EXIT.refused;
  const value = {
    agent,
    version,
    outcome,
    exit,
    by: e?.actor ?? null,
    reason: e?.reason ?? null,
    at: e?.at ?? null,
    revision: e?.revision ?? null,
    waitedSeconds: Math.round(waitedMs / 1000),
    entry: e,
  };
  const p = ctx.out.paint;
  ctx.out.result(value, () => [
    `${agent}@${version ?? "?"} ${outcome === "promoted" ? p.green(outcome) : p.red(outcome)}` +
      (e === null ? "" : ` by ${e.actor} at ${e.at} (revision ${e.revision}): ${e.reason}`),
  ]);
  return exit;
}

export const wait: Command = async (ctx) => {
  const [agentArg] = positionals(ctx, ["agent"]);
  const agent = validAgent(ctx, agentArg as string);
  ctx.hints.agent = agent;
  const rawTimeout = flag(ctx.inv, "timeout") ?? "30m";
  const timeoutS = parseDuration(rawTimeout);
  if (timeoutS === null || timeoutS === 0)
    throw usageOf(ctx, `--timeout must be a duration such as 30m, 2h or 3600s, got "${rawTimeout}"`);
  const intervalMs = intervalOf(ctx, 1);
  const started = ctx.now();
  const deadline = started + timeoutS * 1000;

  const first = await readState(ctx);
  const canary = agentIn(first, agent).canary;
  if (canary === null) {
    const last = (await auditOf(ctx, agent)).find(
      (e) =>
        CANARY_ACTIONS.has(e.action) &&
        versionOf(canaryOf(e.before)) !== null &&
        versionOf(canaryOf(e.after)) !== versionOf(canaryOf(e.before)),
    );
    if (last === undefined) {
      throw new CliError(EXIT.refused, `no canary of ${agent} is running, and none ever ended`, {
        code: "no_canary",
        next: `switchyard canary start ${agent} <version> --percent P --reason R`,
      });
    }
    const version = versionOf(canaryOf(last.before));
    ctx.out.note(`no canary of ${agent} is running; the last one ended at ${last.at}`);
    return report(ctx, agent, version, outcomeOf(last, version ?? ""), last, 0);
  }
  const version = canary.version;
  let shown = canaryText(canary);
  ctx.out.note(`waiting for ${agent}: canary ${shown} (timeout ${formatDuration(timeoutS)})`);
  let lastProblem: string | null = null;
  while (ctx.now() < deadline && !ctx.signal.aborted) {
    await sleep(Math.min(intervalMs, Math.max(0, deadline - ctx.now())), undefined, { signal: ctx.signal }).catch(
      () => undefined,
    );
    if (ctx.signal.aborted) break;
    let state: Awaited<ReturnType<typeof readState>>;
    try {
      state = await readState(ctx);
    } catch (err) {
      if (!(err instanceof CliError) || err.exit !== EXIT.unreachable) throw err;
      if (err.message !== lastProblem) ctx.out.note(`switchyard: ${err.message}; still waiting`);
      lastProblem = err.message;
      continue;
    }
    lastProblem = null;
    const now = agentIn(state, agent).canary;
    if (now !== null && now.version === version) {
      if (canaryText(now) !== shown) {
        shown = canaryText(now);
        ctx.out.note(`canary ${shown}`);
      }
      continue;
    }
    const entries = (await auditOf(ctx, agent)).filter((e) => e.revision > first.revision).reverse();
    const ended = entries.find(
      (e) => versionOf(canaryOf(e.before)) === version && versionOf(canaryOf(e.after)) !== version,
    );
    const outcome: Outcome = ended
      ? outcomeOf(ended, version)
      : agentIn(state, agent).active === version
        ? "promoted"
        : "ended";
    return report(ctx, agent, version, outcome, ended ?? null, ctx.now() - started);
  }
  if (ctx.signal.aborted) return 130;
  throw new CliError(EXIT.timeout, `${agent}: canary ${shown} still running after ${formatDuration(timeoutS)}`, {
    code: "timeout",
    next: `switchyard status ${agent}`,
  });
};
