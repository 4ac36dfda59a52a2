/**
 * `panic`: one draft-only override over every agent (or one, `--agent`), and `unpanic`: lifts exactly that one.
 *
 * A panic is recognised by three things together (docs/cli.md): its reason starts with `[panic] `, its set is
 * exactly `{ mode: "draft-only" }`, and its scope is `{ agent: "*" }` or `{ agent: A }` with no release. Other
 * overrides, even draft-only ones over the same scope, are never touched by `unpanic`. `panic` reads the state
 * and sends its override with If-Match of that read, so two operators panicking at once lay one override, not
 * two; when one is already in force, it says so and changes nothing.
 */
import { OverrideBody, ReasonBody } from "../../src/control/commands";
import type { Override } from "../../src/routing/override";
import { flag, on } from "../argv";
import type { Command, Ctx } from "../context";
import { type CliError, EXIT, usageError } from "../errors";
import { checked, ifRevisionOf, mutate, printMutated, reasonOf } from "../mutation";
import { type GatewayState, readState, validAgent } from "../state";
import { USAGE } from "../usage";
import { ttlOf } from "./lanes";

export const PANIC_MARKER = "[panic] ";

export const isPanic = (o: Override, agent: string): boolean =>
  o.reason.startsWith(PANIC_MARKER) &&
  o.scope.agent === agent &&
  o.scope.release === undefined &&
  JSON.stringify(o.set) === JSON.stringify({ mode: "draft-only" });

const panicsIn = (state: GatewayState, agent: string): Override[] => state.overrides.filter((o) => isPanic(o, agent));

async function confirmed(ctx: Ctx, question: string): Promise<void> {
  if (on(ctx.inv, "yes") || on(ctx.inv, "dry-run")) return;
  if (!(await ctx.confirm(question))) {
    throw usageError(
      `${ctx.command} not confirmed: answer y on a terminal, or pass --yes`,
      USAGE[ctx.command],
      `${ctx.hints.commandLine} --yes`,
    );
  }
}

function target(ctx: Ctx): { agent: string; where: string } {
  const a = flag(ctx.inv, "agent");
  if (a === undefined) return { agent: "*", where: "every agent" };
  ctx.hints.agent = validAgent(ctx, a);
  return { agent: a, where: a };
}

export const panic: Command = async (ctx) => {
  if (ctx.inv.positionals.length > 0) throw usageError(`unexpected argument: ${ctx.inv.positionals[0]}`, USAGE.panic);
  const { agent, where } = target(ctx);
  const reason = reasonOf(ctx);
  const ttlSeconds = ttlOf(ctx);
  const given = ifRevisionOf(ctx);
  await confirmed(ctx, `Lay draft-only over ${where} (only read tools remain)?`);
  const summary = `panic: draft-only over ${where}`;
  for (let attempt = 1; ; attempt++) {
    const state = await readState(ctx);
    const standing = panicsIn(state, agent)[0];
    if (standing !== undefined) {
      ctx.out.note(
        `a panic is already in force over ${where}: ${standing.id} (by ${standing.actor} at ${standing.createdAt})`,
      );
      printMutated(ctx, summary, {
        command: "panic",
        agent: agent === "*" ? null : agent,
        changed: false,
        revision: state.revision,
        published: null,
        result: { id: standing.id, expiresAt: standing.expiresAt ?? null },
        change: null,
      });
      return EXIT.ok;
    }
    const body = checked(ctx, OverrideBody, {
      scope: { agent },
      set: { mode: "draft-only" },
      reason: `${PANIC_MARKER}${reason}`,
      ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
    });
    try {
      await mutate(ctx, {
        agent: agent === "*" ? null : agent,
        summary,
        request: { method: "POST", path: "/overrides", body, ifRevision: given ?? state.revision },
      });
      return EXIT.ok;
    } catch (err) {
      if (given !== undefined || attempt >= 3 || (err as CliError).extra?.code !== "revision_mismatch") throw err;
    }
  }
};

export const unpanic: Command = async (ctx) => {
  if (ctx.inv.positionals.length > 0) throw usageError(`unexpected argument: ${ctx.inv.positionals[0]}`, USAGE.unpanic);
  const { agent, where } = target(ctx);
  const reason = reasonOf(ctx);
  const given = ifRevisionOf(ctx);
  await confirmed(ctx, `Lift the panic over ${where}?`);
  const state = await readState(ctx);
  const panics = panicsIn(state, agent);
  const summary = `unpanic: lift the panic over ${where}`;
  if (panics.length === 0) {
    ctx.out.note(`no panic is in force over ${where}`);
    printMutated(ctx, summary, {
      command: "unpanic",
      agent: agent === "*" ? null : agent,
      changed: false,
      revision: state.revision,
      published: null,
      result: { lifted: [] },
      change: null,
    });
    return EXIT.ok;
  }
  // Exactly one: the oldest. Two stand only if one was laid by hand with the marker; say so, leave it.
  const p = panics[0] as Override;
  await mutate(ctx, {
    agent: agent === "*" ? null : agent,
    summary: `${summary} (${p.id})`,
    request: {
      method: "DELETE",
      path: `/overrides/${p.id}`,
      body: checked(ctx, ReasonBody, { reason }),
      ifRevision: given,
    },
  });
  if (panics.length > 1)
    ctx.out.note(`${panics.length - 1} more panic override(s) stand over ${where}: run unpanic again`);
  return EXIT.ok;
};
