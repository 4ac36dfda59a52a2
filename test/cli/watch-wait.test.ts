/**
 * The long-running commands: `status --watch` (redraws only on change, shows the data's age, ends cleanly on
 * Ctrl-C — on a real terminal through `script`, and as NDJSON on a pipe) and `wait`, the CI gate: 0 on promotion,
 * 1 on an abort made by the guard from real failing traffic, 4 on timeout.
 */
import { execFileSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { api, CLI, gateway, run, runJson, seedAgent, served, start, until } from "./helpers";

const WATCHED = "cli-watch";
const WAITED = "cli-wait";
const GUARDED = "cli-guarded";

const hasScript = (() => {
  try {
    execFileSync("script", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/**
 * Until the guard's view of the agent shows the live releases the state names. The guard reads the control plane
 * at most once a second, so right after a move its health still shows the old releases for a moment — a real
 * change of what `status <agent>` shows, which --watch rightly redraws; these tests start from a settled view.
 */
async function settled(agent: string): Promise<void> {
  await until(
    async () => {
      const a = (await api("GET", "/state")).body.agents as Record<
        string,
        { active: string; canary: { version: string } | null }
      >;
      const live = [a[agent]?.canary?.version, a[agent]?.active].filter(Boolean);
      const health = (await api("GET", `/agents/${agent}/health`)).body as { releases: Array<{ version: string }> };
      return JSON.stringify(health.releases.map((r) => r.version)) === JSON.stringify(live);
    },
    15_000,
    `the guard's view of ${agent}`,
  );
}

describe("status --watch", () => {
  beforeAll(async () => {
    await seedAgent(WATCHED);
  });

  it("on a pipe: one JSON line per change, none while nothing changes; SIGINT ends it with exit 0", async () => {
    await settled(WATCHED);
    const w = start(["status", WATCHED, "--watch", "--interval", "1s"]);
    await until(() => w.stdout().split("\n").filter(Boolean).length === 1, 15_000, "first line");
    await new Promise((r) => setTimeout(r, 2500)); // two polls or more, nothing changed
    expect(w.stdout().split("\n").filter(Boolean), w.stdout()).toHaveLength(1);
    await api("POST", `/agents/${WATCHED}/canary`, { version: "1.1.0", percent: 5, reason: "watch me" });
    await until(() => w.stdout().split("\n").filter(Boolean).length === 2, 15_000, "second line");
    const lines = w
      .stdout()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { pointers: { canary: unknown }; fetchedAt: string });
    expect(lines[0]?.pointers.canary).toBeNull();
    expect(lines[1]?.pointers.canary).toEqual({ version: "1.1.0", percent: 5 });
    w.child.kill("SIGINT");
    const done = await w.done;
    expect(done.code).toBe(0);
    await api("DELETE", `/agents/${WATCHED}/canary`, { reason: "watched" });
  });

  it.skipIf(!hasScript)(
    "on a terminal: draws, redraws only on change, says how old the data is, ends on Ctrl-C",
    async () => {
      await settled(WATCHED);
      const cmd = `exec '${process.execPath}' '${CLI}' status ${WATCHED} --watch --interval 1s`;
      // The CLI inside a pseudo-terminal: `script` gives it a TTY, and a ^C written to it is a real Ctrl-C.
      const { spawn } = await import("node:child_process");
      const term = spawn("script", ["-qfec", cmd, "/dev/null"], {
        env: {
          PATH: process.env.PATH ?? "",
          SWITCHYARD_URL: gateway(),
          SWITCHYARD_TOKEN: "viewer-token",
          TERM: "xterm",
        },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let screen = "";
      term.stdout.on("data", (d) => {
        screen += d.toString();
      });
      const exited = new Promise<number | null>((r) => term.on("close", r));
      try {
        const clears = () => screen.split("\x1b[2J").length - 1;
        await until(() => clears() === 1 && screen.includes("old"), 15_000, "first draw");
        await new Promise((r) => setTimeout(r, 2500));
        expect(clears(), screen).toBe(1);
        expect(screen).toMatch(/data \d+s old · every 1s · Ctrl-C to stop/);
        expect(screen).toContain("\x1b[1m"); // colour (bold) on a terminal
        await api("POST", `/overrides`, {
          scope: { agent: WATCHED },
          set: { mode: "draft-only" },
          reason: "redraw",
          ttlSeconds: 60,
        });
        await until(() => clears() === 2, 15_000, "redraw");
        expect(screen.slice(screen.lastIndexOf("\x1b[2J"))).toContain("draft-only");
        term.stdin.write("\x03");
        expect(await exited).toBe(0);
      } finally {
        if (term.exitCode === null) term.kill("SIGKILL"); // a failed assertion must not leave it running
      }
      expect(screen).toContain("\x1b[?25h"); // the cursor is given back
    },
  );

  it.skipIf(!hasScript)("NO_COLOR: no colour even on a terminal", async () => {
    const out = execFileSync("script", ["-qfec", `'${process.execPath}' '${CLI}' status ${WATCHED}`, "/dev/null"], {
      env: { PATH: process.env.PATH ?? "", SWITCHYARD_URL: gateway(), SWITCHYARD_TOKEN: "viewer-token", NO_COLOR: "1" },
      encoding: "utf8",
    });
    expect(out).toContain(`${WATCHED}  revision`);
    expect(out).not.toContain("\x1b[");
  });
});

describe("wait", () => {
  beforeAll(async () => {
    await seedAgent(WAITED);
    await seedAgent(GUARDED, { nextFailure: "bad_answer" });
  });

  it("exits 0 when the canary is promoted, saying by whom", async () => {
    await api("POST", `/agents/${WAITED}/canary`, { version: "1.1.0", percent: 10, reason: "gate" });
    const w = start(["wait", WAITED, "--timeout", "1m", "--interval", "1s"]);
    await until(() => w.stderr().includes("waiting for"), 10_000, "wait started");
    await api("POST", `/agents/${WAITED}/promote`, { version: "1.1.0", reason: "looks good" });
    const r = await w.done;
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out).sort()).toEqual([
      "agent",
      "at",
      "by",
      "entry",
      "exit",
      "outcome",
      "reason",
      "revision",
      "version",
      "waitedSeconds",
    ]);
    expect(out).toMatchObject({
      agent: WAITED,
      version: "1.1.0",
      outcome: "promoted",
      exit: 0,
      by: "admin@test",
      reason: "looks good",
    });
  });

  it("exits 4 when the canary is still running at the timeout", async () => {
    await api("PUT", `/agents/${WAITED}/releases/1.2.0`, {
      ...((await api("GET", `/agents/${WAITED}/releases/1.1.0`)).body.manifest as object),
      version: "1.2.0",
      rollout: {
        fallback: "1.1.0",
        owners: ["a"],
        triggers: [{ failureClass: "x", maxRate: 1, minRequests: 1, windowSeconds: 60, action: "abort-canary" }],
        userFallback: { status: 503, body: {} },
      },
    });
    await api("POST", `/agents/${WAITED}/canary`, { version: "1.2.0", percent: 1, reason: "slow" });
    const t0 = Date.now();
    const r = await runJson(["wait", WAITED, "--timeout", "2s", "--interval", "1s"]);
    expect(r.code).toBe(4);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.json).toMatchObject({ error: { code: "timeout" }, exit: 4 });
    expect(r.stderr).toContain(`next: switchyard status ${WAITED}`);
  });

  it("exits 1 when the guard aborts the canary on its failing traffic", async () => {
    await api("POST", `/agents/${GUARDED}/canary`, { version: "1.1.0", percent: 100, reason: "all keys" });
    const w = start(["wait", GUARDED, "--timeout", "2m", "--interval", "1s"], { token: "viewer-token" });
    await until(() => w.stderr().includes("waiting for"), 10_000, "wait started");
    // The canary's upstream reports x-agent-failure-class: bad_answer; its trigger aborts above 20 % of 5+.
    for (let i = 0; i < 12; i++) expect((await served(GUARDED, `user-${i}`)).release).toBe("1.1.0");
    const r = await w.done;
    expect(r.code, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ agent: GUARDED, version: "1.1.0", outcome: "aborted", exit: 1, by: "guard" });
    expect(out.reason).toContain("bad_answer");
    await until(async () => (await served(GUARDED, "user-1")).release === "1.0.0", 10_000, "canary gone");
    // Asked again after the fact, wait reports how the last canary ended.
    const after = await runJson(["wait", GUARDED], { token: "viewer-token" });
    expect(after.code).toBe(1);
    expect(after.json).toMatchObject({ outcome: "aborted", by: "guard" });
  });

  it("exits 0 when the release plan promotes the canary (the guard, as the plan's actor)", async () => {
    const agent = "cli-wait-plan";
    await seedAgent(agent);
    const base = (await api("GET", `/agents/${agent}/releases/1.1.0`)).body.manifest as Record<string, unknown>;
    const trigger = {
      failureClass: "bad_answer",
      maxRate: 0.5,
      minRequests: 3,
      windowSeconds: 2,
      action: "abort-canary",
    };
    const planned = {
      ...base,
      version: "1.3.0",
      rollout: {
        ...(base.rollout as object),
        triggers: [trigger],
        plan: { steps: [{ percent: 50, holdSeconds: 2 }], promote: true },
      },
    };
    expect((await api("PUT", `/agents/${agent}/releases/1.3.0`, planned)).status).toBe(201);
    const started = await run(["canary", "start", agent, "1.3.0", "--reason", "ramp by plan"]);
    expect(started.code, started.stderr).toBe(0);
    const w = start(["wait", agent, "--timeout", "1m", "--interval", "1s"], { token: "viewer-token" });
    let waiting = true;
    void w.done.then(() => {
      waiting = false;
    });
    // Traffic for the step to count (half the keys reach the canary); healthy, so the plan moves on.
    for (let i = 0; waiting && i < 300; i++) {
      await served(agent, `plan-user-${i % 40}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = await w.done;
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ agent, version: "1.3.0", outcome: "promoted", exit: 0, by: "guard" });
    expect(out.reason).toMatch(/plan/);
  });

  it("exits 1 when there is no canary to wait for", async () => {
    await seedAgent("cli-wait-none");
    const r = await run(["wait", "cli-wait-none", "--timeout", "5s"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no canary of cli-wait-none is running, and none ever ended");
    expect(r.stderr).toContain("next: switchyard canary start cli-wait-none");
    const bad = await run(["wait", "cli-wait-none", "--timeout", "soon"]);
    expect(bad.code).toBe(2);
  });
});
