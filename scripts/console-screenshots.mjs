// Screenshots of the console for docs/ (run by hand): the gateway as `npm start` runs it, on its own ports and a
// fresh state directory, some traffic with failures so the charts have something to show, then the fleet and
// agent pages in light and dark, in Debian's Chromium through playwright-core.
//   node scripts/console-screenshots.mjs            (PORT default 9705; writes docs/console-*.png)
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const PORT = Number(process.env.PORT ?? 9705);
const gateway = `http://127.0.0.1:${PORT}`;
const state = mkdtempSync(join(tmpdir(), "switchyard-shots-"));
const child = spawn(
  process.execPath,
  ["scripts/start.mjs", "--inspector-port", String(PORT + 2), "--persist-to", state],
  {
    cwd: root,
    env: { ...process.env, PORT: String(PORT), UPSTREAM_PORT: String(PORT + 1), SWITCHYARD_QUIET: "1" },
    stdio: ["ignore", "pipe", "inherit"],
  },
);
await new Promise((resolve, reject) => {
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
    if (out.includes("Switchyard is running")) resolve();
  });
  child.on("exit", (code) => reject(new Error(`start.mjs exited ${code}`)));
});

const send = async (path, headers = {}) =>
  (await fetch(`${gateway}${path}`, { method: "POST", body: "hi", headers })).arrayBuffer();
const admin = (path, body) =>
  fetch(`${gateway}/admin/v1${path}`, {
    method: "POST",
    headers: { authorization: "Bearer dev-admin-token", "content-type": "application/json" },
    body: JSON.stringify(body),
  });

// A minute of traffic: the canary's error rate climbs, the stable one stays low; then an operator lays draft-only.
for (let round = 0; round < 12; round++) {
  for (let i = 0; i < 30; i++) await send(`/agents/support-bot/chat${i < 1 ? "?status=502" : ""}`);
  for (let i = 0; i < 40; i++) {
    await send(`/agents/support-bot/chat${i < round ? "?status=503" : ""}`, { "x-agent-key": `user-${round}-${i}` });
  }
  if (round === 7) {
    await admin("/overrides", {
      scope: { agent: "support-bot", release: "2026.11.27-1" },
      set: { disableTools: ["issue_refund"] },
      reason: "refund errors reported by support",
      ttlSeconds: 3600,
    });
  }
  await new Promise((r) => setTimeout(r, 5000));
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  for (const scheme of ["light", "dark"]) {
    const context = await browser.newContext({ colorScheme: scheme, viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${gateway}/console/login`);
    await page.fill("input[name=token]", "dev-admin-token");
    await page.click("form[action='/console/login'] button");
    await page.waitForURL(`${gateway}/console`);
    await page.screenshot({ path: join(root, `docs/console-fleet-${scheme}.png`) });
    await page.goto(`${gateway}/console/agents/support-bot`);
    await page.screenshot({ path: join(root, `docs/console-agent-${scheme}.png`), fullPage: true });
    await context.close();
  }
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  const page = await phone.newPage();
  await page.goto(`${gateway}/console/login`);
  await page.fill("input[name=token]", "dev-admin-token");
  await page.click("form[action='/console/login'] button");
  await page.goto(`${gateway}/console/agents/support-bot`);
  await page.screenshot({ path: join(root, "docs/console-agent-phone.png") });
} finally {
  await browser.close();
  child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 1500));
  rmSync(state, { recursive: true, force: true });
}
console.log("wrote docs/console-{fleet,agent}-{light,dark}.png and docs/console-agent-phone.png");
