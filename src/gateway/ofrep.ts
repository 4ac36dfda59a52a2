/**
 * Lane lookups for runtimes that call models and tools directly: the OpenFeature Remote Evaluation Protocol v1
 * (CONTRACT §2.5; open-feature/protocol). `POST /ofrep/v1/evaluate/flags/{key}` evaluates one flag,
 * `POST /ofrep/v1/evaluate/flags` every flag the token may see (or one agent's, with `context.agent`), with a
 * strong `ETag` over the answer and 304 for a matching `If-None-Match`.
 *
 * Each evaluation is the data plane's own `decide()` on the isolate's current snapshot, with `targetingKey` as
 * the sticky key and `context.release` as the pin; a bulk answer is one snapshot throughout. A lookup is not
 * traffic: it is not counted for the guard (it would thin out the rates of real requests) and not logged per
 * evaluation. Auth: a Switchyard token of any role (`runtime` is the least), scoped to its agents (§4.1).
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { authenticate } from "../admin/auth";
import { type Actor, mayActOn } from "../control/roles";
import type { AppEnv } from "../env";
import { OFREP_BODY_LIMIT, readCapped, TooLarge } from "../proxy/limits";
import { sha256Hex } from "../release/digest";
import { AgentId } from "../release/schema";
import { decide } from "../routing/decide";
import { evaluateFlag, FLAG_KINDS, type FlagKind, flagKey, parseFlagKey } from "../routing/flags";
import type { SnapshotIndex } from "../routing/snapshot";
import { snapshotCache } from "../state/isolate";

export const ofrep = new Hono<AppEnv>();

/** The evaluation context (OFREP `context`): free-form, with the fields the gateway reads typed. */
const EvaluationContext = z.looseObject({
  targetingKey: z.string().max(512).optional(),
  release: z.string().max(128).optional(),
  agent: AgentId.optional(),
});

type Failure = { status: number; errorCode: string; errorDetails: string };
type Facts = { key: string | null; pin: string | null; agent: string | null };

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-cache" };

const answer = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });

/** 401/403 carry an explanation for people; OFREP clients read the status alone. */
async function actorOf(c: Context<AppEnv>): Promise<Actor | Response> {
  const actor = await authenticate(c.env, c.req.header("authorization"));
  if (actor !== null) return actor;
  return answer(
    401,
    { errorCode: "GENERAL", errorDetails: "a Switchyard token (role runtime or higher) is required" },
    { "www-authenticate": 'Bearer realm="switchyard-ofrep"' },
  );
}

/**
 * The body's context: PARSE_ERROR for a body that is not a JSON object (400) or is over OFREP_BODY_LIMIT (413,
 * read no further), INVALID_CONTEXT for wrong fields.
 */
async function factsOf(req: Request): Promise<Facts | Failure> {
  let text: string;
  try {
    text = await readCapped(req.body, OFREP_BODY_LIMIT, req.headers.get("content-length"));
  } catch (error) {
    if (!(error instanceof TooLarge)) throw error;
    return {
      status: 413,
      errorCode: "PARSE_ERROR",
      errorDetails: `request bodies are limited to ${OFREP_BODY_LIMIT} bytes`,
    };
  }
  let body: unknown = {};
  try {
    if (text.trim() !== "") body = JSON.parse(text);
  } catch {
    return { status: 400, errorCode: "PARSE_ERROR", errorDetails: "the body is not JSON" };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { status: 400, errorCode: "PARSE_ERROR", errorDetails: "the body must be a JSON object" };
  }
  const raw = (body as { context?: unknown }).context ?? {};
  const parsed = EvaluationContext.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first ? `context.${first.path.join(".")}: ${first.message}` : "context is invalid";
    return { status: 400, errorCode: "INVALID_CONTEXT", errorDetails: where };
  }
  const ctx = parsed.data;
  // As on the data plane: an empty key or pin names nothing.
  return { key: ctx.targetingKey || null, pin: ctx.release || null, agent: ctx.agent ?? null };
}

async function indexOf(c: Context<AppEnv>): Promise<{ index: SnapshotIndex; stale: boolean } | Failure> {
  const cache = snapshotCache(c.env);
  const state = await cache.get((p) => c.executionCtx.waitUntil(p));
  if (state !== null) return { index: state.index, stale: state.stale };
  const { lastError } = cache.health();
  const details = `the gateway has no valid published state yet${lastError ? `: ${lastError}` : ""}`;
  return { status: 500, errorCode: "GENERAL", errorDetails: details };
}

