/**
 * Admin commands (CONTRACT §4.2) as zod schemas: the request bodies of the admin API, and the input of the
 * pure `apply`. Bodies are strict: a misspelled field is a 400, never silently ignored.
 */
import { z } from "zod";
import { AgentId, type Manifest, OverrideSet, Version } from "../release/schema";
import { OverrideId, Scope } from "../routing/override";

export const Reason = z.string().trim().min(1, "a non-empty reason is required").max(2000);

export const PromoteBody = z.strictObject({ version: Version, reason: Reason });
/** `percent` may be left out when the release has a plan: the canary then starts at the plan's first step. */
export const CanaryBody = z.strictObject({
  version: Version,
  percent: z.number().min(0).max(100).multipleOf(0.01, "percent moves in steps of 0.01").optional(),
  reason: Reason,
});
export const ReasonBody = z.strictObject({ reason: Reason });
export const RollbackBody = z.strictObject({ reason: Reason, to: z.union([z.literal("off"), Version]).optional() });
export const OverrideBody = z.strictObject({
  scope: Scope,
  set: OverrideSet,
  reason: Reason,
  ttlSeconds: z
    .int()
    .min(1)
    .max(90 * 86_400)
    .optional(),
});

export type Command =
  | { kind: "release.put"; agent: string; version: string; manifest: Manifest; digest: string; reason?: string }
  | { kind: "promote"; agent: string; version: string; reason: string }
  | { kind: "canary.set"; agent: string; version: string; percent?: number | undefined; reason: string }
  | { kind: "canary.abort"; agent: string; reason: string }
  | { kind: "canary.pause"; agent: string; reason: string }
  | { kind: "canary.resume"; agent: string; reason: string }
  /** The plan's own move (the guard's): from step `from` (0-based) of the canary `version`'s plan to the next. */
  | { kind: "plan.advance"; agent: string; version: string; from: number; reason: string }
  | { kind: "rollback"; agent: string; to?: string; reason: string }
  | {
      kind: "override.add";
      id: string;
      scope: z.infer<typeof Scope>;
      set: z.infer<typeof OverrideSet>;
      reason: string;
      ttlSeconds?: number;
      /** Set by the guard when a canary's trigger lays the override: the breach also stops the plan (§4.4). */
      stopsPlan?: boolean;
    }
  | { kind: "override.remove"; id: string; reason: string }
  | { kind: "override.expire"; ids: string[] };

export const CommandKinds = [
  "release.put",
  "promote",
  "canary.set",
  "canary.abort",
  "canary.pause",
  "canary.resume",
  "plan.advance",
  "rollback",
  "override.add",
  "override.remove",
  "override.expire",
] as const;

export { AgentId, OverrideId, Version };
