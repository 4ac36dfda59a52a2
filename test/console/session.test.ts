/**
 * The console's doors inside workerd (SELF.fetch, real Durable Objects and KV): sign-in turns a token into a
 * signed session cookie, a tampered or absent cookie is no session, a runtime token cannot sign in, every page
 * carries the CSP, every form post needs its CSRF token and a same-origin request, and a viewer's post is refused.
 * The browser tests (test/browser) drive the same pages in Chromium.
 */
import { SELF } from "cloudflare:test";
import { expect, it } from "vitest";
import { setupAgent, state } from "../helpers/admin";
import { planAgent, shown, startCanary } from "../plan/helpers";

const BASE = "https://gw";

/** Signs in with the token of a test role; returns the session cookie (name=value). */
async function signIn(token: string): Promise<{ cookie: string; res: Response }> {
  const page = await SELF.fetch(`${BASE}/console/login`, { redirect: "manual" });
  const login = /sy_login=([^;]+)/.exec(page.headers.get("set-cookie") ?? "")?.[1] ?? "";
  const html = await page.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  expect(login).not.toBe(""); // the sign-in form's own cookie and token exist, so a later refusal is not theirs
  expect(csrf).toBe(login);
  if (csrf === undefined) throw new Error("no CSRF token on the sign-in form");
  const res = await SELF.fetch(`${BASE}/console/login`, {
    method: "POST",
    redirect: "manual",
    headers: { cookie: `sy_login=${login}`, "content-type": "application/x-www-form-urlencoded", origin: BASE },
    body: new URLSearchParams({ csrf, token, next: "/console" }),
  });
  const cookie = /sy_console=[^;]+/.exec(res.headers.get("set-cookie") ?? "")?.[0] ?? "";
  return { cookie, res };
}

const get = (path: string, cookie: string) => SELF.fetch(`${BASE}${path}`, { headers: { cookie }, redirect: "manual" });

const post = (path: string, cookie: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  SELF.fetch(`${BASE}${path}`, {
    method: "POST",
    redirect: "manual",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form),
  });

/** A page's CSRF token; a page without one fails the test, so no refusal can be put down to its absence. */
function csrfIn(html: string, where: string): string {
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (csrf === undefined || csrf.length < 20) throw new Error(`no CSRF token on ${where}`);
  return csrf;
}

const csrfOf = async (path: string, cookie: string): Promise<string> =>
  csrfIn(await (await get(path, cookie)).text(), path);

it("signs in into an HttpOnly, Secure, SameSite=Strict cookie; a tampered cookie is no session", async () => {
  const { cookie, res } = await signIn("operator-token");
  expect(res.status).toBe(303);
  expect(res.headers.get("set-cookie")).toMatch(/sy_console=[^;]+;.*HttpOnly/i);
  expect(res.headers.get("set-cookie")).toMatch(/Secure/);
  expect(res.headers.get("set-cookie")).toMatch(/SameSite=Strict/);
  expect(res.headers.get("set-cookie")).toMatch(/Path=\/console/);
  const fleet = await get("/console", cookie);
  expect(fleet.status).toBe(200);
  expect(await fleet.text()).toContain("operator@test");

  const [name, value] = cookie.split("=") as [string, string];
  const [body, sig] = value.split(".") as [string, string];
  const forgedBody = btoa(
    JSON.stringify({ ...JSON.parse(atob(body.replaceAll("-", "+").replaceAll("_", "/"))), exp: 9e15 }),
  )
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
  for (const bad of [`${name}=${forgedBody}.${sig}`, `${name}=${body}.${sig.slice(0, -2)}AA`, `${name}=garbage`, ""]) {
    const r = await get("/console", bad);
    expect(r.status, bad).toBe(303);
    expect(r.headers.get("location")).toMatch(/^\/console\/login/);
  }
});

it("refuses unknown and runtime tokens, and a sign-in form without its CSRF cookie", async () => {
  for (const token of ["nope", "runtime-token"]) {
    const { cookie, res } = await signIn(token);
    expect(res.status).toBe(403);
    expect(cookie).toBe("");
  }
  const res = await post("/console/login", "", { csrf: "x".repeat(24), token: "admin-token" }, { origin: BASE });
  expect(res.status).toBe(403);
  expect(res.headers.get("set-cookie") ?? "").not.toContain("sy_console");
});

it("sends a CSP without inline script and no-store on every page", async () => {
  const { cookie } = await signIn("viewer-token");
  for (const path of ["/console/login", "/console"]) {
    // The sign-in form as a stranger sees it, the fleet page as the signed-in viewer: both pages, not redirects.
    const r = await get(path, path === "/console/login" ? "" : cookie);
    expect(r.status, path).toBe(200);
    const csp = r.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await r.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\son[a-z]+=/);
  }
  expect((await get("/console/assets/app.js", "")).status).toBe(200);
});

