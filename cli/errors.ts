/**
 * The CLI's failures and their exit codes (docs/cli.md): 1 refused by the gateway (or by what its state says),
 * 2 usage, 3 gateway unreachable, 4 `wait` timed out. Every failure says what went wrong and, where there is one,
 * the next command to run. Messages never contain the token.
 */

export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3, timeout: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface Problem {
  path: string;
  message: string;
}

export class CliError extends Error {
  constructor(
    readonly exit: ExitCode,
    message: string,
    readonly extra: {
      next?: string | undefined;
      code?: string | undefined;
      status?: number | undefined;
      details?: unknown;
      problems?: Problem[] | undefined;
      usage?: string | undefined;
    } = {},
  ) {
    super(message);
  }
}

export const usageError = (message: string, usage?: string, next?: string, problems?: Problem[]): CliError =>
  new CliError(EXIT.usage, message, { usage, next, problems, code: "usage" });

/** zod issues (from safeParse of the project's own schemas) as field-level problems. */
export const problemsOf = (issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): Problem[] =>
  issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
