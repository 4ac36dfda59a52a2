/**
 * The console's buttons as data: each form posts one `move`, parsed here with zod (strict: an unknown field is a
 * 400 and nothing changes) into the same command the admin API would send. Also which moves are riskier (they
 * are confirmed on a page showing the diff and the traffic share, with If-Match), and each move's inverse,
 * offered as "undo" on the result page. The control plane still decides every role (control/apply.ts).
 */
import { z } from "zod";
import { Reason } from "../control/commands";
import type { Role } from "../control/roles";
import { OverrideSet, ToolName, Version } from "../release/schema";
import { type Override, OverrideId } from "../routing/override";
import type { Pointers } from "../routing/snapshot";
import type { CommandInput } from "../state/control-plane";

const Optional = <T extends z.ZodType>(t: T) => z.union([z.literal("").transform(() => undefined), t]).optional();
const Ttl = Optional(
  z.coerce
    .number()
    .int()
    .min(60)
    .max(90 * 86_400),
);

export const Move = z.discriminatedUnion("move", [
  z.strictObject({ move: z.literal("rollback"), to: Optional(z.union([z.literal("off"), Version])), reason: Reason }),
  z.strictObject({ move: z.literal("canary.abort"), reason: Reason }),
  z.strictObject({ move: z.literal("canary.pause"), reason: Reason }),
  z.strictObject({ move: z.literal("canary.resume"), reason: Reason }),
  z.strictObject({
    move: z.literal("canary.set"),
    version: Version,
    percent: z.coerce.number().min(0).max(100).multipleOf(0.01),
    reason: Reason,
  }),
  z.strictObject({ move: z.literal("promote"), version: Version, reason: Reason }),
  z.strictObject({
    move: z.literal("lane"),
    mode: z.enum(["draft-only", "off"]),
    release: Optional(Version),
    ttl: Ttl,
    reason: Reason,
  }),
  z.strictObject({
    move: z.literal("tool.disable"),
    tool: ToolName,
    release: Optional(Version),
    ttl: Ttl,
    reason: Reason,
  }),
  z.strictObject({ move: z.literal("override.lift"), id: OverrideId, reason: Reason }),
  z.strictObject({
    move: z.literal("override.restore"),
    scopeAll: Optional(z.literal("1")),
    release: Optional(Version),
    set: z
      .string()
      .max(4000)
      .transform((s, ctx) => {
        try {
          return JSON.parse(s) as unknown;
        } catch {
          ctx.addIssue({ code: "custom", message: "not JSON" });
          return z.NEVER;
        }
      })
      .pipe(OverrideSet),
    ttl: Ttl,
    reason: Reason,
  }),
]);
export type Move = z.infer<typeof Move>;

/** The fields of a move as a form posts them (for hidden inputs and links). */
export type MoveFields = Record<string, string>;

export function commandOf(agent: string, m: Move): CommandInput {
  const scope = (release: string | undefined) => (release === undefined ? { agent } : { agent, release });
  const ttl = (t: number | undefined) => (t === undefined ? {} : { ttlSeconds: t });
  switch (m.move) {
    case "rollback":
      return { kind: "rollback", agent, reason: m.reason, ...(m.to === undefined ? {} : { to: m.to }) };
    case "canary.abort":
    case "canary.pause":
    case "canary.resume":
      return { kind: m.move, agent, reason: m.reason };
    case "canary.set":
      return { kind: "canary.set", agent, version: m.version, percent: m.percent, reason: m.reason };
    case "promote":
      return { kind: "promote", agent, version: m.version, reason: m.reason };
    case "lane":
      return { kind: "override.add", scope: scope(m.release), set: { mode: m.mode }, reason: m.reason, ...ttl(m.ttl) };
    case "tool.disable":
      return {
        kind: "override.add",
        scope: scope(m.release),
        set: { disableTools: [m.tool] },
        reason: m.reason,
        ...ttl(m.ttl),
      };
    case "override.restore":
      return {
        kind: "override.add",
        scope: m.scopeAll ? { agent: "*" } : scope(m.release),
        set: m.set,
        reason: m.reason,
        ...ttl(m.ttl),
      };
    case "override.lift":
      return { kind: "override.remove", id: m.id, reason: m.reason };
  }
}

/** Riskier moves (CONTRACT §4.1 releaser): shown with their diff and traffic share before they are sent. */
export function isRiskier(m: Move, p: Pointers): boolean {
  if (m.move === "promote" || m.move === "override.lift" || m.move === "canary.resume") return true;
  if (m.move === "canary.set")
    return p.canary === null || p.canary.version !== m.version || m.percent > p.canary.percent;
  return false;
}

/** The least role that may make a move, for showing or hiding it (apply.ts has the last word). */
export function roleFor(m: Pick<Move, "move">, riskier: boolean): Role {
  return riskier || m.move === "promote" || m.move === "override.lift" || m.move === "canary.resume"
    ? "releaser"
    : "operator";
}

/** The move that puts back what `m` changed, from the pointers and overrides before it; null when none exists. */
export function inverseOf(
  m: Move,
  before: Pointers,
  result: Record<string, unknown>,
  lifted: Override | undefined,
  now: number,
): MoveFields | null {
  switch (m.move) {
    case "rollback":
    case "promote":
      return before.active !== null && before.active !== "off" ? { move: "rollback", to: before.active } : null;
    case "canary.abort":
      return before.canary === null
        ? null
        : { move: "canary.set", version: before.canary.version, percent: String(before.canary.percent) };
    case "canary.pause":
      return { move: "canary.resume" };
    case "canary.resume":
      return { move: "canary.pause" };
    case "canary.set":
      return before.canary === null
        ? { move: "canary.abort" }
        : { move: "canary.set", version: before.canary.version, percent: String(before.canary.percent) };
    case "lane":
    case "tool.disable":
    case "override.restore":
      return typeof result.id === "string" ? { move: "override.lift", id: result.id } : null;
    case "override.lift": {
      if (lifted === undefined) return null;
      const left = lifted.expiresAt === undefined ? null : Math.floor((Date.parse(lifted.expiresAt) - now) / 1000);
      if (left !== null && left < 60) return null;
      return {
        move: "override.restore",
        set: JSON.stringify(lifted.set),
        ...(lifted.scope.agent === "*" ? { scopeAll: "1" } : {}),
        ...(lifted.scope.release === undefined ? {} : { release: lifted.scope.release }),
        ...(left === null ? {} : { ttl: String(left) }),
      };
    }
  }
}

/** A move in words, for result and confirm pages. */
export function describe(m: Pick<Move, "move"> & Partial<Record<string, unknown>>): string {
  switch (m.move) {
    case "rollback":
      return m.to ? `Roll back to ${String(m.to)}` : "Roll back to the fallback";
    case "canary.abort":
      return "Abort the canary";
    case "canary.pause":
      return "Pause the canary's plan";
    case "canary.resume":
      return "Resume the canary's plan";
    case "canary.set":
      return `Set the canary ${String(m.version)} to ${String(m.percent)} %`;
    case "promote":
      return `Promote ${String(m.version)}`;
    case "lane":
      return `Switch to ${String(m.mode)}${m.release ? ` for ${String(m.release)}` : ""}`;
    case "tool.disable":
      return `Disable the tool ${String(m.tool)}${m.release ? ` for ${String(m.release)}` : ""}`;
    case "override.lift":
      return `Lift the override ${String(m.id)}`;
    case "override.restore":
      return "Lay the lifted override again";
    default:
      return String(m.move);
  }
}
