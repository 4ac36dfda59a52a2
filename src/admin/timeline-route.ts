/**
 * `GET /admin/v1/agents/{agent}/timeline?since=&limit=&cursor=` (viewer, CONTRACT §4.2): the agent's audit
 * entries, the guard's own records and the failure-rate changes of its releases, merged oldest first, each with
 * its field-level diff (control/timeline.ts; the shape is in docs/timeline.md). The console reads the same
 * `loadTimeline`, so what a person sees and what a script reads cannot differ.
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { mayActOn } from "../control/roles";
import { CURSOR, type Cursor, parseCursor, type TimelinePage, timeline } from "../control/timeline";
import type { Bindings } from "../env";
import { HttpError } from "../errors";
import { AgentId } from "../release/schema";
import { rateChanges, rateSeries } from "../rollout/rate-series";
import { guardOf } from "../state/guard-object";
import type { AdminEnv } from "./auth";
import { control } from "./respond";

/** Rates are computed on steps of this many seconds, aligned to the epoch, so a point's time never moves. */
export const RATE_STEP_S = 10;
const DEFAULT_SPAN_MS = 3600_000;

/** An instant as ISO-8601 or milliseconds since the epoch. */
const Instant = z
  .string()
  .max(40)
  .refine((s) => /^\d{1,15}$/.test(s) || (/^\d{4}-\d\d-\d\dT/.test(s) && !Number.isNaN(Date.parse(s))), {
    message: "an ISO-8601 date-time (2026-12-02T04:00:00Z) or milliseconds since the epoch",
  })
  .transform((s) => (/^\d+$/.test(s) ? Number(s) : Date.parse(s)));

export const TimelineQuery = z.strictObject({
  since: Instant.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().regex(CURSOR, "the `next` of a previous page").optional(),
});

export interface TimelineAnswer extends TimelinePage {
  agent: string;
  since: string;
  now: string;
  /** The oldest moment the guard still holds counts for (failure-rate changes before it are gone). */
  ratesFrom: string | null;
}

export async function loadTimeline(
  env: Bindings,
  agent: string,
  q: { since?: number | undefined; limit: number; cursor?: Cursor | null },
): Promise<TimelineAnswer> {
  const now = Date.now();
  const since = q.since ?? now - DEFAULT_SPAN_MS;
  const after = q.cursor ?? null;
  // Audit rows resume right after the cursor: after its seq when it is an audit item, else after its instant
  // (audit items rank first among items of one instant, so those at the cursor's instant are already behind it).
  const afterSeq = after?.id.startsWith("audit-") ? Number(after.id.slice(6)) : 0;
  const from = after === null ? since : Math.max(since, afterSeq > 0 ? after.at : after.at + 1);
  const [audit, history] = await Promise.all([
    control(env).auditSince(agent, new Date(from).toISOString(), afterSeq, q.limit + 1),
    guardOf(env, agent).history(agent, 0),
  ]);
  const step = RATE_STEP_S * 1000;
  const heldFrom = history?.heldFrom ?? null;
  const rates =
    history === null || heldFrom === null
      ? []
      : history.releases.flatMap((r) =>
          rateSeries(r.seconds, r.triggers, {
            // The first point is the step that ends at or after the oldest second held, so that second is counted.
            from: Math.floor((heldFrom - 1000) / step) * step,
            to: history.now,
            stepSeconds: RATE_STEP_S,
          }).flatMap((series) => rateChanges(r.version, series)),
        );
  const page = timeline({ agent, audit, guard: history?.markers ?? [], rates, since, after, limit: q.limit });
  const ratesFrom = heldFrom === null ? null : new Date(heldFrom).toISOString();
  return { agent, since: new Date(since).toISOString(), now: new Date(now).toISOString(), ratesFrom, ...page };
}

export function registerTimeline(app: OpenAPIHono<AdminEnv>): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/v1/agents/{agent}/timeline",
      summary: "Audit, guard and plan actions and failure-rate changes, oldest first, each with its diff; paged",
      request: { params: z.object({ agent: AgentId }), query: TimelineQuery },
      responses: {
        200: { description: "{ agent, since, now, ratesFrom, items: [{ id, at, kind, ..., changes }], next, more }" },
        400: { description: "bad since, limit or cursor" },
        404: { description: "unknown agent" },
      },
    }),
    async (c) => {
      const { agent } = c.req.valid("param");
      const q = c.req.valid("query");
      if (!mayActOn(c.var.actor, agent)) throw new HttpError(403, "forbidden", `this token does not cover ${agent}`);
      if ((await control(c.env).releases(agent)) === null)
        throw new HttpError(404, "unknown_agent", `no agent ${agent}`);
      const cursor = q.cursor === undefined ? null : parseCursor(q.cursor);
      return c.json(await loadTimeline(c.env, agent, { since: q.since, limit: q.limit, cursor }), 200);
    },
  );
}
