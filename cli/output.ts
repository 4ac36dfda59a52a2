/**
 * How results reach the operator: aligned tables on a terminal, JSON with `--json` or whenever stdout is not a
 * terminal (a pipe, a CI log), `--table` to force tables. Colours only when the stream is a terminal and
 * `NO_COLOR` is unset (no-color.org). Errors go to stderr as text; in JSON mode they are also written to stdout
 * as `{ "error": … }`, so a script always gets one parseable object.
 */
import type { CliError } from "./errors";

type Paint = (text: string) => string;
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
export const visibleLength = (text: string): number => text.replace(ANSI, "").length;

export interface Painter {
  bold: Paint;
  dim: Paint;
  red: Paint;
  green: Paint;
  yellow: Paint;
  cyan: Paint;
}

const code =
  (open: number, close: number): Paint =>
  (t) =>
    `\x1b[${open}m${t}\x1b[${close}m`;
export const PLAIN: Painter = {
  bold: (t) => t,
  dim: (t) => t,
  red: (t) => t,
  green: (t) => t,
  yellow: (t) => t,
  cyan: (t) => t,
};
const COLOURS: Painter = {
  bold: code(1, 22),
  dim: code(2, 22),
  red: code(31, 39),
  green: code(32, 39),
  yellow: code(33, 39),
  cyan: code(36, 39),
};

export interface Streams {
  stdout: { isTTY?: boolean; write(text: string): unknown };
  stderr: { isTTY?: boolean; write(text: string): unknown };
}

export class Output {
  readonly json: boolean;
  readonly tty: boolean;
  readonly paint: Painter;
  private readonly errPaint: Painter;

  constructor(
    readonly streams: Streams,
    mode: { json: boolean; table: boolean },
    env: NodeJS.ProcessEnv,
  ) {
    this.tty = streams.stdout.isTTY === true;
    this.json = mode.json || (!mode.table && !this.tty);
    const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== "";
    this.paint = this.tty && !noColor ? COLOURS : PLAIN;
    this.errPaint = streams.stderr.isTTY === true && !noColor ? COLOURS : PLAIN;
  }

  line(text = ""): void {
    this.streams.stdout.write(`${text}\n`);
  }

  /** Progress and notes for a person: stderr, so stdout stays the result (JSON or table). */
  note(text: string): void {
    this.streams.stderr.write(`${text}\n`);
  }

  value(v: unknown): void {
    this.streams.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
  }

  /** Either the JSON value or the text lines, by mode. */
  result(v: unknown, text: () => string[]): void {
    if (this.json) this.value(v);
    else for (const l of text()) this.line(l);
  }

  error(err: CliError): void {
    const p = this.errPaint;
    const lines = [`${p.red("switchyard:")} ${err.message}`];
    for (const pr of err.extra.problems ?? []) lines.push(`  ${pr.path || "(body)"}: ${pr.message}`);
    if (err.extra.usage) lines.push(`usage: ${err.extra.usage}`);
    if (err.extra.next) lines.push(`${p.bold("next:")} ${err.extra.next}`);
    this.streams.stderr.write(`${lines.join("\n")}\n`);
    if (this.json) {
      const e = err.extra;
      this.value({
        error: {
          code: e.code ?? "error",
          message: err.message,
          ...(e.status === undefined ? {} : { status: e.status }),
          ...(e.problems === undefined ? {} : { problems: e.problems }),
          ...(e.details === undefined ? {} : { details: e.details }),
        },
        next: e.next ?? null,
        exit: err.exit,
      });
    }
  }
}

/** Columns padded to their widest cell (colour codes not counted); the last column is not padded. */
export function table(header: string[], rows: string[][], paint: Painter): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ""))));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat((widths[i] ?? 0) - visibleLength(c))))
      .join("  ")
      .trimEnd();
  return [paint.dim(fmt(header)), ...rows.map(fmt)];
}

/** Long free text (reasons, values) cut for a table cell; --json always has it whole. */
export const cut = (text: string, max = 60): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