/** The flags of one agent, from one decision: each kind asked for, or the OFREP error that replaces it. */
function evaluate(index: SnapshotIndex, stale: boolean, agent: string, kinds: readonly FlagKind[], facts: Facts) {
  const outcome = decide(index, { agent, key: facts.key, pin: facts.pin }, Date.now());
  return kinds.map((kind) => {
    const key = flagKey(agent, kind);
    if (outcome.ok) return { status: 200, body: evaluateFlag(outcome.decision, kind, stale) };
    if (outcome.code === "unknown_agent") {
      return { status: 404, body: { key, errorCode: "FLAG_NOT_FOUND", errorDetails: `no agent ${agent}` } };
    }
    return { status: 500, body: { key, errorCode: "GENERAL", errorDetails: outcome.message } };
  });
}

// The snapshot's agents in key order, sorted once per snapshot rather than per bulk request.
const sortedAgents = new WeakMap<SnapshotIndex, readonly string[]>();

function agentsOf(index: SnapshotIndex): readonly string[] {
  let agents = sortedAgents.get(index);
  if (agents === undefined) {
    agents = [...index.state.agents.keys()].sort();
    sortedAgents.set(index, agents);
  }
  return agents;
}

ofrep.post("/ofrep/v1/evaluate/flags/:key", async (c) => {
  const key = c.req.param("key");
  const actor = await actorOf(c);
  if (actor instanceof Response) return actor;
  const flag = parseFlagKey(key);
  if (flag === null) {
    return answer(404, {
      key,
      errorCode: "FLAG_NOT_FOUND",
      errorDetails: "keys are {agent}, {agent}.mode, {agent}.release",
    });
  }
  if (!mayActOn(actor, flag.agent)) {
    return answer(403, { key, errorCode: "GENERAL", errorDetails: `this token may not see agent ${flag.agent}` });
  }
  const facts = await factsOf(c.req.raw);
  if ("errorCode" in facts)
    return answer(facts.status, { key, errorCode: facts.errorCode, errorDetails: facts.errorDetails });
  const state = await indexOf(c);
  if ("errorCode" in state)
    return answer(state.status, { key, errorCode: state.errorCode, errorDetails: state.errorDetails });
  const [result] = evaluate(state.index, state.stale, flag.agent, [flag.kind], facts);
  return answer(result?.status ?? 500, result?.body);
});

ofrep.post("/ofrep/v1/evaluate/flags", async (c) => {
  const actor = await actorOf(c);
  if (actor instanceof Response) return actor;
  const facts = await factsOf(c.req.raw);
  if ("errorCode" in facts)
    return answer(facts.status, { errorCode: facts.errorCode, errorDetails: facts.errorDetails });
  if (facts.agent !== null && !mayActOn(actor, facts.agent)) {
    return answer(403, { errorCode: "GENERAL", errorDetails: `this token may not see agent ${facts.agent}` });
  }
  const state = await indexOf(c);
  if ("errorCode" in state) return answer(state.status, { errorDetails: state.errorDetails });
  const agents = facts.agent !== null ? [facts.agent] : agentsOf(state.index).filter((a) => mayActOn(actor, a));
  // One decision per agent for its three flags: the same snapshot and instant, so they always agree.
  const flags = [];
  for (const agent of agents) {
    for (const r of evaluate(state.index, state.stale, agent, FLAG_KINDS, facts)) flags.push(r.body);
  }
  const text = JSON.stringify({ flags });
  // Strong: the same bytes, the same tag. The answer depends on the snapshot, the lanes in force at this
  // instant, the context and the token's scope, and all of them are in the bytes.
  const etag = `"${(await sha256Hex(text)).slice(0, 32)}"`;
  const headers = { ...JSON_HEADERS, etag };
  if (matches(c.req.header("if-none-match"), etag)) return new Response(null, { status: 304, headers });
  return new Response(text, { status: 200, headers });
});

/** RFC 9110 §13.1.2: `*` or a list of tags; a weak tag compares by its opaque part. */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}
