/**
 * Pointer moves (CONTRACT §4.2): rollback, promote, and the canary's start, set, abort, pause and resume.
 * Bodies are checked with the admin API's own schemas (src/control/commands.ts) before they are sent.
 */
import { CanaryBody, PromoteBody, ReasonBody, RollbackBody } from "../../src/control/commands";
import { Version } from "../../src/release/schema";
import { flag } from "../argv";
import { type Command, type Ctx, positionals, requireFlag, usageOf } from "../context";
import { CliError, EXIT } from "../errors";
import { checked, ifRevisionOf, mutate, reasonOf } from "../mutation";
import { agentIn, readState, valid, validAgent } from "../state";

const enc = encodeURIComponent;

function percentOf(ctx: Ctx): number {
  const raw = requireFlag(ctx, "percent").trim().replace(/%$/, "");
  const n = Number(raw);
  if (raw === "" || !Number.isFinite(n)) throw usageOf(ctx, `--percent must be a number from 0 to 100, got "${raw}"`);
  return n;
}

export const rollback: Command = async (ctx) => {
  const [agentArg] = positionals(ctx, ["agent"]);
  const agent = validAgent(ctx, agentArg as string);
  ctx.hints.agent = agent;
  const to = flag(ctx.inv, "to");
  const body = checked(ctx, RollbackBody, { reason: reasonOf(ctx), ...(to === undefined ? {} : { to }) });
  await mutate(ctx, {
    agent,
    summary: `roll back ${agent}${to === undefined ? " to its fallback" : ` to ${to}`}`,
    request: { method: "POST", path: `/agents/${enc(agent)}/rollback`, body, ifRevision: ifRevisionOf(ctx) },
  });
  return EXIT.ok;
};

export const promote: Command = async (ctx) => {
  const [agentArg, version] = positionals(ctx, ["agent", "version"]);
  const agent = validAgent(ctx, agentArg as string);
  ctx.hints.agent = agent;
  const body = checked(ctx, PromoteBody, {
    version: valid(ctx, Version, version as string, "version"),
    reason: reasonOf(ctx),
  });
  await mutate(ctx, {
    agent,
    summary: `promote ${agent}@${version}`,
    request: { method: "POST", path: `/agents/${enc(agent)}/promote`, body, ifRevision: ifRevisionOf(ctx) },
  });
  return EXIT.ok;
};

export const canaryStart: Command = async (ctx) => {
  const [agentArg, version] = positionals(ctx, ["agent", "version"]);
  const agent = validAgent(ctx, agentArg as string);
  ctx.hints.agent = agent;
  // Without --percent, a release with a plan starts at its first step (CONTRACT §4.4); one without is refused.
  const percent = flag(ctx.inv, "percent") === undefined ? undefined : percentOf(ctx);
  const body = checked(ctx, CanaryBody, {
    version: valid(ctx, Version, version as string, "version"),
    ...(percent === undefined ? {} : { percent }),
    reason: reasonOf(ctx),
  });
  await mutate(ctx, {
    agent,
    summary: `canary ${agent}@${version} ${percent === undefined ? "at its plan's first step" : `at ${percent}%`}`,
    request: { method: "POST", path: `/agents/${enc(agent)}/canary`, body, ifRevision: ifRevisionOf(ctx) },
  });
  return EXIT.ok;
};

/**
 * A new percent for the running canary. Its version is read from the state first, and the move is sent with
 * If-Match of that read, so it can never land on another canary started meanwhile; when the state moved for
 * another reason, it reads again (three tries). With `--if-revision`, that revision is used and never retried.
 */
export const canarySet: Command = async (ctx) => {
  const [agentArg] = positionals(ctx, ["agent"]);
  const agent = validAgent(ctx, agentArg as string);
  ctx.hints.agent = agent;
  const percent = percentOf(ctx);
  const reason = reasonOf(ctx);
  const given = ifRevisionOf(ctx);
  for (let attempt = 1; ; attempt++) {
    const state = await readState(ctx);
    const canary = agentIn(state, agent).canary;
    if (canary === null) {
      throw new CliError(EXIT.refused, `no canary is running for ${agent}`, {
        code: "no_canary",
        next: `switchyard canary start ${agent} <version> --percent ${percent} --reason R`,
      });
    }
    const body = checked(ctx, CanaryBody, { version: canary.version, percent, reason });
    try {
      await mutate(ctx, {
        agent,
        summary: `canary ${agent}@${canary.version} ${canary.percent}% → ${percent}%`,
        request: { method: "POST", path: `/agents/${enc(agent)}/canary`, body, ifRevision: given ?? state.revision },
      });
      return EXIT.ok;
    } catch (err) {
      if (given !== undefined || attempt >= 3 || (err as CliError).extra?.code !== "revision_mismatch") throw err;
    }
  }
};

function reasonOnly(verb: "abort" | "pause" | "resume"): Command {
  return async (ctx) => {
    const [agentArg] = positionals(ctx, ["agent"]);
    const agent = validAgent(ctx, agentArg as string);
    ctx.hints.agent = agent;
    const body = checked(ctx, ReasonBody, { reason: reasonOf(ctx) });
    const path = `/agents/${enc(agent)}/canary${verb === "abort" ? "" : `/${verb}`}`;
    await mutate(ctx, {
      agent,
      summary: `${verb} the canary of ${agent}`,
      request: { method: verb === "abort" ? "DELETE" : "POST", path, body, ifRevision: ifRevisionOf(ctx) },
    });
    return EXIT.ok;
  };
}

export const canaryAbort = reasonOnly("abort");
export const canaryPause = reasonOnly("pause");
export const canaryResume = reasonOnly("resume");
