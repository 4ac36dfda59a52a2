/**
 * Durations as operators type them: `30m`, `2h`, `3600s`, `1d`, and sums such as `1h30m`. A bare number is
 * refused: "30" could mean seconds or minutes, and a lane that lasts 60 times too long is not a safe guess.
 */

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds, or null when the text is not a duration. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (!/^(\d+[smhd])+$/.test(trimmed)) return null;
  let seconds = 0;
  for (const [, n, unit] of trimmed.matchAll(/(\d+)([smhd])/g)) {
    seconds += Number(n) * (UNIT_SECONDS[unit as string] as number);
  }
  return Number.isSafeInteger(seconds) ? seconds : null;
}

/** A short human form: 90 → "1m30s", 7200 → "2h". */
export function formatDuration(totalSeconds: number): string {
  let s = Math.max(0, Math.round(totalSeconds));
  if (s === 0) return "0s";
  const parts: string[] = [];
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  return parts.slice(0, 2).join("");
}
