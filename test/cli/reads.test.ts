/**
 * Reads through the CLI — status, diff, explain, audit, timeline — with their --json shapes pinned (the keys a
 * script may rely on, docs/cli.md) and their tables checked for what a person looks for.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { api, run, runJson, seedAgent } from "./helpers";

const AGENT = "cli-reads";

describe("reads", () => {
  beforeAll(async () => {
    await seedAgent(AGENT);
    await api("POST", `/agents/${AGENT}/canary`, { version: "1.1.0", percent: 25, reason: "reads" });
  });

  it("status: the fleet, with its JSON shape", async () => {
    const r = await runJson(["status"], { token: "viewer-token" });
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(r.json).sort()).toEqual([
      "agents",
      "fetchedAt",
      "overrides",
      "plans",
      "publishedRevision",
      "revision",
    ]);
    expect((r.json.agents as Record<string, unknown>)[AGENT]).toMatchObject({
      active: "1.0.0",
      fallback: "off",
      canary: { version: "1.1.0", percent: 25 },
    });
    const t = await run(["status", "--table"], { token: "viewer-token" });
    expect(t.stdout).toMatch(new RegExp(`${AGENT}\\s+1\\.0\\.0\\s+off\\s+1\\.1\\.0 @ 25%`));
    expect(t.stdout).not.toContain("\x1b[");
  });

  it("status <agent>: pointers, lanes, the guard's view and the stored releases", async () => {
    const r = await runJson(["status", AGENT], { token: "viewer-token" });
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(r.json).sort()).toEqual([
      "agent",
      "fetchedAt",
      "health",
      "overrides",
      "plan",
      "pointers",
      "releases",
      "revision",
    ]);
    expect(r.json.pointers).toMatchObject({ active: "1.0.0", canary: { version: "1.1.0", percent: 25 } });
    const health = r.json.health as { releases: Array<{ version: string; role: string }> };
    expect(health.releases.map((x) => [x.version, x.role])).toEqual([
      ["1.1.0", "canary"],
      ["1.0.0", "active"],
    ]);
    expect((r.json.releases as Array<{ version: string }>).map((x) => x.version)).toEqual(["1.0.0", "1.1.0"]);
    const t = await run(["status", AGENT, "--table"]);
    expect(t.stdout).toMatch(/canary\s+1\.1\.0 @ 25%/);
    expect(t.stdout).toMatch(/1\.1\.0\s+canary\s+bad_answer\s+0\.00%\s+20\.00%\s+0\s+insufficient/);
    const unknown = await run(["status", "no-such-agent"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no agent no-such-agent");
  });

  it("diff: every changed field, tools matched by name", async () => {
    const r = await runJson(["diff", AGENT, "1.0.0", "1.1.0"], { token: "viewer-token" });
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(r.json).sort()).toEqual(["changes", "from", "to"]);
    const paths = (r.json.changes as Array<{ path: string }>).map((c) => c.path);
    expect(paths).toEqual(["description", "rollout.fallback", "version", "workflows.default.upstream"]);
    const t = await run(["diff", AGENT, "1.0.0", "1.1.0", "--table"]);
    expect(t.stdout).toMatch(/rollout\.fallback\s+off\s+1\.0\.0/);
    const missing = await run(["diff", AGENT, "1.0.0", "9.9.9"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("404 unknown_release");
  });

  it("explain: the decision for a key, with its reasons", async () => {
    const r = await runJson(["explain", AGENT, "--key", "user-42"], { token: "viewer-token" });
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(r.json).sort()).toEqual(["decision", "ok", "plan", "revision"]);
    const d = r.json.decision as { release: string; bucket: number; kind: string; reasons: string[] };
    expect(d.kind).toBe(d.bucket < 2500 ? "canary" : "stable");
    const pinned = await runJson(["explain", AGENT, "--release", "1.1.0"]);
    expect((pinned.json.decision as { kind: string }).kind).toBe("pinned");
    const t = await run(["explain", AGENT, "--key", "user-42", "--table"]);
    expect(t.stdout).toMatch(/lane\s+autonomous/);
    expect(t.stdout).toContain("reasons:");
  });

  it("audit: newest first, by agent, with --limit", async () => {
    const r = await runJson(["audit", AGENT, "--limit", "2"], { token: "viewer-token" });
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(r.json).sort()).toEqual(["entries", "next"]);
    const entries = r.json.entries as Array<{ action: string; agent: string; seq: number }>;
    expect(entries.map((e) => e.action)).toEqual(["canary.set", "promote"]);
    expect(entries.every((e) => e.agent === AGENT)).toBe(true);
    const t = await run(["audit", AGENT, "--limit", "1", "--table"]);
    expect(t.stdout).toMatch(/SEQ\s+AT\s+ACTOR\s+ACTION\s+AGENT\s+REV\s+REASON/);
    expect(t.stdout).toMatch(/admin@test\s+canary\.set\s+cli-reads/);
  });

  it("timeline: the agent's changes in time order, each with its field-level diff", async () => {
    const r = await runJson(["timeline", AGENT, "--since", "1h"], { token: "viewer-token" });
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(r.json)).toEqual(expect.arrayContaining(["agent", "since", "now", "items", "next", "more"]));
    const items = r.json.items as Array<{ action: string; kind: string; at: string; changes: Array<{ path: string }> }>;
    // The agent's own changes (fleet-wide overrides laid by other files' panics appear too, and are left out here).
    const actions = items.filter((i) => i.kind === "change" && !i.action.startsWith("override.")).map((i) => i.action);
    expect(actions).toEqual(["release.put", "release.put", "promote", "canary.set"]);
    expect(items.map((i) => i.at)).toEqual(items.map((i) => i.at).sort());
    expect(items.find((i) => i.action === "canary.set")?.changes.map((c) => c.path)).toEqual([
      "canary.percent",
      "canary.version",
    ]);
    const t = await run(["timeline", AGENT, "--table"]);
    expect(t.stdout).toMatch(/change\s+canary\.set\s+admin@test\s+reads/);
    const future = await runJson(["timeline", AGENT, "--since", new Date(Date.now() + 60_000).toISOString()]);
    expect(future.code).toBe(0);
    expect(future.json.items).toEqual([]);
  });

  it("--since must be a duration or an ISO time", async () => {
    const r = await run(["timeline", AGENT, "--since", "yesterday"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--since must be a duration (30m, 2h) or an ISO time");
  });
});
