/**
 * The clock of a Durable Object, injected at construction (tests pass one they move by hand; the runtime passes
 * none, so it is `Date.now`). Decisions are made on it; alarms are set on the runtime's own clock, by the
 * distance from now, so a test's clock can never make an alarm spin or stall.
 */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** The runtime time at which to wake for a moment `at` on `clock`, no sooner than `minMs` from now. */
export const alarmTime = (clock: Clock, at: number, minMs = 0): number => Date.now() + Math.max(minMs, at - clock());
