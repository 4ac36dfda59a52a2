/**
 * Global setup of the browser tests (Node): the gateway exactly as `npm start` runs it — wrangler dev with local
 * KV and SQLite Durable Objects, the demo upstream, the demo agent seeded through the admin API — on its own
 * ports and a fresh state directory, with one more token (a viewer) passed as a wrangler `--var`.
 * Ports: free ones picked at start (test/setup/free-port.ts); or BROWSER_TEST_PORT, the upstream and inspector on
 * the next two.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { freePort } from "../setup/free-port";

const sha256 = (t: string) => createHash("sha256").update(t).digest("hex");
export const TOKENS = { admin: "dev-admin-token", viewer: "console-viewer-token" };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fixed = process.env.BROWSER_TEST_PORT;
  const port = fixed ? Number(fixed) : await freePort();
  const upstreamPort = fixed ? port + 1 : await freePort();
  const inspectorPort = fixed ? port + 2 : await freePort();
  const state = mkdtempSync(join(tmpdir(), "switchyard-browser-"));
  const tokens = JSON.stringify([
    { name: "dev", role: "admin", sha256: sha256(TOKENS.admin) },
    { name: "vera", role: "viewer", sha256: sha256(TOKENS.viewer) },
  ]);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "scripts/start.mjs",
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      state,
      "--var",
      `ADMIN_TOKENS:${tokens}`,
    ],
    {
      cwd: join(import.meta.dirname, "../.."),
      env: { ...process.env, PORT: String(port), UPSTREAM_PORT: String(upstreamPort), SWITCHYARD_QUIET: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let log = "";
  const up = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start within 90 s:\n${log}`)), 90_000);
    child.stdout?.on("data", (d: Buffer) => {
      log += d.toString();
      if (log.includes("Switchyard is running")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on("data", (d: Buffer) => {
      log += d.toString();
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited (${code}):\n${log}`));
    });
  });
  await up;
  (project.provide as (key: string, value: unknown) => void)("gateway", `http://127.0.0.1:${port}`);
  return async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    rmSync(state, { recursive: true, force: true });
  };
}
