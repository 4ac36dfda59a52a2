/** What every command gets: its parsed invocation, the output, the gateway client, the environment and clock. */
import { flag, type Invocation } from "./argv";
import { EXIT, usageError } from "./errors";
import type { Gateway } from "./http";
import type { Output } from "./output";
import type { HintContext } from "./refusal";
import { USAGE } from "./usage";

export interface Ctx {
  command: string;
  inv: Invocation;
  out: Output;
  gateway: Gateway;
  hints: HintContext;
  env: NodeJS.ProcessEnv;
  now: () => number;
  /** Aborted on Ctrl-C: long-running commands (watch, wait) end cleanly. */
  signal: AbortSignal;
  /** Asks a yes/no question on the terminal; false when there is none. */
  confirm: (question: string) => Promise<boolean>;
}

export type Command = (ctx: Ctx) => Promise<number>;

/** Exactly `count` positionals (or between min and max), named for the message. */
export function positionals(ctx: Ctx, names: string[], opts: { min?: number; rest?: boolean } = {}): string[] {
  const got = ctx.inv.positionals;
  const min = opts.min ?? names.length;
  if (got.length < min) {
    throw usageError(
      `missing ${names.slice(got.length, min).join(", ")}`,
      USAGE[ctx.command],
      `switchyard ${ctx.command} --help`,
    );
  }
  if (!opts.rest && got.length > names.length) {
    throw usageError(
      `unexpected argument: ${got[names.length]}`,
      USAGE[ctx.command],
      `switchyard ${ctx.command} --help`,
    );
  }
  return got;
}

export function requireFlag(ctx: Ctx, name: string): string {
  const v = flag(ctx.inv, name);
  if (v === undefined || v.trim() === "") {
    throw usageError(`--${name} is required`, USAGE[ctx.command], `switchyard ${ctx.command} --help`);
  }
  return v;
}

export const usageOf = (ctx: Ctx, message: string) =>
  usageError(message, USAGE[ctx.command], `switchyard ${ctx.command} --help`);

export { EXIT };
