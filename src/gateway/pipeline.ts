/**
 * One data plane, many doors (CONTRACT §2.1–§2.4). Every data-plane route decides, then acts, then stamps the
 * decision headers, logs one line and counts the outcome for the guard. This middleware does all of it but the
 * action: it decides (or answers the error that replaces a decision), serves the user fallback in mode `off`
 * without calling the route, and otherwise hands the route the decision in `c.var` and an `Exchange` on which the
 * route reports what its upstream did. A new door is then only its own protocol.
 *
 * The route's action is called from here rather than chained as Hono middleware: one handler per route keeps
 * Hono on its fast path (no compose), and an error the action throws is classed and answered here, once. It
 * must stay allocation-light: it runs on every request (docs/performance.md). Read the values with `c.get`:
 * `c.var` builds a new object at each access.
 */
import type { Context, Handler } from "hono";
import type { Bindings } from "../env";
import { toResponse } from "../errors";
import { answeredFailure, thrownFailure } from "../proxy/forward";
import { stampDecision } from "../proxy/headers";
import { AGENT_ID } from "../release/schema";
import { type Decision, decisionHeader } from "../routing/decide";
import { recordLateFailure, recordOutcome } from "../state/counter";
import { decideRequest, unknownAgent, userFallbackResponse } from "./decide-request";
import { logCut, logRequest, type Route } from "./request-log";

type Ctx = { waitUntil(p: Promise<unknown>): void };

/** What a route tells the pipeline about one request while it acts. */
export class Exchange {
  upstreamStatus: number | null = null;
  /** The upstream's failure class (§2.3), from its answer. */
  failure: string | null = null;
  /** Tool calls were withheld or refused on this request: it counts `tool_blocked` once (docs/guard.md). */
  blocked = false;

  constructor(
    readonly route: Route,
    readonly agent: string,
    readonly decision: Decision,
    readonly stale: boolean,
    private readonly env: Bindings,
    readonly ctx: Ctx,
  ) {}

  /** The upstream answered: its status and the failure class it carries. */
  answered(upstream: Response): void {
    this.upstreamStatus = upstream.status;
    this.failure = answeredFailure(upstream);
  }

  /** A failure found after the answer began (a stream's withheld calls): counted, not served again. */
  late(failureClass: string): void {
    recordLateFailure(this.env, this.ctx, this.decision, failureClass);
  }

  /** The upstream cut its body short after its headers: logged and counted as a late `upstream_error`. */
  cut(error: unknown): void {
    logCut(this.route, this.agent, this.decision.release.version, error);
    this.late("upstream_error");
  }
}

export interface DataPlaneVars {
  decision: Decision;
  exchange: Exchange;
}

export type DataPlaneEnv<V extends object = object> = { Bindings: Bindings; Variables: DataPlaneVars & V };

export interface Door<E extends DataPlaneEnv> {
  route: Route;
  /** The agent the request names (any string; the pipeline checks it). */
  agentOf(c: Context<E>): string;
  /** Runs before the decision, so a caller it refuses learns nothing else (the model route's keys). */
  authorize?(c: Context<E>, agent: string): Promise<void>;
  /** The answer in mode `off`; by default the release's user fallback as the release wrote it. */
  offAnswer?(decision: Decision): Response;
}

/** The handler of a data-plane route: the pipeline around the route's own action. */
export function dataPlane<E extends DataPlaneEnv>(
  door: Door<E>,
  action: (c: Context<E>) => Promise<Response>,
): Handler<E> {
  return async (c) => {
    const started = Date.now();
    const agent = door.agentOf(c);
    let decision: Decision | null = null;
    let stale = false;
    let exchange: Exchange | null = null;
    let response: Response;
    let thrown: string | null = null;
    try {
      if (!AGENT_ID.test(agent)) throw unknownAgent();
      if (door.authorize) await door.authorize(c, agent);
      ({ decision, stale } = await decideRequest(c, agent));
      if (decision.kind === "off" || decision.kind === "failsafe") {
        response =
          door.offAnswer && decision.kind === "off" ? door.offAnswer(decision) : userFallbackResponse(decision);
      } else {
        exchange = new Exchange(door.route, agent, decision, stale, c.env, c.executionCtx);
        c.set("decision", decision);
        c.set("exchange", exchange);
        response = await action(c);
      }
    } catch (err) {
      response = toResponse(err);
      thrown = thrownFailure(err);
    }
    const header = decision === null ? undefined : decisionHeader(decision, stale);
    if (decision !== null) stampDecision(response.headers, decision, header as string);
    const failure = thrown ?? exchange?.failure ?? null;
    const blocked = exchange?.blocked === true;
    logRequest({
      route: door.route,
      method: c.req.method,
      agent,
      status: response.status,
      upstreamStatus: exchange?.upstreamStatus ?? null,
      failureClass: failure ?? (blocked ? "tool_blocked" : null),
      durationMs: Date.now() - started,
      decision,
      stale,
      decisionHeader: header,
    });
    recordOutcome(c.env, c.executionCtx, decision, blocked ? [failure, "tool_blocked"] : failure);
    return response;
  };
}
