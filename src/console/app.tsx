/**
 * The operator console at /console (CONTRACT §5, docs/console.md): server-rendered pages over the same control
 * plane, guard and roles as the admin API. Loaded lazily by index.ts, so the data plane never evaluates it.
 *
 * Every answer carries a CSP allowing only same-origin script, style and forms, and `no-store`. Every page but
 * sign-in and the two assets needs a session (session.ts); every POST needs a same-origin request (Origin and
 * Sec-Fetch-Site, when the browser sends them) and the form's CSRF token.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import { actorByHash } from "../admin/auth";
import { control } from "../admin/respond";
import { atLeast, mayActOn } from "../control/roles";
import { HttpError } from "../errors";
import { diffManifests, diffValues } from "../release/diff";
import { sha256Hex } from "../release/digest";
import { AGENT_ID, VERSION } from "../release/schema";
import { decide } from "../routing/decide";
import { describeOutcome } from "../routing/explain";
import { indexSnapshot } from "../routing/snapshot-legacy";
import { act, confirmPage } from "./actions";
import { CSS, JS } from "./assets";
import { agentPage, fleet } from "./data";
import type { ConsoleEnv } from "./env";
import { page, refuse } from "./render";
import { endSession, loginCsrf, loginCsrfValid, readSession, startSession } from "./session";
import { AgentView } from "./views/agent";
import { FleetView, SignIn } from "./views/fleet";
import { AuditView, ExplainView, ReleaseView } from "./views/misc";

export const consoleApp = new Hono<ConsoleEnv>().basePath("/console");

consoleApp.use(
  secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
    referrerPolicy: "same-origin",
  }),
);
consoleApp.use(bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.text("form too large", 413) }));

consoleApp.get("/assets/:file", (c) => {
  const file = c.req.param("file");
  const body = file === "app.css" ? CSS : file === "app.js" ? JS : null;
  if (body === null) return c.text("not found", 404);
  c.header("content-type", file.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8");
  c.header("cache-control", "public, max-age=3600");
  return c.body(body);
});

consoleApp.use(async (c, next) => {
  c.header("cache-control", "no-store");
  if (c.req.method === "POST") {
    const origin = c.req.header("origin");
    const site = c.req.header("sec-fetch-site");
    if (
      (origin !== undefined && origin !== new URL(c.req.url).origin) ||
      (site !== undefined && site !== "same-origin")
    ) {
      return refuse(c, 403, "Cross-site form posts are refused.");
    }
  }
  await next();
});

const safeNext = (next: unknown): string =>
  typeof next === "string" && /^\/console(\/[A-Za-z0-9._~%/?=&-]*)?$/.test(next) && !next.startsWith("//")
    ? next
    : "/console";

consoleApp.get("/login", async (c) => {
  if ((await readSession(c)) !== null) return c.redirect("/console", 303);
  return page(c, "Sign in", <SignIn csrf={loginCsrf(c)} next={safeNext(c.req.query("next"))} />);
});

consoleApp.post("/login", async (c) => {
  const form = await c.req.parseBody();
  if (!loginCsrfValid(c, form.csrf))
    return refuse(c, 403, "The sign-in form expired; load it again.", [], "/console/login");
  const token = typeof form.token === "string" ? form.token.trim() : "";
  const hash = token.length > 0 && token.length <= 512 ? await sha256Hex(token) : null;
  const actor = hash === null ? null : actorByHash(c.env, hash);
  if (hash === null || actor === null || !atLeast(actor.role, "viewer")) {
    return page(c, "Sign in", <SignIn csrf={loginCsrf(c)} error="That token is not a Switchyard admin token." />, {
      status: 403,
    });
  }
  if (!(await startSession(c, hash))) return refuse(c, 503, "The console has no signing key: set CONSOLE_SECRET.");
  return c.redirect(safeNext(form.next), 303);
});

consoleApp.use(async (c, next) => {
  const session = await readSession(c);
  if (session === null) {
    if (c.req.method === "GET")
      return c.redirect(`/console/login?next=${encodeURIComponent(new URL(c.req.url).pathname)}`, 303);
    return refuse(c, 403, "Sign in first; nothing was changed.", [], "/console/login");
  }
  c.set("session", session);
  await next();
});

consoleApp.post("/logout", async (c) => {
  const form = await c.req.parseBody();
  if (form.csrf !== c.var.session.csrf) return refuse(c, 403, "The form's CSRF token is missing or wrong.");
  endSession(c);
  return c.redirect("/console/login", 303);
});

consoleApp.get("/", async (c) => {
  const f = await fleet(c.env, c.var.session.actor);
  return page(c, "Fleet", <FleetView rows={f.rows} at={f.at} revision={f.revision} />, { refresh: true });
});

/** The agent named in the path, when it is valid and the token may see it; else a refusal page. */
consoleApp.use("/agents/:agent/*", async (c, next) => {
  const agent = c.req.param("agent");
  if (!AGENT_ID.test(agent)) return refuse(c, 404, "No such agent.");
  if (!mayActOn(c.var.session.actor, agent)) return refuse(c, 403, `Your token does not cover ${agent}.`);
  await next();
});