it("changes nothing for a post without the CSRF token, from another origin, or from a viewer", async () => {
  const agent = "console-csrf";
  await setupAgent(agent, { versions: ["v1"], active: "v1" });
  const { publishedRevision: _, ...before } = (await state()) as Awaited<ReturnType<typeof state>> & {
    publishedRevision?: number;
  };
  const { cookie } = await signIn("operator-token");
  const csrf = await csrfOf(`/console/agents/${agent}`, cookie);
  expect(csrf.length).toBeGreaterThan(20);
  const form = { move: "lane", mode: "off", reason: "csrf test" };
  expect((await post(`/console/agents/${agent}/act`, cookie, form)).status).toBe(403);
  expect((await post(`/console/agents/${agent}/act`, cookie, { ...form, csrf: `${csrf.slice(0, -1)}x` })).status).toBe(
    403,
  );
  const cross = await post(
    `/console/agents/${agent}/act`,
    cookie,
    { ...form, csrf },
    { origin: "https://evil.example" },
  );
  expect(cross.status).toBe(403);
  const site = await post(
    `/console/agents/${agent}/act`,
    cookie,
    { ...form, csrf },
    { "sec-fetch-site": "cross-site" },
  );
  expect(site.status).toBe(403);
  const viewer = await signIn("viewer-token");
  const viewerCsrf = await csrfOf(`/console/agents/${agent}`, viewer.cookie);
  // The viewer's own, valid token: the refusal below is the role's, not a missing or foreign token's.
  expect(viewerCsrf).not.toBe(csrf);
  expect((await post(`/console/agents/${agent}/act`, viewer.cookie, { ...form, csrf: viewerCsrf })).status).toBe(403);
  // Bad input: 400, nothing changes.
  expect((await post(`/console/agents/${agent}/act`, cookie, { ...form, mode: "autonomous", csrf })).status).toBe(400);
  expect((await post(`/console/agents/${agent}/act`, cookie, { ...form, reason: " ", csrf })).status).toBe(400);
  expect((await post(`/console/agents/${agent}/act`, cookie, { ...form, extra: "1", csrf })).status).toBe(400);
  const { publishedRevision: __, ...after } = (await state()) as typeof before & { publishedRevision?: number };
  expect(after).toEqual(before);

  // The same post with its token goes through, as the signed-in operator.
  const ok = await post(`/console/agents/${agent}/act`, cookie, { ...form, csrf });
  expect(ok.status).toBe(200);
  expect(await ok.text()).toContain("Undo");
  expect((await state()).overrides).toContainEqual(
    expect.objectContaining({ reason: "csrf test", actor: "operator@test" }),
  );
});

it("sends a riskier move to its confirm page first, and applies it only with If-Match of the state shown", async () => {
  const agent = "console-risky";
  await setupAgent(agent, { versions: ["v1", "v2"], active: "v1" });
  const { cookie } = await signIn("releaser-token");
  const csrf = await csrfOf(`/console/agents/${agent}`, cookie);
  const form = { move: "canary.set", version: "v2", percent: "25", reason: "try it" };
  const first = await post(`/console/agents/${agent}/act`, cookie, { ...form, csrf });
  expect(first.status).toBe(303);
  const confirm = await get(first.headers.get("location")!, cookie);
  const html = await confirm.text();
  expect(html).toContain("25 % of sticky keys");
  expect(html).toContain("instructions.system");
  const revision = /name="revision" value="(\d+)"/.exec(html)?.[1];
  expect((await state()).agents[agent]!.canary).toBeNull();
  const stale = await post(`/console/agents/${agent}/act`, cookie, { ...form, csrf, confirmed: "1", revision: "1" });
  expect(stale.status).toBe(412);
  expect((await state()).agents[agent]!.canary).toBeNull();
  const done = await post(`/console/agents/${agent}/act`, cookie, {
    ...form,
    csrf,
    confirmed: "1",
    revision: revision!,
  });
  expect(done.status).toBe(200);
  expect((await state()).agents[agent]!.canary).toEqual({ version: "v2", percent: 25 });
});

it("pauses a canary's plan (operator) and resumes it through the confirm page (releaser)", async () => {
  const agent = "console-plan";
  await planAgent(agent);
  await startCanary(agent);
  const operator = await signIn("operator-token");
  const html = await (await get(`/console/agents/${agent}`, operator.cookie)).text();
  expect(html).toContain("step 1, running");
  expect(html).toContain('data-move="canary.pause"');
  const csrf = csrfIn(html, "the operator's agent page");
  const paused = await post(`/console/agents/${agent}/act`, operator.cookie, {
    move: "canary.pause",
    reason: "look",
    csrf,
  });
  expect(paused.status).toBe(200);
  expect(await paused.text()).toContain("Resume the canary");
  expect((await shown(agent)).plan?.state.status).toBe("paused");

  const releaser = await signIn("releaser-token");
  const page = await (await get(`/console/agents/${agent}`, releaser.cookie)).text();
  const rcsrf = csrfIn(page, "the releaser's agent page");
  const first = await post(`/console/agents/${agent}/act`, releaser.cookie, {
    move: "canary.resume",
    reason: "ok",
    csrf: rcsrf,
  });
  expect(first.status).toBe(303);
  const confirm = await (await get(first.headers.get("location")!, releaser.cookie)).text();
  const revision = /name="revision" value="(\d+)"/.exec(confirm)?.[1] ?? "";
  expect((await shown(agent)).plan?.state.status).toBe("paused");
  const done = await post(`/console/agents/${agent}/act`, releaser.cookie, {
    move: "canary.resume",
    reason: "ok",
    csrf: rcsrf,
    confirmed: "1",
    revision,
  });
  expect(done.status).toBe(200);
  expect((await shown(agent)).plan?.state.status).toBe("running");
});
