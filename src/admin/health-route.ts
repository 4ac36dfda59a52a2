/**
 * `GET /admin/v1/agents/{agent}/health` (viewer): what the guard sees for each live release — requests, failures
 * and rates by class over each trigger's window, and each trigger's state — plus its recent actions and the
 * operators' recent signals (docs/guard.md). Reading it never makes the guard act.
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { HttpError } from "../errors";
import { AgentId } from "../release/schema";
import { guardOf } from "../state/guard-object";
import type { AdminEnv } from "./auth";
import { control } from "./respond";

export function registerHealth(app: OpenAPIHono<AdminEnv>): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/v1/agents/{agent}/health",
      summary: "Per live release: requests and failure rates over each trigger's window, and each trigger's state",
      request: { params: z.object({ agent: AgentId }) },
      responses: {
        200: { description: "{ agent, at, revision, releases: [{ version, role, triggers }], actions, signals }" },
        404: { description: "unknown agent" },
      },
    }),
    async (c) => {
      const { agent } = c.req.valid("param");
      // Asked first so that a name that is no agent never creates a guard (a Durable Object with storage).
      if ((await control(c.env).releases(agent)) === null)
        throw new HttpError(404, "unknown_agent", `no agent ${agent}`);
      const health = await guardOf(c.env, agent).health(agent);
      if (health === null) throw new HttpError(404, "unknown_agent", `no agent ${agent}`);
      return c.json(health, 200);
    },
  );
}
