/**
 * A refusal by the gateway (its JSON error, CONTRACT §2.1) as the operator should read it: what went wrong, in
 * the gateway's words, and the next command to run. 403 names the role needed, 412 the revision the state is
 * at now, 422 every readiness gap, 400 every field problem. All are exit 1.
 */
import { CliError, EXIT, type Problem } from "./errors";

export interface HintContext {
  /** The command line as typed, without flags that could hold secrets (there are none: tokens never are flags). */
  commandLine: string;
  agent?: string | undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function problemsIn(details: unknown): Problem[] | undefined {
  if (!isRecord(details) || !Array.isArray(details.problems)) return undefined;
  return details.problems.filter(isRecord).map((p) => ({ path: String(p.path ?? ""), message: String(p.message) }));
}

function next(status: number, code: string, details: unknown, hints: HintContext): string | undefined {
  const agent = hints.agent ?? "<agent>";
  const d = isRecord(details) ? details : {};
  switch (code) {
    case "unauthorized":
      return "set SWITCHYARD_TOKEN (or --token-file) to a valid admin token, then: switchyard status";
    case "forbidden":
      return typeof d.requiredRole === "string"
        ? `ask someone with the ${d.requiredRole} role (or higher) to run: ${hints.commandLine}`
        : "switchyard status (see what your token may reach)";
    case "revision_mismatch":
      return (
        `the state moved on; look again with: switchyard status ${hints.agent ?? ""}`.trimEnd() +
        (typeof d.revision === "number" ? `, then re-run with --if-revision ${d.revision} if it still applies` : "")
      );
    case "unknown_agent":
      return "switchyard status (lists every agent)";
    case "unknown_release":
      return `switchyard status ${agent} (lists its stored releases), or: switchyard release push <manifest.json>`;
    case "unknown_override":
      return "switchyard status (lists the overrides in force)";
    case "not_ready":
      return "answer what is missing in the manifest's rollout, store it as a new version: switchyard release push <manifest.json>";
    case "release_exists":
      return "a version is immutable: give the manifest a new version, then: switchyard release push <manifest.json>";
    case "already_active":
      return `switchyard status ${agent}`;
    case "no_fallback":
      return `name a release that has served: switchyard rollback ${agent} --to <version> --reason R`;
    case "nothing_active":
      return `switchyard status ${agent}`;
    case "outcome_unknown":
      return `read what happened before retrying: switchyard audit ${hints.agent ?? ""} --limit 5`.replace("  ", " ");
    case "not_found":
      return "this gateway does not offer that route; it may be older than this CLI (switchyard --version)";
    default:
      return status >= 500 ? "retry in a moment; if it persists, read the gateway's logs" : undefined;
  }
}

export function refusalOf(status: number, error: Record<string, unknown>, hints: HintContext): CliError {
  const code = String(error.code);
  const message = typeof error.message === "string" ? error.message : code;
  const details = error.details;
  let text = `refused by the gateway (${status} ${code}): ${message}`;
  if (code === "not_ready" && isRecord(details) && Array.isArray(details.missing)) {
    text += details.missing.map((m) => `\n  missing: ${String(m)}`).join("");
  }
  return new CliError(EXIT.refused, text, {
    code,
    status,
    details,
    problems: problemsIn(details),
    next: next(status, code, details, hints),
  });
}
