/**
 * The clock the tests move by hand. The test entry (test/worker.ts) hands it to the control plane and the guard
 * at construction; it reads the real time until a test fixes it, and again after `release()`.
 */
let fixed: number | null = null;

export const testClock = {
  now: (): number => fixed ?? Date.now(),
  /** Fixes the clock at `at` (ms since the epoch). */
  set(at: number): void {
    fixed = at;
  },
  /** Moves a fixed clock on by `ms` (fixing it at the real time first if it was not fixed). */
  advance(ms: number): number {
    fixed = (fixed ?? Date.now()) + ms;
    return fixed;
  },
  release(): void {
    fixed = null;
  },
};
