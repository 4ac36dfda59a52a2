/**
 * The bounds of the control state (docs/storage.md#bounds). They keep the largest state that can be stored
 * and published well inside the platform's limits — KV's 25 MiB per value, a Durable Object RPC message's
 * 32 MiB, its SQLite's 10 GB — so a change, an emergency rollback included, can always be published. Pure:
 * each check returns a refusal naming the limit, or null.
 */
import { canonicalJson } from "../release/digest";
import type { Manifest } from "../release/schema";
import type { Override } from "../routing/override";
import type { Refusal } from "./model";

export const LIMITS = {
  agents: 10_000,
  releases_per_agent: 1_000,
  overrides: 500,
  override_bytes: 8 * 1024,
  manifest_bytes: 256 * 1024,
  stored_bytes: 4 * 2 ** 30,
} as const;

export type LimitName = keyof typeof LIMITS;

const utf8Bytes = (text: string): number => new TextEncoder().encode(text).length;

function exceeded(limit: LimitName, actual: number, what: string): Refusal {
  const max = LIMITS[limit];
  return {
    ok: false,
    status: 422,
    code: "limit_exceeded",
    message: `${what}: the limit ${limit} is ${max}, this would make ${actual}`,
    details: { limit, max, actual },
  };
}

/** A manifest about to be stored: its size, its agent's release count, the agent count, the stored total. */
export function checkRelease(
  manifest: Manifest,
  counts: { agents: number; newAgent: boolean; releasesOfAgent: number; storedBytes: number },
): Refusal | null {
  const bytes = utf8Bytes(canonicalJson(manifest));
  if (bytes > LIMITS.manifest_bytes) return exceeded("manifest_bytes", bytes, "the manifest is too large");
  if (counts.newAgent && counts.agents + 1 > LIMITS.agents)
    return exceeded("agents", counts.agents + 1, "no more agents can be added");
  if (counts.releasesOfAgent + 1 > LIMITS.releases_per_agent)
    return exceeded("releases_per_agent", counts.releasesOfAgent + 1, "the agent has too many releases");
  if (counts.storedBytes + bytes > LIMITS.stored_bytes)
    return exceeded("stored_bytes", counts.storedBytes + bytes, "the control plane's manifest storage is full");
  return null;
}

/** An override about to be added to `inForce` overrides. */
export function checkOverride(override: Override, inForce: number): Refusal | null {
  const bytes = utf8Bytes(JSON.stringify(override));
  if (bytes > LIMITS.override_bytes) return exceeded("override_bytes", bytes, "the override is too large");
  if (inForce + 1 > LIMITS.overrides) return exceeded("overrides", inForce + 1, "too many overrides are in force");
  return null;
}
