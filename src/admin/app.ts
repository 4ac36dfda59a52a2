/**
 * The admin API under /admin/v1 (CONTRACT §4). Every route is declared with the zod schema that validates it,
 * so the OpenAPI document at /admin/v1/openapi.json is generated from the same source and cannot drift.
 * Order of checks: token (401) → role floor for mutations (403) → body size (413) → input (400) → the
 * control plane, which applies the finer role rules, the readiness gate and If-Match.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { atLeast } from "../control/roles";
import { HttpError } from "../errors";
import { type AdminEnv, requireToken } from "./auth";
import { registerHealth } from "./health-route";
import { registerReads } from "./read-routes";
import { requireScope } from "./scope";
import { registerSignals } from "./signals-route";
import { registerTimeline } from "./timeline-route";
import { registerWrites } from "./write-routes";

/** Request bodies above this are refused with 413 before they are read (a manifest is far smaller). */
export const ADMIN_BODY_LIMIT = 1024 * 1024;

export const admin = new OpenAPIHono<AdminEnv>({
  defaultHook: (result) => {
    if (!result.success) {
      const problems = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
      throw new HttpError(400, "invalid_request", "the request is invalid; nothing was changed", { problems });
    }
  },
});

admin.use("/admin/v1/*", requireToken);
admin.use("/admin/v1/*", async (c, next) => {
  if (c.req.method !== "GET" && c.req.method !== "HEAD" && !atLeast(c.var.actor.role, "operator")) {
    throw new HttpError(403, "forbidden", "the viewer role cannot change anything", { requiredRole: "operator" });
  }
  await next();
});
// Every per-agent route answers 403 for an agent outside the token's scope, before anything about it is read.
admin.use("/admin/v1/agents/:agent/*", async (c, next) => {
  requireScope(c.var.actor, c.req.param("agent"));
  await next();
});
admin.use(
  "/admin/v1/*",
  bodyLimit({
    maxSize: ADMIN_BODY_LIMIT,
    onError: () => {
      throw new HttpError(413, "body_too_large", `admin request bodies are limited to ${ADMIN_BODY_LIMIT} bytes`);
    },
  }),
);

registerReads(admin);
registerWrites(admin);
registerHealth(admin);
registerSignals(admin);
registerTimeline(admin);

admin.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
admin.doc31("/admin/v1/openapi.json", {
  openapi: "3.1.0",
  info: { title: "Switchyard admin API", version: "1" },
  security: [{ bearer: [] }],
});
