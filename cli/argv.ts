/**
 * Reading the command line with Node's own `util.parseArgs`: which command, its flags, its positionals.
 * Global flags may stand anywhere; every command is parsed strictly, so an unknown or misspelled flag is a
 * usage error (exit 2), never silently ignored.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { usageError } from "./errors";
import { MUTATIONS, USAGE } from "./usage";

type Options = NonNullable<ParseArgsConfig["options"]>;

export const GLOBAL_OPTIONS = {
  url: { type: "string" },
  "token-file": { type: "string" },
  json: { type: "boolean" },
  table: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} satisfies Options;

export const MUTATION_OPTIONS = {
  reason: { type: "string" },
  "if-revision": { type: "string" },
  "dry-run": { type: "boolean" },
} satisfies Options;

/** Flags of each command besides the global ones (and the mutation ones for mutations). */
export const COMMAND_OPTIONS: Record<string, Options> = {
  status: { watch: { type: "boolean" }, interval: { type: "string" } },
  rollback: { to: { type: "string" } },
  "canary start": { percent: { type: "string" } },
  "canary set": { percent: { type: "string" } },
  lane: { release: { type: "string" }, ttl: { type: "string" } },
  "tool disable": { release: { type: "string" }, ttl: { type: "string" } },
  "tool scope": { release: { type: "string" }, ttl: { type: "string" } },
  panic: { agent: { type: "string" }, ttl: { type: "string" }, yes: { type: "boolean", short: "y" } },
  unpanic: { agent: { type: "string" }, yes: { type: "boolean", short: "y" } },
  explain: { key: { type: "string" }, release: { type: "string" } },
  audit: { limit: { type: "string" } },
  timeline: { since: { type: "string" } },
  wait: { timeout: { type: "string" }, interval: { type: "string" } },
};

const GROUPS = new Set(["canary", "tool", "release"]);

export interface Invocation {
  /** "status", "canary start", …; null when none was given (help). */
  command: string | null;
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
}

const allOptions = (): Options => {
  const all: Options = { ...GLOBAL_OPTIONS, ...MUTATION_OPTIONS };
  for (const o of Object.values(COMMAND_OPTIONS)) Object.assign(all, o);
  return all;
};

/** The command words: the first positional, and the second for `canary`, `tool` and `release`. */
function commandOf(args: string[]): { command: string | null; words: number } {
  const { positionals } = parseArgs({ args, options: allOptions(), strict: false, allowPositionals: true });
  const first = positionals[0];
  if (first === undefined) return { command: null, words: 0 };
  if (GROUPS.has(first)) {
    const second = positionals[1];
    const command = `${first} ${second ?? ""}`.trim();
    if (second === undefined || USAGE[command] === undefined) {
      const subs = Object.keys(USAGE)
        .filter((k) => k.startsWith(`${first} `))
        .map((k) => k.slice(first.length + 1));
      throw usageError(
        second === undefined ? `${first} needs a subcommand` : `unknown command: ${first} ${second}`,
        Object.keys(USAGE)
          .filter((k) => k.startsWith(`${first} `))
          .map((k) => USAGE[k])
          .join("\n       "),
        `switchyard ${first} ${subs[0]} --help`,
      );
    }
    return { command, words: 2 };
  }
  if (USAGE[first] === undefined) {
    throw usageError(`unknown command: ${first}`, undefined, "switchyard --help");
  }
  return { command: first, words: 1 };
}

export function parseInvocation(args: string[]): Invocation {
  const { command, words } = commandOf(args);
  const options: Options = { ...GLOBAL_OPTIONS };
  if (command !== null) {
    Object.assign(options, COMMAND_OPTIONS[command] ?? {});
    if (MUTATIONS.has(command)) Object.assign(options, MUTATION_OPTIONS);
  }
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true });
    return { command, positionals: positionals.slice(words), values: values as Invocation["values"] };
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    throw usageError(message, command === null ? undefined : USAGE[command], helpNext(command));
  }
}

export const helpNext = (command: string | null): string =>
  command === null ? "switchyard --help" : `switchyard ${command} --help`;

/** A string flag's value, or undefined. */
export const flag = (inv: Invocation, name: string): string | undefined => {
  const v = inv.values[name];
  return typeof v === "string" ? v : undefined;
};

export const on = (inv: Invocation, name: string): boolean => inv.values[name] === true;
