/** Read-only admin routes (role `viewer` and up): state, releases, diff, audit, explain. */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { mayActOn } from "../control/roles";
import { HttpError } from "../errors";
import { diffManifests } from "../release/diff";
import { AgentId, Version } from "../release/schema";
import { decide } from "../routing/decide";
import { describeOutcome } from "../routing/explain";
import { requestFacts } from "../routing/facts";
import { indexSnapshot } from "../routing/snapshot-legacy";
import type { AdminEnv } from "./auth";
import { planViews } from "./plan-views";
import { control, etag } from "./respond";
import { requireScope, scopedAgents } from "./scope";

const ok = (description: string) => ({ 200: { description } });
const AgentParam = z.object({ agent: AgentId });
const ReleaseParam = z.object({ agent: AgentId, version: Version });

export function registerReads(app: OpenAPIHono<AdminEnv>): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/v1/state",
      summary:
        "Pointers of every agent, the overrides in force, and each canary's release plan (step, since, next move due, what it waits for)",
      responses: ok("the state, with ETag"),
    }),
    async (c) => {
      const s = await control(c.env).current();
      // A token scoped to some agents sees only their plans (CONTRACT §4.1).
      const plans = await planViews(
        c.env,
        Object.fromEntries(Object.entries(s.plans).filter(([agent]) => mayActOn(c.var.actor, agent))),
      );
      return c.json(
        {
          revision: s.revision,
          publishedRevision: s.publishedRevision,
          agents: scopedAgents(c.var.actor, s.agents),
          overrides: s.overrides.filter((o) => o.scope.agent === "*" || mayActOn(c.var.actor, o.scope.agent)),
          plans,
        },
        200,
        { etag: etag(s.revision) },
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/v1/agents/{agent}/releases",
      summary: "The stored releases of an agent",
      request: { params: AgentParam },
      responses: ok("releases, oldest first"),
    }),
    async (c) => {
      const { agent } = c.req.valid("param");
      const releases = await control(c.env).releases(agent);
      if (releases === null) throw new HttpError(404, "unknown_agent", `no agent ${agent}`);
      return c.json({ releases }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/v1/agents/{agent}/releases/{version}",
      summary: "One release with its manifest and digest",
      request: { params: ReleaseParam },
      responses: ok("the release"),
    }),
    async (c) => {
      const { agent, version } = c.req.valid("param");
      const r = await control(c.env).release(agent, version);
      if (r === null) throw new HttpError(404, "unknown_release", `no release ${agent}@${version}`);
      return c.json({ manifest: r.manifest, digest: r.digest, createdAt: r.createdAt, createdBy: r.createdBy }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/v1/agents/{agent}/diff",
      summary: "Every changed field between two releases; tools and workflows matched by name",
      request: { params: AgentParam, query: z.object({ from: Version, to: Version }) },
      responses: ok("{ changes: [{ path, from, to }] }"),
    }),
    async (c) => {
      const { agent } = c.req.valid("param");
      const { from, to } = c.req.valid("query");
      const stub = control(c.env);
      const [a, b] = await Promise.all([stub.release(agent, from), stub.release(agent, to)]);
      if (a === null) throw new HttpError(404, "unknown_release", `no release ${agent}@${from}`);
      if (b === null) throw new HttpError(404, "unknown_release", `no release ${agent}@${to}`);
      return c.json(
        {
          from: { version: from, digest: a.digest },
          to: { version: to, digest: b.digest },
          changes: diffManifests(a.manifest, b.manifest),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/v1/audit",
      summary: "The audit log, newest first; page with ?before=<seq>",
      request: {
        query: z.object({
          agent: AgentId.optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
          before: z.coerce.number().int().min(1).optional(),
        }),
      },
      responses: ok("{ entries, next }"),
    }),
    async (c) => {
      const q = c.req.valid("query");
      const actor = c.var.actor;
      if (q.agent !== undefined) requireScope(actor, q.agent);
      const entries = await control(c.env).audit({
        limit: q.limit,
        ...(q.agent ? { agent: q.agent } : {}),
        ...(actor.agents !== undefined ? { agents: actor.agents } : {}),
        ...(q.before ? { before: q.before } : {}),
      });
      const last = entries.at(-1);
      return c.json({ entries, next: entries.length === q.limit && last ? last.seq : null }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/admin/v1/explain",
      summary: "The decision a request with this key and pin would get now, with every step's reason",
      request: {
        query: z.object({
          agent: AgentId,
          key: z.string().optional(),
          release: z.string().optional(),
        }),
      },
      responses: ok("the decision value the data plane uses"),
    }),
    async (c) => {
      const q = c.req.valid("query");
      requireScope(c.var.actor, q.agent);
      const stub = control(c.env);
      const [snapshot, current] = await Promise.all([stub.agentSnapshot(q.agent), stub.current()]);
      // The key and the pin are read exactly as the data plane reads its headers.
      const facts = requestFacts(q.agent, q.key, q.release);
      if (!facts.ok) throw new HttpError(400, facts.code, facts.message);
      const outcome = decide(indexSnapshot(snapshot), facts.facts, Date.now());
      const held = Object.hasOwn(current.plans, q.agent) ? { [q.agent]: current.plans[q.agent]! } : {};
      const plan = (await planViews(c.env, held))[q.agent] ?? null;
      return c.json({ revision: snapshot.revision, ...describeOutcome(outcome), plan }, 200);
    },
  );
}
