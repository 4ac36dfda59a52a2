/**
 * The data-plane front half shared by agent and model traffic: read the isolate's state, pull the request
 * facts out of the headers, and make the routing decision — or the JSON error that replaces it.
 */
import type { Bindings } from "../env";
import { HttpError } from "../errors";
import { type Decision, decide } from "../routing/decide";
import { requestFacts } from "../routing/facts";
import { snapshotCache } from "../state/isolate";

export interface Decided {
  decision: Decision;
  stale: boolean;
}

/** The answer for an agent name that is malformed or not in the state (the same 404 either way). */
export const unknownAgent = (): HttpError => new HttpError(404, "unknown_agent", "no such agent");

/** What deciding needs of a request's context (any door's Hono context has it). */
export interface RequestScope {
  env: Bindings;
  executionCtx: { waitUntil(p: Promise<unknown>): void };
  req: { header(name: string): string | undefined };
}

export async function decideRequest(c: RequestScope, agent: string): Promise<Decided> {
  const cache = snapshotCache(c.env);
  const state = await cache.get((p) => c.executionCtx.waitUntil(p));
  if (state === null) {
    const { lastError } = cache.health();
    throw new HttpError(
      503,
      "config_unavailable",
      "the gateway has no valid published state yet",
      { lastError },
      {
        "retry-after": "1",
      },
    );
  }
  // Read exactly as `explain` reads its query (routing/facts.ts).
  const facts = requestFacts(agent, c.req.header("x-agent-key"), c.req.header("x-agent-release"));
  if (!facts.ok) throw new HttpError(400, facts.code, facts.message);
  const outcome = decide(state.index, facts.facts, Date.now());
  if (!outcome.ok) {
    const retry = outcome.code === "config_unavailable" ? { "retry-after": "1" } : undefined;
    throw new HttpError(outcome.status, outcome.code, outcome.message, undefined, retry);
  }
  return { decision: outcome.decision, stale: state.stale };
}

/** The answer in mode `off`: the release's user fallback, or the gateway's own when it names none. */
export function userFallbackResponse(d: Decision): Response {
  const fb = d.served.userFallback;
  if (d.kind === "off" && fb !== null) {
    return new Response(JSON.stringify(fb.body), {
      status: fb.status,
      headers: { "content-type": "application/json; charset=utf-8" },
    });
  }
  return new Response(
    JSON.stringify({ error: { code: "agent_paused", message: "this agent is paused; try again later" } }),
    { status: 503, headers: { "content-type": "application/json; charset=utf-8", "retry-after": "30" } },
  );
}