consoleApp.get("/agents/:agent", async (c) => {
  const agent = c.req.param("agent");
  if (!AGENT_ID.test(agent) || !mayActOn(c.var.session.actor, agent)) return refuse(c, 404, "No such agent.");
  const data = await agentPage(c.env, agent);
  if (data === null) return refuse(c, 404, `No agent ${agent}.`);
  const role = c.var.session.actor.role;
  const view = (
    <AgentView
      page={data}
      csrf={c.var.session.csrf}
      operator={atLeast(role, "operator")}
      releaser={atLeast(role, "releaser")}
    />
  );
  return page(c, agent, view, { refresh: true });
});

consoleApp.get("/agents/:agent/confirm", (c) => confirmPage(c, c.req.param("agent")));
consoleApp.post("/agents/:agent/act", (c) => act(c, c.req.param("agent")));

consoleApp.get("/agents/:agent/explain", async (c) => {
  const agent = c.req.param("agent");
  const key = (c.req.query("key") ?? "").slice(0, 512);
  const release = (c.req.query("release") ?? "").slice(0, 128);
  const asked = c.req.query("key") !== undefined || c.req.query("release") !== undefined;
  let result: unknown = null;
  if (asked) {
    const snapshot = await control(c.env).agentSnapshot(agent);
    const outcome = decide(indexSnapshot(snapshot), { agent, key: key || null, pin: release || null }, Date.now());
    result = { revision: snapshot.revision, ...describeOutcome(outcome) };
  }
  return page(c, `Explain ${agent}`, <ExplainView agent={agent} key={key} release={release} result={result} />);
});

consoleApp.get("/agents/:agent/releases/:version", async (c) => {
  const { agent, version } = c.req.param();
  if (!VERSION.test(version)) return refuse(c, 404, "No such release.");
  const cp = control(c.env);
  const [r, s] = await Promise.all([cp.release(agent, version), cp.current()]);
  if (r === null) return refuse(c, 404, `No release ${agent}@${version}.`);
  const active = s.agents[agent]?.active ?? null;
  const base = active && active !== "off" && active !== version ? await cp.release(agent, active) : null;
  const changes = base === null ? null : diffManifests(base.manifest, r.manifest);
  return page(
    c,
    `${agent}@${version}`,
    <ReleaseView
      agent={agent}
      version={version}
      digest={r.digest}
      manifest={r.manifest}
      against={active}
      changes={changes}
    />,
  );
});

consoleApp.get("/audit/:seq{[0-9]{1,12}}", async (c) => {
  const seq = Number(c.req.param("seq"));
  const [entry] = await control(c.env).audit({ limit: 1, before: seq + 1 });
  if (entry === undefined || entry.seq !== seq) return refuse(c, 404, `No audit entry #${seq}.`);
  if (entry.agent !== null && !mayActOn(c.var.session.actor, entry.agent)) return refuse(c, 403, "Not yours to see.");
  const changes = diffValues(entry.before, entry.after);
  return page(c, `Audit #${seq}`, <AuditView entry={{ ...entry }} changes={changes} />);
});

consoleApp.notFound((c) => refuse(c, 404, "No such console page."));
consoleApp.onError((err, c) => {
  if (err instanceof HttpError) return refuse(c, err.status, err.message);
  console.error(JSON.stringify({ msg: "console error", error: String(err), stack: (err as Error)?.stack }));
  return refuse(c, 500, "The console failed unexpectedly; see the gateway's logs.");
});
