/** The CLI without a move: help, version, usage errors (exit 2), an unreachable gateway (exit 3), the token kept secret. */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../setup/free-port";
import { gateway, root, run, runJson } from "./helpers";

describe("switchyard basics", () => {
  it("prints help and its version", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("switchyard canary start <agent> <version> [--percent P] --reason R");
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    const v = await run(["--version"]);
    expect(v.stdout.trim()).toBe(pkg.version);
  });

  it.each([
    [["frobnicate"], "unknown command: frobnicate"],
    [["canary"], "canary needs a subcommand"],
    [["status", "--colour"], "Unknown option '--colour'"],
    [["rollback"], "missing agent"],
    [["rollback", "Not_An_Agent", "--reason", "x"], 'agent "Not_An_Agent" must match'],
    [["rollback", "bot"], "a reason is required"],
    [["canary", "start", "bot", "1.0", "--percent", "lots", "--reason", "x"], "--percent must be a number"],
    [["canary", "start", "bot", "1.0", "--percent", "150", "--reason", "x"], "percent"],
    [["lane", "bot", "draft-only", "--ttl", "30", "--reason", "x"], "--ttl must be a duration"],
    [["lane", "bot", "sideways", "--reason", "x"], 'unknown lane "sideways"'],
    [["lane", "bot", "approval", "dangerous", "--reason", "x"], "set.forceApproval.0"],
    [["rollback", "bot", "--reason", "x", "--if-revision", "latest"], "--if-revision must be a revision number"],
    [["audit", "--limit", "0"], "--limit must be from 1 to 500"],
    [["panic", "--reason", "x"], "panic not confirmed"],
  ])("usage error for %j: exit 2 and says what is wrong", async (args, message) => {
    const r = await run(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toMatch(/next: switchyard|usage: switchyard/);
    expect(r.stdout === "" || JSON.parse(r.stdout).exit === 2).toBe(true);
  });

  it("a usage error changes nothing on the gateway", async () => {
    const before = await runJson(["status"]);
    await run(["canary", "start", "bot", "1.0", "--percent", "150", "--reason", "x"]);
    const after = await runJson(["status"]);
    expect(after.json.revision).toBe(before.json.revision);
  });

  it("an unreachable gateway is exit 3, with the URL and what to check next", async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const r = await runJson(["status"], { env: { SWITCHYARD_URL: nobody } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`gateway unreachable: ${nobody} (SWITCHYARD_URL)`);
    expect(r.stderr).toContain("next: check the gateway is up");
    expect(r.json).toEqual({
      error: { code: "unreachable", message: expect.stringContaining("ECONNREFUSED") },
      next: expect.stringContaining("switchyard status"),
      exit: 3,
    });
    const flagged = await run(["rollback", "bot", "--reason", "x", "--url", nobody]);
    expect(flagged.code).toBe(3);
    expect(flagged.stderr).toContain("(--url)");
  });

  it("without a token: exit 2 naming SWITCHYARD_TOKEN and --token-file", async () => {
    const r = await run(["status"], { token: null });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("set SWITCHYARD_TOKEN or pass --token-file");
  });

  it("reads the token from --token-file, and never prints a token", async () => {
    const file = join(tmpdir(), `switchyard-token-${process.pid}`);
    writeFileSync(file, "viewer-token\n");
    const ok = await runJson(["status", "--token-file", file], { token: null });
    expect(ok.code).toBe(0);
    expect(typeof ok.json.revision).toBe("number");
    const secret = "s3cret-not-a-real-token";
    const refused = await run(["status"], { token: secret });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("401 unauthorized");
    const dry = await run(["rollback", "bot", "--reason", "x", "--dry-run", "--table"], { token: secret });
    for (const r of [refused, dry]) expect(r.stdout + r.stderr).not.toContain(secret);
    expect(dry.stdout).toContain("authorization: Bearer <token>");
  });

  it("is the package's bin, runnable through npx from the checkout", async () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { bin: Record<string, string> };
    expect(pkg.bin.switchyard).toBe("cli/dist/switchyard.mjs");
    expect(statSync(join(root, pkg.bin.switchyard as string)).mode & 0o111).not.toBe(0);
    const { spawnSync } = await import("node:child_process");
    const npx = spawnSync("npx", ["--no-install", "switchyard", "--version"], { cwd: root, encoding: "utf8" });
    expect(npx.status, npx.stderr).toBe(0);
    expect(npx.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("is never part of the Worker: nothing under src/ imports cli/", () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/from\s+["'](\.\.\/)+cli\//.test(readFileSync(path, "utf8"))) offenders.push(path);
      }
    };
    walk(join(root, "src"));
    expect(offenders).toEqual([]);
    expect(gateway()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
