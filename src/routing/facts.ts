/**
 * The request facts a decision is made on — the sticky key and the pin — read from their raw values in one
 * place, so the data plane (headers `x-agent-key`, `x-agent-release`) and the admin `explain` route (query
 * `key`, `release`) can never read them differently (CONTRACT §2.1, §4.2).
 */
import type { RequestFacts } from "./decide";

export const MAX_KEY_LENGTH = 512;
/** A pin only ever selects among live releases (versions are ≤ 64 characters), so a longer one matches none. */
export const MAX_PIN_LENGTH = 128;

export type FactsOutcome = { ok: true; facts: RequestFacts } | { ok: false; code: "bad_key"; message: string };

export function requestFacts(
  agent: string,
  rawKey: string | null | undefined,
  rawPin: string | null | undefined,
): FactsOutcome {
  const key = rawKey ?? null;
  if (key !== null && key.length > MAX_KEY_LENGTH) {
    return { ok: false, code: "bad_key", message: `x-agent-key is longer than ${MAX_KEY_LENGTH} characters` };
  }
  // An empty key or pin names nothing: not a key (no canary exposure), not a pin (not reported as ignored).
  const pin = rawPin?.slice(0, MAX_PIN_LENGTH) || null;
  return { ok: true, facts: { agent, key: key === "" ? null : key, pin } };
}
