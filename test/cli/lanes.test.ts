/**
 * Safer lanes through the CLI: lane draft-only / off / approval / workflow, tool disable / scope, lift, and
 * panic / unpanic — each checked on the data plane (what the upstream is told it may use), with --ttl read as a
 * duration, refusals explained (lifting needs a releaser) and unpanic lifting the panic and nothing else.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { api, run, runJson, seedAgent, served, state, until } from "./helpers";

const AGENT = "cli-lanes";
const OTHER = "cli-lanes-other";
type Laid = {
  result: { id: string; expiresAt: string | null };
  revision: number;
  changed: boolean;
  change: { after: Record<string, unknown> };
};

async function lift(id: string) {
  const r = await run(["lift", id, "--reason", "test done"]);
  expect(r.code, r.stderr).toBe(0);
}

describe("lanes", () => {
  beforeAll(async () => {
    await seedAgent(AGENT);
    await seedAgent(OTHER);
  });

  it("lane draft-only with --ttl 30m: only read tools are served, until the expiry", async () => {
    const t0 = Date.now();
    const r = await runJson<Laid>(["lane", AGENT, "draft-only", "--ttl", "30m", "--reason", "incident 7"], {
      token: "operator-token",
    });
    expect(r.code, r.stderr).toBe(0);
    const expires = Date.parse(r.json.result.expiresAt as string);
    expect(expires - t0).toBeGreaterThan(29 * 60_000);
    expect(expires - t0).toBeLessThan(31 * 60_000);
    expect(r.json.change.after).toMatchObject({
      scope: { agent: AGENT },
      set: { mode: "draft-only" },
      reason: "incident 7",
    });
    await until(async () => (await served(AGENT)).lane === "draft-only", 10_000, "draft-only served");
    expect((await served(AGENT)).tools).toBe("search_kb");
    await lift(r.json.result.id);
    await until(async () => (await served(AGENT)).lane === "autonomous", 10_000, "autonomous again");
  });

  it("lane off, approval and workflow lay the knob they name", async () => {
    for (const [args, set] of [
      [["off"], { mode: "off" }],
      [["approval", "write", "destructive"], { forceApproval: ["write", "destructive"] }],
      [["workflow", "simple"], { workflow: "simple" }],
    ] as const) {
      const r = await runJson<Laid>(["lane", AGENT, ...args, "--ttl", "2h", "--reason", "knob"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.change.after.set).toEqual(set);
      await lift(r.json.result.id);
    }
  });

  it("tool disable and tool scope, for one release, with --ttl 3600s", async () => {
    const off = await runJson<Laid>([
      "tool",
      "disable",
      AGENT,
      "send_email",
      "--release",
      "1.0.0",
      "--ttl",
      "3600s",
      "--reason",
      "mail loop",
    ]);
    expect(off.code, off.stderr).toBe(0);
    expect(off.json.change.after).toMatchObject({
      scope: { agent: AGENT, release: "1.0.0" },
      set: { disableTools: ["send_email"] },
    });
    await until(async () => (await served(AGENT)).tools === "search_kb,issue_refund", 10_000, "send_email withheld");
    const scope = await runJson<Laid>(["tool", "scope", AGENT, "search_kb", "issue_refund", "--reason", "only these"]);
    expect(scope.code, scope.stderr).toBe(0);
    await until(async () => (await served(AGENT)).tools === "search_kb,issue_refund", 10_000, "scoped");
    const table = await run(["status", AGENT, "--table"]);
    expect(table.stdout).toContain("tools off: send_email");
    expect(table.stdout).toContain("tools only: search_kb,issue_refund");
    await lift(off.json.result.id);
    await lift(scope.json.result.id);
    const bad = await run(["tool", "disable", AGENT, "--reason", "none named"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("missing tool");
  });

  it("lift needs a releaser: an operator gets exit 1 with 403 explained, and the lane stays", async () => {
    const laid = await runJson<Laid>(["lane", AGENT, "draft-only", "--reason", "hold"], { token: "operator-token" });
    const r = await run(["lift", laid.json.result.id, "--reason", "loosen"], { token: "operator-token" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("(403 forbidden): removing an override needs the role releaser or higher");
    expect((await state()).overrides.map((o) => o.id)).toContain(laid.json.result.id);
    await lift(laid.json.result.id);
    const gone = await run(["lift", laid.json.result.id, "--reason", "again"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("404 unknown_override");
    const malformed = await run(["lift", "not-an-id", "--reason", "x"]);
    expect(malformed.code).toBe(2);
  });
});

describe("panic and unpanic", () => {
  it("panic lays one draft-only override over every agent; twice is still one; unpanic lifts exactly it", async () => {
    const ownLane = await runJson<Laid>(["lane", OTHER, "draft-only", "--reason", "unrelated incident"]);
    const before = (await state()).overrides.length;
    const r = await runJson<Laid>(["panic", "--reason", "bad model day", "--yes"], { token: "operator-token" });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.change.after).toMatchObject({
      scope: { agent: "*" },
      set: { mode: "draft-only" },
      reason: "[panic] bad model day",
    });
    await until(async () => (await served(AGENT)).lane === "draft-only", 10_000, "panic served");
    const twice = await runJson<Laid>(["panic", "--reason", "again", "--yes"]);
    expect(twice.code).toBe(0);
    expect(twice.json).toMatchObject({ changed: false, result: { id: r.json.result.id } });
    expect(twice.stderr).toContain("a panic is already in force over every agent");
    expect((await state()).overrides.length).toBe(before + 1);

    const refused = await run(["unpanic", "--reason", "over", "--yes"], { token: "operator-token" });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("403 forbidden");
    const lifted = await runJson<Laid>(["unpanic", "--reason", "over", "--yes"], { token: "releaser-token" });
    expect(lifted.code, lifted.stderr).toBe(0);
    expect(lifted.json.changed).toBe(true);
    const ids = (await state()).overrides.map((o) => o.id);
    expect(ids).not.toContain(r.json.result.id);
    expect(ids).toContain(ownLane.json.result.id);
    await until(async () => (await served(AGENT)).lane === "autonomous", 10_000, "panic lifted");
    expect((await served(OTHER)).lane).toBe("draft-only");
    const nothing = await runJson(["unpanic", "--reason", "over", "--yes"]);
    expect(nothing.code).toBe(0);
    expect(nothing.json.changed).toBe(false);
    await lift(ownLane.json.result.id);
  });

  it("panic --agent covers one agent only; unpanic --agent lifts that one, not the global kind", async () => {
    const r = await runJson<Laid>(["panic", "--agent", AGENT, "--ttl", "1h", "--reason", "one bot", "--yes"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.change.after.scope).toEqual({ agent: AGENT });
    await until(async () => (await served(AGENT)).lane === "draft-only", 10_000, "agent panic served");
    expect((await served(OTHER)).lane).toBe("autonomous");
    const none = await runJson(["unpanic", "--reason", "wrong scope", "--yes"]);
    expect(none.json.changed).toBe(false);
    const lifted = await runJson(["unpanic", "--agent", AGENT, "--reason", "fine", "--yes"]);
    expect(lifted.json.changed).toBe(true);
    expect((await state()).overrides.some((o) => o.id === r.json.result.id)).toBe(false);
  });

  it("two panics at once lay one override (If-Match of the read)", async () => {
    const [a, b] = await Promise.all([
      runJson<Laid>(["panic", "--reason", "a", "--yes"]),
      runJson<Laid>(["panic", "--reason", "b", "--yes"]),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const panics = (await state()).overrides.filter((o) => o.reason.startsWith("[panic] ") && o.scope.agent === "*");
    expect(panics).toHaveLength(1);
    expect([a.json.changed, b.json.changed].sort()).toEqual([false, true]);
    await runJson(["unpanic", "--reason", "done", "--yes"]);
    expect((await api("GET", "/state")).body.overrides).not.toContainEqual(
      expect.objectContaining({ id: panics[0]?.id }),
    );
  });
});
