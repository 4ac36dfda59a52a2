/**
 * The readiness gate (CONTRACT §4.3): the five questions a release must answer before it may become `active`
 * or `canary`. Returns what is missing, in a fixed order, so the refusal names every gap at once.
 */
import type { Manifest } from "./schema";

export interface ReadinessInput {
  manifest: Manifest;
  digest: string | undefined;
  /** Whether `version` is a stored release of the same agent. */
  releaseExists: (version: string) => boolean;
}

export function readinessGaps({ manifest, digest, releaseExists }: ReadinessInput): string[] {
  const missing: string[] = [];
  const r = manifest.rollout;
  if (!digest) missing.push("digest: the release is not stored");
  const fb = r?.fallback;
  if (fb === undefined) missing.push('rollout.fallback: no stable release to return to (a version, or "off")');
  else if (fb === manifest.version) missing.push("rollout.fallback: a release cannot be its own fallback");
  else if (fb !== "off" && !releaseExists(fb)) missing.push(`rollout.fallback: release ${fb} does not exist`);
  if (!r?.owners?.length) missing.push("rollout.owners: nobody is named to roll it back");
  if (!r?.triggers?.length) missing.push("rollout.triggers: no signal is named that justifies rollback");
  if (!r?.userFallback) missing.push("rollout.userFallback: nothing is said for users if rollback is not enough");
  return missing;
}
