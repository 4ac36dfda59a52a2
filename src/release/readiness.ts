/**
 * The readiness gate (CONTRACT §4.3): the five questions a release must answer before it may become `active`
 * or `canary`, and that each tool it declares can be reached as declared (a tool's MCP server exists). Returns
 * what is missing, in a fixed order, so the refusal names every gap at once.
 */
import type { Manifest, Plan, Trigger } from "./schema";

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
  if (r?.plan) missing.push(...planGaps(r.plan, r.triggers ?? []));
  // A tool must be reachable as declared: its server named in `mcpServers` (CONTRACT §1.1, §2.4).
  for (const t of manifest.tools) {
    if (t.server !== undefined && !Object.hasOwn(manifest.mcpServers ?? {}, t.server))
      missing.push(`tools[${t.name}].server: server ${t.server} is not declared in mcpServers`);
  }
  return missing;
}

/** Whether a percent is a whole number of hundredths (the canary's granularity, §4.2). */
const inHundredths = (p: number): boolean => Math.abs(p * 100 - Math.round(p * 100)) < 1e-6;

/**
 * A plan is well-formed (docs/plans.md) when its percents rise strictly in steps of 0.01 and every step holds at
 * least as long as the longest trigger window: a step is then judged over at least one whole window of its own
 * traffic before the canary grows.
 */
export function planGaps(plan: Plan, triggers: readonly Trigger[]): string[] {
  const gaps: string[] = [];
  const longest = Math.max(0, ...triggers.map((t) => t.windowSeconds));
  plan.steps.forEach((s, i) => {
    const at = `rollout.plan.steps[${i}]`;
    if (!inHundredths(s.percent)) gaps.push(`${at}.percent: ${s.percent} is not in steps of 0.01`);
    const before = plan.steps[i - 1];
    if (before !== undefined && s.percent <= before.percent) {
      gaps.push(`${at}.percent: ${s.percent} does not rise above the step before (${before.percent})`);
    }
    if (s.holdSeconds < longest) {
      gaps.push(`${at}.holdSeconds: ${s.holdSeconds} s is shorter than the longest trigger window (${longest} s)`);
    }
  });
  return gaps;
}
