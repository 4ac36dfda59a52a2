/**
 * Agent traffic: `ANY /agents/{agent}/{path}` (CONTRACT §2.1). Decide, then either serve the user fallback
 * (mode `off`) or stream the request to the decided workflow's upstream and stream its answer back.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { HttpError, toResponse } from "../errors";
import { answeredFailure, DEFAULT_TIMEOUT_MS, forward, thrownFailure, upstreamUrl } from "../proxy/forward";
import { stampDecision, upstreamHeaders } from "../proxy/headers";
import { relayBody } from "../proxy/watch-body";
import { AGENT_ID } from "../release/schema";
import type { Decision } from "../routing/decide";
import { recordLateFailure, recordOutcome } from "../state/counter";
import { decideRequest, userFallbackResponse } from "./decide-request";
import { logCut, logRequest } from "./request-log";

export const agents = new Hono<AppEnv>();

const AGENT_PATH = /^\/agents\/([^/]*)(\/.*)?$/;

agents.all("/agents/*", async (c) => {
  const started = Date.now();
  const url = new URL(c.req.url);
  const match = AGENT_PATH.exec(url.pathname);
  const agent = match?.[1] ?? "";
  let decision: Decision | null = null;
  let stale = false;
  let upstreamStatus: number | null = null;
  let failureClass: string | null = null;
  let response: Response;
  try {
    if (!AGENT_ID.test(agent)) throw new HttpError(404, "unknown_agent", "no such agent");
    ({ decision, stale } = await decideRequest(c, agent));
    if (decision.kind === "off" || decision.kind === "failsafe") {
      response = userFallbackResponse(decision);
    } else {
      const workflow = decision.served.workflow;
      const target = upstreamUrl(workflow.upstream, match?.[2] ?? "", url.search);
      const method = c.req.method;
      const upstream = await forward(
        target,
        {
          method,
          headers: upstreamHeaders(c.req.raw.headers, decision),
          body: method === "GET" || method === "HEAD" ? null : c.req.raw.body,
        },
        workflow.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      );
      upstreamStatus = upstream.status;
      failureClass = answeredFailure(upstream);
      // A body the upstream cuts short after its headers is invisible in the status: a small declared one is
      // read whole (a cut becomes a 502), a stream is watched and a cut counted when it happens.
      const d = decision;
      const ctx = c.executionCtx;
      const body = await relayBody(
        upstream,
        (p) => ctx.waitUntil(p),
        (error) => {
          logCut("agent", agent, d.release.version, error);
          recordLateFailure(c.env, ctx, d, "upstream_error");
        },
      );
      response = new Response(body, upstream);
    }
  } catch (err) {
    response = toResponse(err);
    failureClass = thrownFailure(err);
  }
  if (decision !== null) stampDecision(response.headers, decision, stale);
  logRequest({
    route: "agent",
    method: c.req.method,
    agent,
    status: response.status,
    upstreamStatus,
    failureClass,
    durationMs: Date.now() - started,
    decision,
    stale,
  });
  recordOutcome(c.env, c.executionCtx, decision, failureClass);
  return response;
});
