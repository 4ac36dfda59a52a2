/**
 * The console in real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) against the
 * gateway started like `npm start` (test/browser/gateway.ts): sign in, the demo agent, a rising failure rate on
 * the chart, draft-only pressed with a reason and served by the data plane, its undo, a forged POST without the
 * CSRF token changing nothing, signing out, and a viewer who sees no button.
 */
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TOKENS } from "./gateway";

const gateway = inject("gateway");
const AGENT = "support-bot";
const STABLE = "2026.11.20-3";

let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  context = await browser.newContext();
  page = await context.newPage();
});
afterAll(async () => {
  await browser?.close();
});

async function admin(path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${gateway}/admin/v1${path}`, { headers: { authorization: `Bearer ${TOKENS.admin}` } });
  return (await res.json()) as Record<string, unknown>;
}

/** The lane the data plane serves a keyless request to the demo agent in. */
async function servedLane(): Promise<string | null> {
  const res = await fetch(`${gateway}/agents/${AGENT}/chat`, { method: "POST", body: "hi" });
  await res.arrayBuffer();
  return res.headers.get("x-agent-lane");
}

async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  let v = await read();
  while (!ok(v) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 300));
    v = await read();
  }
  return v;
}

async function signIn(token: string): Promise<void> {
  await page.goto(`${gateway}/console`);
  expect(new URL(page.url()).pathname).toBe("/console/login");
  await page.fill("input[name=token]", token);
  await page.click("form[action='/console/login'] button[type=submit]");
  await page.waitForURL(`${gateway}/console`);
}

describe("the console in Chromium (in order: each step builds on the last)", () => {
  it("signs in with a token into an HttpOnly, Secure, SameSite=Strict session", async () => {
    await page.goto(`${gateway}/console`);
    await page.fill("input[name=token]", "not-a-token");
    await page.click("form[action='/console/login'] button[type=submit]");
    await expect(page.textContent("[role=alert]")).resolves.toContain("not a Switchyard admin token");
    await signIn(TOKENS.admin);
    const cookie = (await context.cookies()).find((c) => c.name === "sy_console");
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/console" });
    await expect(page.textContent("[data-testid=who]")).resolves.toContain("admin");
  });

  it("shows the demo agent on the fleet page and its pointers on its own page", async () => {
    const row = page.locator(`tr[data-agent=${AGENT}]`);
    await expect(row.textContent()).resolves.toContain(STABLE);
    await row.locator("a").click();
    await page.waitForURL(`${gateway}/console/agents/${AGENT}`);
    await expect(page.textContent("[data-testid=active]")).resolves.toContain(STABLE);
    await expect(page.textContent("[data-testid=readiness]")).resolves.toContain("support-oncall");
  });

  it("draws a rising failure rate on the chart, against its threshold", async () => {
    // 30 of 40 keyless requests fail with a 500: 75 % upstream_error on the active release, below the trigger's
    // 50-request floor, so the guard does not act on it.
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${gateway}/agents/${AGENT}/chat${i < 30 ? "?status=500" : ""}`, {
        method: "POST",
        body: "x",
      });
      await res.arrayBuffer();
    }
    const rate = `[data-testid="rate-${STABLE}-upstream_error"]`;
    const shown = await eventually(
      async () => {
        await page.reload();
        return page.textContent(rate);
      },
      // Counts reach the guard in batches: wait until all 40 are in.
      (t) => t === "75.0 %",
      30_000,
    );
    expect(shown).toBe("75.0 %");
    const group = page.locator(`figure[data-release="${STABLE}"] g[data-class=upstream_error]`);
    expect(Number(await group.getAttribute("data-latest"))).toBeCloseTo(0.75);
    expect(await group.locator("line.threshold").getAttribute("data-threshold")).toBe("0.05");
    expect((await group.locator("path.rate").getAttribute("d")) ?? "").toMatch(/^M[\d.]+,[\d.]+/);
  });

  it("presses draft-only with a reason, and the data plane serves draft-only", async () => {
    expect(await servedLane()).toBe("autonomous");
    const form = page.locator("form[data-move=lane]").first();
    await form.locator("input[name=reason]").fill("browser test: refunds look wrong");
    await form.locator("button[type=submit]").click();
    await expect(page.textContent("[data-testid=result] h1")).resolves.toContain("draft-only");
    expect(await eventually(servedLane, (l) => l === "draft-only")).toBe("draft-only");
    const state = (await admin("/state")) as { overrides: Array<{ reason: string; actor: string }> };
    expect(state.overrides).toContainEqual(
      expect.objectContaining({ reason: "browser test: refunds look wrong", actor: "dev" }),
    );
  });

  it("undoes it: the lift is confirmed with its diff and traffic share first", async () => {
    const undo = page.locator("[data-testid=undo] form");
    await undo.locator("input[name=reason]").fill("browser test: undo");
    await undo.locator("button[type=submit]").click();
    await expect(page.textContent("[data-testid=share]")).resolves.toContain(`every request to ${AGENT}`);
    await expect(page.textContent("[data-testid=diff]")).resolves.toContain("set.mode");
    const confirm = page.locator("[data-testid=confirm] form");
    await confirm.locator("input[name=reason]").fill("browser test: undo");
    await confirm.locator("button[type=submit]").click();
    await expect(page.textContent("[data-testid=result] h1")).resolves.toContain("Lift the override");
    expect(await eventually(servedLane, (l) => l === "autonomous")).toBe("autonomous");
  });

  it("a forged POST without the CSRF token changes nothing", async () => {
    const { publishedRevision: _, ...before } = await admin("/state");
    const forged = await page.request.post(`${gateway}/console/agents/${AGENT}/act`, {
      form: { move: "lane", mode: "off", reason: "forged" },
    });
    expect(forged.status()).toBe(403);
    const wrong = await page.request.post(`${gateway}/console/agents/${AGENT}/act`, {
      form: { move: "lane", mode: "off", reason: "forged", csrf: "x".repeat(43) },
    });
    expect(wrong.status()).toBe(403);
    const { publishedRevision: __, ...after } = await admin("/state");
    expect(after).toEqual(before);
    expect(await servedLane()).toBe("autonomous");
  });

  it("signs out: the session is gone and pages ask to sign in again", async () => {
    await page.goto(`${gateway}/console`);
    await page.click("form[action='/console/logout'] button");
    await page.waitForURL(/\/console\/login/);
    expect((await context.cookies()).find((c) => c.name === "sy_console")).toBeUndefined();
    await page.goto(`${gateway}/console/agents/${AGENT}`);
    expect(new URL(page.url()).pathname).toBe("/console/login");
  });

  it("a viewer sees everything and no button", async () => {
    await signIn(TOKENS.viewer);
    await page.goto(`${gateway}/console/agents/${AGENT}`);
    await expect(page.textContent("[data-testid=active]")).resolves.toContain(STABLE);
    await expect(page.textContent("[data-testid=timeline]")).resolves.toContain("override.remove");
    expect(await page.locator("[data-testid=moves]").count()).toBe(0);
    expect(await page.locator("form[data-move]").count()).toBe(0);
    expect(await page.locator("a.button-link").count()).toBe(0);
    // Even a well-formed post with the viewer's own CSRF token is refused.
    const csrf = await page.locator("form[action='/console/logout'] input[name=csrf]").getAttribute("value");
    // Without a token the 403 below would prove nothing about the role: the test fails instead.
    if (csrf === null || csrf.length < 20) throw new Error("the viewer's page carries no CSRF token");
    const res = await page.request.post(`${gateway}/console/agents/${AGENT}/act`, {
      form: { move: "lane", mode: "off", reason: "viewer", csrf },
    });
    expect(res.status()).toBe(403);
    await page.click("form[action='/console/logout'] button");
    await page.waitForURL(/\/console\/login/);
  });
});
