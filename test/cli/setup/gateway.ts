/**
 * The CLI tests' world, set up once: the CLI built exactly as `prepare` builds it (cli/build.mjs), a real local
 * upstream (test/setup/upstream.ts), and the gateway run by `wrangler dev` as `npm start` runs it — workerd with
 * local KV and SQLite Durable Objects —, persisted to a fresh temporary directory so every run starts empty.
 * The tests then run the built CLI as a child process against it, as an operator would.
 *
 * Ports (loopback only): free ones picked at start, so runs in several checkouts on one machine never collide; or
 * SWITCHYARD_CLI_TEST_PORT for the gateway, +1 the upstream, +2 the inspector. Tokens: `<role>-token` for each role, as in the workerd tests; only their hashes reach the Worker.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { freePort } from "../../setup/free-port";
import { startUpstream } from "../../setup/upstream";

const root = join(import.meta.dirname, "../../..");
const fixed = process.env.SWITCHYARD_CLI_TEST_PORT;

const sha256 = (t: string) => createHash("sha256").update(t).digest("hex");
const TOKENS = ["runtime", "viewer", "operator", "releaser", "admin"].map((role) => ({
  name: `${role}@test`,
  role,
  sha256: sha256(`${role}-token`),
}));

async function until(url: string, ms: number, wrangler: ChildProcess, log: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (wrangler.exitCode !== null) throw new Error(`wrangler dev exited (${wrangler.exitCode}):\n${log()}`);
    try {
      const res = await fetch(url, { headers: { authorization: "Bearer viewer-token" } });
      if (res.status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the gateway did not answer ${url} within ${ms / 1000} s:\n${log()}`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  execFileSync(process.execPath, [join(root, "cli/build.mjs")], { stdio: "inherit" });
  const dir = mkdtempSync(join(tmpdir(), "switchyard-cli-test-"));
  writeFileSync(join(dir, "test.env"), `ADMIN_TOKENS='${JSON.stringify(TOKENS)}'\n`);
  const base = fixed === undefined ? null : Number(fixed);
  const port = base ?? (await freePort());
  const inspector = base === null ? await freePort() : base + 2;
  const upstream = await startUpstream(base === null ? 0 : base + 1);
  const wrangler = spawn(
    join(root, "node_modules/.bin/wrangler"),
    [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspector),
      "--persist-to",
      join(dir, "state"),
      "--env-file",
      join(dir, "test.env"),
      "--show-interactive-dev-session=false",
      "--log-level",
      "warn",
    ],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      detached: true,
    },
  );
  let log = "";
  const keep = (d: Buffer) => {
    log = (log + d.toString()).slice(-8000);
  };
  wrangler.stdout?.on("data", keep);
  wrangler.stderr?.on("data", keep);
  const gateway = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (wrangler.exitCode === null && wrangler.pid !== undefined) {
      const exited = new Promise((r) => wrangler.once("exit", r));
      process.kill(-wrangler.pid, "SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (wrangler.exitCode === null) process.kill(-wrangler.pid, "SIGKILL");
    }
    await new Promise<void>((r) => upstream.server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(`${gateway}/admin/v1/state`, 90_000, wrangler, () => log);
  } catch (err) {
    await stop();
    throw err;
  }
  (project.provide as (key: string, value: unknown) => void)("gateway", gateway);
  (project.provide as (key: string, value: unknown) => void)("cliUpstream", upstream.url);
  return stop;
}
