/**
 * Overrides (CONTRACT §1.2): a restriction laid over releases at a scope, with a reason, an actor and an
 * optional expiry. Times are ISO-8601 strings on the wire and in storage.
 */
import { z } from "zod";
import { AgentId, OverrideSet, Version } from "../release/schema";

export const Scope = z
  .strictObject({
    agent: z.union([z.literal("*"), AgentId]),
    release: Version.optional(),
  })
  .refine((s) => !(s.agent === "*" && s.release !== undefined), "a release scope needs a named agent");

export const OverrideId = z.string().regex(/^ovr_[A-Za-z0-9]{1,40}$/, "must look like ovr_…");

export const Override = z.strictObject({
  id: OverrideId,
  scope: Scope,
  set: OverrideSet,
  reason: z.string().min(1).max(2000),
  actor: z.string().min(1).max(256),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().optional(),
});

export type Scope = z.infer<typeof Scope>;
export type Override = z.infer<typeof Override>;

/** How specific a scope is: release (2) > agent (1) > every agent (0). The most specific `workflow` wins. */
export const specificity = (s: Scope): number => (s.release !== undefined ? 2 : s.agent === "*" ? 0 : 1);

export function scopeMatches(s: Scope, agent: string, release: string): boolean {
  if (s.agent === "*") return true;
  return s.agent === agent && (s.release === undefined || s.release === release);
}
