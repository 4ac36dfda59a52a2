/**
 * Where the gateway is and which token to present: `--url` over `SWITCHYARD_URL` (default the local gateway of
 * `npm start`), `--token-file` over `SWITCHYARD_TOKEN`. The token is read lazily, only for a call that needs it,
 * and is never printed: not in errors, not in `--dry-run`, not in `--json`.
 */
import { readFileSync } from "node:fs";
import { usageError } from "./errors";

export const DEFAULT_URL = "http://127.0.0.1:8787";

export interface Config {
  url: string;
  /** Where the URL came from, for error messages. */
  urlSource: "--url" | "SWITCHYARD_URL" | "default";
  token: () => string;
}

export function resolveConfig(
  flags: { url?: string | undefined; tokenFile?: string | undefined },
  env: NodeJS.ProcessEnv,
): Config {
  const raw = flags.url ?? env.SWITCHYARD_URL ?? DEFAULT_URL;
  const urlSource = flags.url !== undefined ? "--url" : env.SWITCHYARD_URL !== undefined ? "SWITCHYARD_URL" : "default";
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw usageError(`${urlSource} is not a URL: ${raw}`, undefined, "switchyard status --url https://gateway.example");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw usageError(`${urlSource} must be an http(s) URL: ${raw}`);
  }
  const url = parsed.href.replace(/\/+$/, "");
  let cached: string | null = null;
  const token = (): string => {
    if (cached !== null) return cached;
    let value: string | undefined;
    if (flags.tokenFile !== undefined) {
      try {
        value = readFileSync(flags.tokenFile, "utf8").trim();
      } catch (err) {
        const why = (err as NodeJS.ErrnoException).code ?? "unreadable";
        throw usageError(`cannot read --token-file ${flags.tokenFile} (${why})`);
      }
      if (value === "") throw usageError(`--token-file ${flags.tokenFile} is empty`);
    } else {
      value = env.SWITCHYARD_TOKEN?.trim();
      if (!value) {
        throw usageError(
          "no admin token: set SWITCHYARD_TOKEN or pass --token-file <path>",
          undefined,
          "export SWITCHYARD_TOKEN=… (for `npm start`: dev-admin-token), then switchyard status",
        );
      }
    }
    if (/\s/.test(value))
      throw usageError("the admin token contains whitespace; check SWITCHYARD_TOKEN or --token-file");
    cached = value;
    return value;
  };
  return { url, urlSource, token };
}
