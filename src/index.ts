/**
 * Switchyard: the composition root. Mounts the data plane and the admin API, turns every error into JSON once,
 * and exports the Durable Objects (control plane, guard). The console (/console) is imported on first use only:
 * its code is never evaluated in an isolate that serves only /agents and /models.
 */
import { Hono } from "hono";
import { admin } from "./admin/app";
import type { AppEnv } from "./env";
import { errorResponse, toResponse } from "./errors";
import { agents } from "./gateway/agents";
import { health } from "./gateway/health";
import { mcp } from "./gateway/mcp";
import { models } from "./gateway/models";
import { ofrep } from "./gateway/ofrep";

const app = new Hono<AppEnv>();
app.route("/", health);
app.route("/", agents);
app.route("/", models);
app.route("/", mcp);
app.route("/", ofrep);
app.route("/", admin);
app.all("/console/*", async (c) => (await import("./console/app")).consoleApp.fetch(c.req.raw, c.env, c.executionCtx));
app.all("/console", async (c) => (await import("./console/app")).consoleApp.fetch(c.req.raw, c.env, c.executionCtx));
app.notFound(() => errorResponse(404, "not_found", "no such route"));
app.onError((err) => toResponse(err));

export default app;
export { ControlPlane } from "./state/control-plane";
export { Guard } from "./state/guard-object";
