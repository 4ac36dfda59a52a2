/**
 * Shared by the benchmark scripts: the machine description, median/min/max over repeated rounds, the figure
 * shape every bench/<name>/results.json carries ({ name, median, min, max, unit }), and the text table.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { ROOT } from "./build.mjs";

export function machine() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? "unknown",
    cores: cpu.length,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
    /** 1/5/15-minute load averages when the run started: a busy neighbour shows here. */
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** The workerd the Worker runs on locally: the binary's answer, else the npm package's version. */
export function workerdVersion() {
  try {
    const bin = join(ROOT, "node_modules", ".bin", "workerd");
    return execFileSync(bin, ["--version"], { encoding: "utf8", timeout: 10_000 }).trim();
  } catch {
    try {
      return `workerd ${JSON.parse(readFileSync(join(ROOT, "node_modules", "workerd", "package.json"), "utf8")).version}`;
    } catch {
      return null;
    }
  }
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One figure from the values of repeated rounds. */
export function figure(name, values, unit, extra = {}) {
  return { name, median: median(values), min: Math.min(...values), max: Math.max(...values), unit, ...extra };
}

export function fmt(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return "-";
  const a = Math.abs(x);
  if (a >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (a >= 1e4) return `${(x / 1e3).toFixed(1)} k`;
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

/** A plain-text table of figures: name, median, min, max, unit. */
export function table(figures) {
  const rows = [["figure", "median", "min", "max", "unit"]];
  for (const f of figures) rows.push([f.name, fmt(f.median), fmt(f.min), fmt(f.max), f.unit]);
  const width = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r) =>
    r.map((cell, c) => (c === 0 || c === 4 ? cell.padEnd(width[c]) : cell.padStart(width[c]))).join("  ");
  return [line(rows[0]), width.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

/** Writes `value` as JSON in the repository's format (biome), so committed results pass `npm run check`. */
export function writeJson(path, value) {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
  try {
    execFileSync(join(ROOT, "node_modules", ".bin", "biome"), ["format", "--write", path], {
      cwd: ROOT,
      stdio: "ignore",
      timeout: 30_000,
    });
  } catch {
    // unformatted but valid JSON: `npx biome format --write` fixes it
  }
}
