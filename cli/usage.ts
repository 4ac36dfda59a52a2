/** The synopsis of CONTRACT §5, one entry per command, printed by `--help` and with every usage error. */

export const USAGE: Record<string, string> = {
  status: "switchyard status [agent] [--watch [--interval 2s]] [--json]",
  rollback: "switchyard rollback <agent> [--to <version>|off] --reason R",
  "canary start":
    "switchyard canary start <agent> <version> [--percent P] --reason R   # no percent: the plan's first step",
  "canary set": "switchyard canary set <agent> --percent P --reason R",
  "canary abort": "switchyard canary abort <agent> --reason R",
  "canary pause": "switchyard canary pause <agent> --reason R",
  "canary resume": "switchyard canary resume <agent> --reason R",
  lane: "switchyard lane <agent> draft-only|off|approval <risk>...|workflow <name> [--release V] [--ttl 30m|2h|3600s] --reason R",
  "tool disable": "switchyard tool disable <agent> <tool>... [--release V] [--ttl …] --reason R",
  "tool scope": "switchyard tool scope <agent> <tool>... [--release V] [--ttl …] --reason R",
  lift: "switchyard lift <override-id> --reason R",
  panic: "switchyard panic [--agent A] [--ttl …] --reason R [--yes]",
  unpanic: "switchyard unpanic [--agent A] --reason R [--yes]",
  "release push": "switchyard release push <manifest.json> --reason R",
  promote: "switchyard promote <agent> <version> --reason R",
  diff: "switchyard diff <agent> <from> <to>",
  explain: "switchyard explain <agent> [--key K] [--release V]",
  audit: "switchyard audit [agent] [--limit N]",
  timeline: "switchyard timeline <agent> [--since 30m|<ISO time>]",
  wait: "switchyard wait <agent> [--timeout 30m] [--interval 1s]",
};

export const MUTATIONS = new Set([
  "rollback",
  "canary start",
  "canary set",
  "canary abort",
  "canary pause",
  "canary resume",
  "lane",
  "tool disable",
  "tool scope",
  "lift",
  "panic",
  "unpanic",
  "release push",
  "promote",
]);

const COMMON = `Every mutation also takes --if-revision N (sent as If-Match) and --dry-run (show the request, send nothing);
its reason may come from SWITCHYARD_REASON instead of --reason.

Options for every command:
  --url URL          the gateway (default: SWITCHYARD_URL, else http://127.0.0.1:8787)
  --token-file PATH  read the admin token from a file (default: SWITCHYARD_TOKEN)
  --json             JSON output (the default when stdout is not a terminal); --table forces a table
  --help, --version

Exit codes: 0 success, 1 refused by the gateway, 2 usage, 3 gateway unreachable, 4 wait timed out.
Reference and JSON shapes: docs/cli.md`;

export function helpText(command?: string): string {
  if (command !== undefined && USAGE[command] !== undefined) {
    const kind = MUTATIONS.has(command) ? "  (a mutation: --reason required)" : "";
    return `usage: ${USAGE[command]}${kind}\n\n${COMMON}\n`;
  }
  const lines = Object.values(USAGE).map((u) => `  ${u}`);
  return `switchyard: every operator move on a Switchyard gateway in one command.\n\nusage:\n${lines.join("\n")}\n\n${COMMON}\n`;
}
