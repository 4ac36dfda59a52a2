/**
 * `status [agent] [--watch]`. Once: the state, as a table or JSON. `--watch`: polls every `--interval` (2 s) and
 * redraws only when something changed; on a terminal a footer line says how old the data is (ticking each
 * second, rewritten in place), and when the gateway stops answering it says so and keeps the last data on
 * screen. Without a terminal, each change is one JSON line (NDJSON). Ctrl-C ends it cleanly, exit 0.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { flag, on } from "../argv";
import { type Command, type Ctx, positionals, usageOf } from "../context";
import { formatDuration, parseDuration } from "../duration";
import { CliError, EXIT } from "../errors";
import { validAgent } from "../state";
import { collect, render, type StatusData, stableOf } from "../status-view";

export const status: Command = async (ctx) => {
  const [agentArg] = positionals(ctx, ["agent"], { min: 0 });
  const agent = agentArg === undefined ? undefined : validAgent(ctx, agentArg);
  ctx.hints.agent = agent;
  if (on(ctx.inv, "watch")) return watch(ctx, agent, intervalOf(ctx, 2));
  if (flag(ctx.inv, "interval") !== undefined) throw usageOf(ctx, "--interval goes with --watch");
  const data = await collect(ctx, agent);
  ctx.out.result(data, () => render(data, ctx.out.paint));
  return EXIT.ok;
};

export function intervalOf(ctx: Ctx, fallbackSeconds: number): number {
  const raw = flag(ctx.inv, "interval");
  if (raw === undefined) return fallbackSeconds * 1000;
  const s = parseDuration(raw);
  if (s === null || s < 1) throw usageOf(ctx, `--interval must be a duration of at least 1s, got "${raw}"`);
  return s * 1000;
}

const aborted = (ctx: Ctx) => ctx.signal.aborted;

async function pause(ctx: Ctx, ms: number): Promise<void> {
  await sleep(ms, undefined, { signal: ctx.signal }).catch(() => undefined);
}

async function watch(ctx: Ctx, agent: string | undefined, intervalMs: number): Promise<number> {
  const { out } = ctx;
  const tty = out.tty && !out.json;
  const write = (t: string) => out.streams.stdout.write(t);
  let last: { data: StatusData; key: string; at: number } | null = null;
  let problem: string | null = null;
  let nextPoll = 0;
  const footer = () => {
    if (!tty) return;
    const age = last === null ? "no data yet" : `data ${formatDuration((ctx.now() - last.at) / 1000)} old`;
    const rev = last === null ? "" : `revision ${last.data.revision} · `;
    const trouble = problem === null ? "" : ` · ${out.paint.red(problem)}`;
    write(
      `\r\x1b[2K${out.paint.dim(`${rev}${age} · every ${formatDuration(intervalMs / 1000)} · Ctrl-C to stop`)}${trouble}`,
    );
  };
  if (tty) write("\x1b[?25l");
  try {
    while (!aborted(ctx)) {
      if (ctx.now() >= nextPoll) {
        nextPoll = ctx.now() + intervalMs;
        try {
          const data = await collect(ctx, agent, ctx.signal);
          const key = stableOf(data);
          const changed = last === null || key !== last.key;
          last = { data, key, at: ctx.now() };
          problem = null;
          if (changed) {
            if (tty) write(`\x1b[H\x1b[2J${render(data, out.paint).join("\n")}\n\n`);
            else if (out.json) write(`${JSON.stringify(data)}\n`);
            else write(`${render(data, out.paint).join("\n")}\n\n`);
          }
        } catch (err) {
          if (aborted(ctx)) break;
          if (!(err instanceof CliError)) throw err;
          // The first read must succeed (a wrong URL or token is not something to watch); later, keep watching.
          if (last === null || err.exit === EXIT.usage) throw err;
          const now = err.exit === EXIT.unreachable ? "gateway unreachable, showing the last data" : err.message;
          // Off a terminal, a problem is noted once when it starts, not at every poll.
          if (!tty && now !== problem) out.note(`switchyard: ${err.message}`);
          problem = now;
        }
      }
      footer();
      await pause(ctx, Math.min(1000, Math.max(0, nextPoll - ctx.now())));
    }
  } finally {
    if (tty) write("\x1b[?25h\n");
  }
  return EXIT.ok;
}
