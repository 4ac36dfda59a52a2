/**
 * `POST /admin/v1/signals` (operator): an operator reports failures of a release — a complaint, an eval that
 * went red — and they are counted like any failure of §2.3, so the release's triggers can act on them.
 *
 * Not in the control plane's audit log: a signal changes no state, and the audit log records state changes
 * (each one a revision). It is kept, with its actor and reason, in the guard's signal log shown by the health
 * route and in Workers Logs; and when it tips a trigger, the guard's audited action names the counts.
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { Reason } from "../control/commands";
import { HttpError } from "../errors";
import { AgentId, FailureClass, Version } from "../release/schema";
import { guardOf } from "../state/guard-object";
import type { AdminEnv } from "./auth";
import { control } from "./respond";
import { requireScope } from "./scope";

export const SignalBody = z.strictObject({
  agent: AgentId,
  release: Version,
  failureClass: FailureClass,
  count: z.int().min(1).max(1_000_000).default(1),
  reason: Reason,
});

export function registerSignals(app: OpenAPIHono<AdminEnv>): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/v1/signals",
      summary: "Report failures of a release; counted like any failure class (§2.3)",
      request: { body: { content: { "application/json": { schema: SignalBody } }, required: true } },
      responses: {
        202: { description: "{ counted, at }: counted, and the release's triggers evaluated" },
        400: { description: "invalid input, with field-level problems" },
        403: { description: "role too low (operator needed)" },
        404: { description: "unknown agent or release" },
      },
    }),
    async (c) => {
      const b = c.req.valid("json");
      requireScope(c.var.actor, b.agent);
      if ((await control(c.env).release(b.agent, b.release)) === null) {
        throw new HttpError(404, "unknown_release", `no release ${b.agent}@${b.release}`);
      }
      const { at } = await guardOf(c.env, b.agent).signal(b.agent, {
        release: b.release,
        failureClass: b.failureClass,
        count: b.count,
        reason: b.reason,
        actor: c.var.actor.name,
      });
      return c.json({ counted: b.count, at }, 202);
    },
  );
}
