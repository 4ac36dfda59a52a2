/**
 * Mutating admin routes. Each validates its body, hands one command to the control plane and answers with the
 * new revision and ETag. Which role a command needs is decided by the control core (control/apply.ts).
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { CanaryBody, OverrideBody, PromoteBody, Reason, ReasonBody, RollbackBody } from "../control/commands";
import { HttpError } from "../errors";
import { AgentId, Manifest, Version } from "../release/schema";
import { OverrideId } from "../routing/override";
import type { AdminEnv } from "./auth";
import { deleteReason, ifMatch, mutate, mutationResponse } from "./respond";

const json = <T extends z.ZodType>(schema: T) => ({ content: { "application/json": { schema } }, required: true });
const responses = {
  200: { description: "applied (or nothing to change); body has revision, changed, published; ETag" },
  400: { description: "invalid input, with field-level problems; nothing changed" },
  403: { description: "role too low" },
  404: { description: "unknown agent, release or override" },
  412: { description: "If-Match names another revision; nothing changed" },
  503: { description: "outcome_unknown: the control plane failed mid-call; read the audit, or retry with If-Match" },
};
const AgentParam = z.object({ agent: AgentId });
const ReasonOptional = z.object({ reason: z.string().optional() });
const mutationBody = { content: { "application/json": { schema: ReasonOptional } }, required: false };

export function registerWrites(app: OpenAPIHono<AdminEnv>): void {
  app.openapi(
    createRoute({
      method: "put",
      path: "/admin/v1/agents/{agent}/releases/{version}",
      summary: "Store an immutable release (201; the same content again: 200; other content: 409)",
      request: {
        params: z.object({ agent: AgentId, version: Version }),
        // Audited as the reason of the store; without it, the manifest's description is (docs/cli.md).
        query: z.object({ reason: Reason.optional() }),
        body: json(Manifest),
      },
      responses: {
        ...responses,
        201: { description: "stored; { digest }" },
        409: { description: "other content under this version" },
      },
    }),
    async (c) => {
      const { agent, version } = c.req.valid("param");
      const manifest = c.req.valid("json");
      const { reason } = c.req.valid("query");
      if (manifest.agent !== agent || manifest.version !== version) {
        throw new HttpError(400, "invalid_request", "the manifest's agent and version must match the path", {
          problems: [{ path: manifest.agent !== agent ? "agent" : "version", message: "does not match the path" }],
        });
      }
      const put = {
        kind: "release.put" as const,
        agent,
        version,
        manifest,
        ...(reason === undefined ? {} : { reason }),
      };
      const out = await mutate(c.env, put, c.var.actor, ifMatch(c));
      return mutationResponse(c, out, true);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/v1/agents/{agent}/promote",
      summary: "Make a ready release active; its rollout.fallback becomes the fallback",
      request: { params: AgentParam, body: json(PromoteBody) },
      responses: { ...responses, 422: { description: "not_ready, with the missing answers" } },
    }),
    async (c) => {
      const { agent } = c.req.valid("param");
      const b = c.req.valid("json");
      return mutationResponse(c, await mutate(c.env, { kind: "promote", agent, ...b }, c.var.actor, ifMatch(c)));
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/v1/agents/{agent}/canary",
      summary:
        "Start, raise (releaser) or lower (operator) a sticky canary; a release with a plan starts at its first step (percent may be left out), and a change by hand pauses a running plan",
      request: { params: AgentParam, body: json(CanaryBody) },
      responses: {
        ...responses,
        409: { description: "plan_start: the percent is not the plan's first step; already_active" },
        422: { description: "not_ready" },
      },
    }),
    async (c) => {
      const { agent } = c.req.valid("param");
      const b = c.req.valid("json");
      return mutationResponse(c, await mutate(c.env, { kind: "canary.set", agent, ...b }, c.var.actor, ifMatch(c)));
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/admin/v1/agents/{agent}/canary",
      summary: "Clear the canary: instant revert",
      request: { params: AgentParam, body: mutationBody, query: ReasonOptional },
      responses,
    }),
    async (c) => {
      const { agent } = c.req.valid("param");
      const reason = await deleteReason(c);
      return mutationResponse(c, await mutate(c.env, { kind: "canary.abort", agent, reason }, c.var.actor, ifMatch(c)));
    },
  );

  for (const [kind, summary] of [
    ["pause", "Hold the canary's release plan at its step; the percent stays (operator)"],
    [
      "resume",
      "Ramp the canary's release plan on from the step its percent has reached; the hold starts again (releaser)",
    ],
  ] as const) {
    app.openapi(
      createRoute({
        method: "post",
        path: `/admin/v1/agents/{agent}/canary/${kind}`,
        summary,
        request: { params: AgentParam, body: json(ReasonBody) },
        responses: { ...responses, 409: { description: "no_plan: the agent's canary has no release plan" } },
      }),
      async (c) => {
        const { agent } = c.req.valid("param");
        const { reason } = c.req.valid("json");
        const out = await mutate(c.env, { kind: `canary.${kind}`, agent, reason }, c.var.actor, ifMatch(c));
        return mutationResponse(c, out);
      },
    );
  }

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/v1/agents/{agent}/rollback",
      summary: 'active := to or fallback ("off" serves the user fallback); canary cleared',
      request: { params: AgentParam, body: json(RollbackBody) },
      responses,
    }),
    async (c) => {
      const { agent } = c.req.valid("param");
      const b = c.req.valid("json");
      return mutationResponse(c, await mutate(c.env, { kind: "rollback", agent, ...b }, c.var.actor, ifMatch(c)));
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/admin/v1/overrides",
      summary: "Lay a restriction (a safer lane) over a scope",
      request: { body: json(OverrideBody) },
      responses: { ...responses, 201: { description: "{ id, expiresAt }" } },
    }),
    async (c) => {
      const b = c.req.valid("json");
      return mutationResponse(c, await mutate(c.env, { kind: "override.add", ...b }, c.var.actor, ifMatch(c)), true);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/admin/v1/overrides/{id}",
      summary: "Remove an override (releaser: it loosens the lane)",
      request: { params: z.object({ id: OverrideId }), body: mutationBody, query: ReasonOptional },
      responses,
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const reason = await deleteReason(c);
      return mutationResponse(c, await mutate(c.env, { kind: "override.remove", id, reason }, c.var.actor, ifMatch(c)));
    },
  );
}
