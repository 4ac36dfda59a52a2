/**
 * `switchyard`: the operator's command line for a Switchyard gateway (CONTRACT §5, docs/cli.md). Each command is
 * one move through the admin API. This file wires the pieces: the invocation, the config, the output, and the
 * exit code. It runs in Node only and is never part of the Worker bundle (nothing under src/ imports cli/).
 */
import { createInterface } from "node:readline/promises";
import { flag, on, parseInvocation } from "./argv";
import { lane, lift, toolDisable, toolScope } from "./commands/lanes";
import { canaryAbort, canaryPause, canaryResume, canarySet, canaryStart, promote, rollback } from "./commands/moves";
import { panic, unpanic } from "./commands/panic";
import { releasePush } from "./commands/push";
import { audit, diff, explain, timeline } from "./commands/reads";
import { status } from "./commands/status";
import { wait } from "./commands/wait";
import { resolveConfig } from "./config";
import type { Command, Ctx } from "./context";
import { CliError, EXIT, usageError } from "./errors";
import { Gateway } from "./http";
import { Output } from "./output";
import type { HintContext } from "./refusal";
import { helpText } from "./usage";

declare const SWITCHYARD_VERSION: string;

const COMMANDS: Record<string, Command> = {
  status,
  rollback,
  "canary start": canaryStart,
  "canary set": canarySet,
  "canary abort": canaryAbort,
  "canary pause": canaryPause,
  "canary resume": canaryResume,
  lane,
  "tool disable": toolDisable,
  "tool scope": toolScope,
  lift,
  panic,
  unpanic,
  "release push": releasePush,
  promote,
  diff,
  explain,
  audit,
  timeline,
  wait,
};

/** The command line for hints (`next: …`), quoted so it can be pasted; it never holds a token. */
const quoted = (args: string[]): string =>
  ["switchyard", ...args.map((a) => (/^[\w@%+=:,./*-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`))].join(" ");

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

async function main(args: string[]): Promise<number> {
  let out = new Output(process, { json: args.includes("--json"), table: false }, process.env);
  try {
    const inv = parseInvocation(args);
    if (on(inv, "json") && on(inv, "table")) throw usageError("--json and --table exclude each other");
    out = new Output(process, { json: on(inv, "json"), table: on(inv, "table") }, process.env);
    if (on(inv, "version")) {
      out.line(typeof SWITCHYARD_VERSION === "string" ? SWITCHYARD_VERSION : "dev");
      return EXIT.ok;
    }
    if (inv.command === null || on(inv, "help")) {
      process.stdout.write(helpText(inv.command ?? undefined));
      return inv.command === null && !on(inv, "help") ? EXIT.usage : EXIT.ok;
    }
    const config = resolveConfig({ url: flag(inv, "url"), tokenFile: flag(inv, "token-file") }, process.env);
    const hints: HintContext = { commandLine: quoted(args) };
    const controller = new AbortController();
    const ctx: Ctx = {
      command: inv.command,
      inv,
      out,
      gateway: new Gateway(config, hints),
      hints,
      env: process.env,
      now: () => Date.now(),
      signal: controller.signal,
      confirm,
    };
    if (inv.command === "wait" || (inv.command === "status" && on(inv, "watch"))) {
      process.once("SIGINT", () => controller.abort());
      process.once("SIGTERM", () => controller.abort());
    }
    return await (COMMANDS[inv.command] as Command)(ctx);
  } catch (err) {
    if (err instanceof CliError) {
      out.error(err);
      return err.exit;
    }
    out.error(new CliError(EXIT.refused, `unexpected failure: ${(err as Error)?.stack ?? String(err)}`));
    return 70;
  }
}

process.exitCode = await main(process.argv.slice(2));
