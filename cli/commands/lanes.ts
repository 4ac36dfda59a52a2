/**
 * Safer lanes (CONTRACT §1.2): `lane` (draft-only, off, forced approval, a workflow), `tool disable|scope`, and
 * `lift` to remove an override. Each lays or removes one override; bodies are checked with the admin API's
 * `OverrideBody` first, so a misspelled risk or tool name never leaves the terminal.
 */
import { OverrideBody, ReasonBody } from "../../src/control/commands";
import type { OverrideSet } from "../../src/release/schema";
import { Version } from "../../src/release/schema";
import { OverrideId } from "../../src/routing/override";
import { flag } from "../argv";
import { setText } from "../change";
import { type Command, type Ctx, positionals, usageOf } from "../context";
import { parseDuration } from "../duration";
import { EXIT } from "../errors";
import { checked, ifRevisionOf, mutate, reasonOf } from "../mutation";
import { valid, validAgent } from "../state";

export function ttlOf(ctx: Ctx): number | undefined {
  const raw = flag(ctx.inv, "ttl");
  if (raw === undefined) return undefined;
  const seconds = parseDuration(raw);
  if (seconds === null || seconds === 0)
    throw usageOf(ctx, `--ttl must be a duration such as 30m, 2h or 3600s, got "${raw}"`);
  return seconds;
}

/** An override's scope: every agent (`*`), one agent, or one release of it (`--release`). */
function scopeOf(ctx: Ctx, agentArg: string): { agent: string; release?: string } {
  const agent = agentArg === "*" ? "*" : validAgent(ctx, agentArg);
  if (agent !== "*") ctx.hints.agent = agent;
  const release = flag(ctx.inv, "release");
  if (release === undefined) return { agent };
  if (agent === "*") throw usageOf(ctx, "--release needs a named agent, not *");
  return { agent, release: valid(ctx, Version, release, "--release") };
}

async function layOverride(ctx: Ctx, agentArg: string, set: OverrideSet): Promise<number> {
  const scope = scopeOf(ctx, agentArg);
  const ttlSeconds = ttlOf(ctx);
  const body = checked(ctx, OverrideBody, {
    scope,
    set,
    reason: reasonOf(ctx),
    ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
  });
  const where = scope.agent === "*" ? "every agent" : scope.release ? `${scope.agent}@${scope.release}` : scope.agent;
  await mutate(ctx, {
    agent: scope.agent === "*" ? null : scope.agent,
    summary: `lay ${setText(set)} on ${where}`,
    request: { method: "POST", path: "/overrides", body, ifRevision: ifRevisionOf(ctx) },
  });
  return EXIT.ok;
}

export const lane: Command = async (ctx) => {
  const [agentArg, knob, ...rest] = positionals(ctx, ["agent", "lane"], { rest: true });
  const none = (what: string) => {
    if (rest.length > 0) throw usageOf(ctx, `${what} takes no further arguments, got "${rest.join(" ")}"`);
  };
  let set: Record<string, unknown>;
  switch (knob) {
    case "draft-only":
    case "off":
      none(knob);
      set = { mode: knob };
      break;
    case "approval":
      if (rest.length === 0) throw usageOf(ctx, "approval needs at least one risk class: read, write, destructive");
      set = { forceApproval: rest };
      break;
    case "workflow":
      if (rest.length !== 1) throw usageOf(ctx, "workflow needs exactly one workflow name");
      set = { workflow: rest[0] };
      break;
    default:
      throw usageOf(ctx, `unknown lane "${knob}": draft-only, off, approval <risk>… or workflow <name>`);
  }
  return layOverride(ctx, agentArg as string, set as OverrideSet);
};

function tools(kind: "disableTools" | "toolScope"): Command {
  return async (ctx) => {
    const [agentArg, ...names] = positionals(ctx, ["agent", "tool"], { rest: true });
    return layOverride(ctx, agentArg as string, { [kind]: names } as OverrideSet);
  };
}

export const toolDisable = tools("disableTools");
export const toolScope = tools("toolScope");

export const lift: Command = async (ctx) => {
  const [idArg] = positionals(ctx, ["override-id"]);
  const id = valid(ctx, OverrideId, idArg as string, "override id");
  const body = checked(ctx, ReasonBody, { reason: reasonOf(ctx) });
  await mutate(ctx, {
    agent: null,
    summary: `lift override ${id}`,
    request: { method: "DELETE", path: `/overrides/${id}`, body, ifRevision: ifRevisionOf(ctx) },
  });
  return EXIT.ok;
};
