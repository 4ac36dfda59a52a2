/**
 * Pointer moves through the CLI: release push, promote, canary start / set / abort, rollback — each one's happy
 * path with the data plane checked afterwards, a refused move (403, 412, 422) explained with exit 1, --dry-run
 * sending nothing, and the JSON shape of a mutation pinned.
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { api, manifest, run, runJson, served, state, until } from "./helpers";

const AGENT = "cli-moves";
const file = (name: string, content: unknown) => {
  const path = join(tmpdir(), `switchyard-${process.pid}-${name}.json`);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
};
const MUTATION_KEYS = ["agent", "change", "changed", "command", "published", "result", "revision"];

describe("release push", () => {
  it("validates locally: an invalid manifest is exit 2 with every field problem, and nothing is sent", async () => {
    const before = (await state()).revision;
    const bad = { ...manifest(AGENT, "0.1.0"), tools: [{ name: "x", risk: "spicy" }], colour: "red" };
    const r = await run(["release", "push", file("bad", bad), "--reason", "try"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is not a valid release manifest; nothing was sent");
    expect(r.stderr).toMatch(/tools\.0\.risk: /);
    expect(r.stderr).toContain("colour");
    const notJson = await run(["release", "push", file("notjson", "{ nope"), "--reason", "try"]);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain("is not JSON");
    const missing = await run(["release", "push", "/nonexistent/m.json", "--reason", "try"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read /nonexistent/m.json (ENOENT)");
    expect((await state()).revision).toBe(before);
  });

  it("lists the readiness gaps, stores a draft, and records the reason", async () => {
    const draft = manifest(AGENT, "0.9.0", { ready: false });
    const r = await runJson(["release", "push", file("draft", draft), "--reason", "draft for review"]);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(r.json).sort()).toEqual([...MUTATION_KEYS, "digest", "readiness", "version"].sort());
    expect(r.json).toMatchObject({ command: "release push", agent: AGENT, version: "0.9.0", changed: true });
    const readiness = r.json.readiness as { ready: boolean; missing: string[] };
    expect(readiness.ready).toBe(false);
    expect(readiness.missing.map((m) => m.split(":")[0])).toEqual([
      "rollout.fallback",
      "rollout.owners",
      "rollout.triggers",
      "rollout.userFallback",
    ]);
    expect((r.json.change as { reason: string }).reason).toBe("draft for review");
    const table = await run(["release", "push", file("draft", draft), "--reason", "again", "--table"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("4 gap(s)");
    expect(table.stdout).toContain("nothing to change");
  });

  it("a ready release: no gaps; a fallback that is not stored is a gap found through the gateway", async () => {
    const stable = await runJson(["release", "push", file("stable", manifest(AGENT, "1.0.0")), "--reason", "stable"]);
    expect(stable.code, stable.stderr).toBe(0);
    expect(stable.json.readiness).toEqual({ ready: true, missing: [] });
    expect(stable.json.digest).toBe((stable.json.result as { digest: string }).digest);
    const orphan = manifest(AGENT, "1.0.1", { fallback: "0.0.1" });
    const r = await runJson(["release", "push", file("orphan", orphan), "--reason", "orphan", "--dry-run"]);
    expect(r.code).toBe(0);
    expect((r.json.readiness as { missing: string[] }).missing).toEqual([
      "rollout.fallback: release 0.0.1 does not exist",
    ]);
    expect(r.json.dryRun).toBe(true);
    expect((r.json.request as { method: string; url: string }).url).toMatch(/\/releases\/1\.0\.1\?reason=orphan$/);
    const rels = await api("GET", `/agents/${AGENT}/releases`);
    expect((rels.body.releases as Array<{ version: string }>).map((x) => x.version)).not.toContain("1.0.1");
  });

  it("other content under a stored version is refused: exit 1, 409 explained", async () => {
    const changed = { ...manifest(AGENT, "1.0.0"), description: "something else" };
    const r = await run(["release", "push", file("clash", changed), "--reason", "clash"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("409 release_exists");
    expect(r.stderr).toContain("next: a version is immutable");
  });
});

describe("promote, canary, rollback", () => {
  beforeAll(async () => {
    await api("PUT", `/agents/${AGENT}/releases/1.0.0`, manifest(AGENT, "1.0.0"));
    await api("PUT", `/agents/${AGENT}/releases/1.1.0`, manifest(AGENT, "1.1.0", { fallback: "1.0.0" }));
  });

  it("promote: prints what changed and the new revision", async () => {
    const r = await run(["promote", AGENT, "1.0.0", "--reason", "first stable", "--table"]);
    expect(r.code, r.stderr).toBe(0);
    const rev = (await state()).revision;
    expect(r.stdout).toContain(`promote ${AGENT}@1.0.0: done, revision ${rev}`);
    expect(r.stdout).toMatch(/active\s+none → 1\.0\.0/);
    expect(r.stdout).toMatch(/fallback\s+none → off/);
    await until(async () => (await served(AGENT)).release === "1.0.0", 10_000, "1.0.0 served");
  });

  it("promote of a draft is refused: exit 1, every readiness gap named", async () => {
    const r = await runJson(["promote", AGENT, "0.9.0", "--reason", "too soon"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("422 not_ready");
    expect(r.stderr).toContain("missing: rollout.owners");
    expect(r.json).toMatchObject({ error: { code: "not_ready", status: 422 }, exit: 1 });
  });

  it("canary start, set and abort; JSON shape of a mutation", async () => {
    const start = await runJson(["canary", "start", AGENT, "1.1.0", "--percent", "10", "--reason", "try 1.1"]);
    expect(start.code, start.stderr).toBe(0);
    expect(Object.keys(start.json).sort()).toEqual(MUTATION_KEYS);
    expect(start.json).toMatchObject({ command: "canary start", agent: AGENT, changed: true });
    expect(typeof start.json.published).toBe("boolean"); // false only when KV took longer than 2 s
    const change = start.json.change as { action: string; actor: string; before: unknown; after: { canary: unknown } };
    expect(change).toMatchObject({ action: "canary.set", actor: "admin@test", reason: "try 1.1" });
    expect(change.after.canary).toEqual({ version: "1.1.0", percent: 10 });
    expect(start.json.revision).toBe((await state()).revision);

    const set = await run(["canary", "set", AGENT, "--percent", "50%", "--reason", "widen", "--table"]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`canary ${AGENT}@1.1.0 10% → 50%`);
    expect(set.stdout).toMatch(/canary\s+1\.1\.0 @ 10% → 1\.1\.0 @ 50%/);
    await until(async () => (await served(AGENT, "k-any")).status === 200, 5000, "served");

    const abort = await run(["canary", "abort", AGENT, "--reason", "enough", "--table"]);
    expect(abort.code, abort.stderr).toBe(0);
    expect(abort.stdout).toMatch(/canary\s+1\.1\.0 @ 50% → none/);
    expect((await state()).agents[AGENT]?.canary).toBeNull();
    const again = await run(["canary", "abort", AGENT, "--reason", "enough", "--table"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("nothing to change");
    const none = await run(["canary", "set", AGENT, "--percent", "5", "--reason", "x"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`no canary is running for ${AGENT}`);
    expect(none.stderr).toContain(`next: switchyard canary start ${AGENT}`);
  });

  it("a riskier move by an operator is refused: exit 1, 403 names the role and who to ask", async () => {
    await api("DELETE", `/agents/${AGENT}/canary`, { reason: "clean slate" });
    const r = await run(["canary", "start", AGENT, "1.1.0", "--percent", "5", "--reason", "sneaky"], {
      token: "operator-token",
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("403 forbidden");
    expect(r.stderr).toContain("needs the role releaser");
    expect(r.stderr).toContain("next: ask someone with the releaser role (or higher) to run: switchyard canary start");
    expect((await state()).agents[AGENT]?.canary).toBeNull();
  });

  it("--if-revision: a stale revision is refused with 412 and the current one; the right one applies", async () => {
    const rev = (await state()).revision;
    const stale = await run([
      "canary",
      "start",
      AGENT,
      "1.1.0",
      "--percent",
      "5",
      "--reason",
      "r",
      "--if-revision",
      String(rev - 1),
    ]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("412 revision_mismatch");
    expect(stale.stderr).toContain(`re-run with --if-revision ${rev}`);
    expect((await state()).revision).toBe(rev);
    const ok = await runJson([
      "canary",
      "start",
      AGENT,
      "1.1.0",
      "--percent",
      "5",
      "--reason",
      "r",
      "--if-revision",
      String(rev),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json.revision).toBe(rev + 1);
  });

  it("a release with a plan: canary start without --percent, its step in status, pause and resume", async () => {
    const planned = manifest(AGENT, "1.2.0", { fallback: "1.0.0" }) as ReturnType<typeof manifest> & {
      rollout: Record<string, unknown>;
    };
    planned.rollout.plan = {
      steps: [
        { percent: 10, holdSeconds: 600 },
        { percent: 50, holdSeconds: 600 },
      ],
      promote: true,
    };
    const push = await runJson(["release", "push", file("planned", planned), "--reason", "ramp"]);
    expect(push.code, push.stderr).toBe(0);
    expect(push.json.readiness).toEqual({ ready: true, missing: [] });
    await api("DELETE", `/agents/${AGENT}/canary`, { reason: "clean slate" });
    const start = await runJson(["canary", "start", AGENT, "1.2.0", "--reason", "ramp it"]);
    expect(start.code, start.stderr).toBe(0);
    expect((start.json.change as { after: { canary: unknown } }).after.canary).toEqual({
      version: "1.2.0",
      percent: 10,
    });
    type Shown = {
      state: { version: string; step: number; status: string };
      view: { step: number; steps: number; status: string } | null;
    };
    const planOf = async () => (await runJson(["status", AGENT])).json.plan as Shown;
    expect((await planOf()).state).toMatchObject({ version: "1.2.0", step: 0, status: "running" });
    // The view (due time, what it waits for) comes from the agent's guard, which catches up within a second or so.
    const view = (await until(async () => (await planOf()).view, 15_000, "the plan's view")) as NonNullable<
      Shown["view"]
    >;
    expect(view).toMatchObject({ step: 1, steps: 2, status: "running" });
    const table = await run(["status", AGENT, "--table"]);
    expect(table.stdout).toMatch(/plan\s+step 1\/2 at 10% running · next 50%/);
    const fleet = await run(["status", "--table"]);
    expect(fleet.stdout).toContain("1.2.0 @ 10% (plan 1/2 running)");

    const pause = await run(["canary", "pause", AGENT, "--reason", "hold the ramp", "--table"], {
      token: "operator-token",
    });
    expect(pause.code, pause.stderr).toBe(0);
    expect(pause.stdout).toContain(`pause the canary of ${AGENT}: done, revision`);
    expect((await planOf()).state.status).toBe("paused");
    const denied = await run(["canary", "resume", AGENT, "--reason", "go on"], { token: "operator-token" });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("403 forbidden");
    const resume = await run(["canary", "resume", AGENT, "--reason", "go on"], { token: "releaser-token" });
    expect(resume.code, resume.stderr).toBe(0);
    expect((await planOf()).state.status).toBe("running");
    await api("DELETE", `/agents/${AGENT}/canary`, { reason: "done with the plan" });
  });

  it("--dry-run shows the request (If-Match, body) and sends nothing", async () => {
    const before = await state();
    const r = await runJson([
      "rollback",
      AGENT,
      "--reason",
      "would",
      "--dry-run",
      "--if-revision",
      String(before.revision),
    ]);
    expect(r.code).toBe(0);
    expect(r.json).toEqual({
      command: "rollback",
      agent: AGENT,
      dryRun: true,
      request: {
        method: "POST",
        url: expect.stringMatching(new RegExp(`/admin/v1/agents/${AGENT}/rollback$`)),
        headers: {
          authorization: "Bearer <token>",
          accept: "application/json",
          "content-type": "application/json",
          "if-match": `"${before.revision}"`,
        },
        body: { reason: "would" },
      },
    });
    const { publishedRevision: _was, ...unchanged } = before as typeof before & { publishedRevision?: number };
    const { publishedRevision: _now, ...after } = (await state()) as typeof before & { publishedRevision?: number };
    expect(after).toEqual(unchanged); // publishedRevision moves on its own as KV catches up
  });

  it("rollback: to the fallback (canary cleared), then to a named release; the reason may come from SWITCHYARD_REASON", async () => {
    await api("POST", `/agents/${AGENT}/promote`, { version: "1.1.0", reason: "ship 1.1" });
    const r = await run(["rollback", AGENT, "--table"], {
      env: { SWITCHYARD_REASON: "1.1 answers badly" },
      token: "operator-token",
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/active\s+1\.1\.0 → 1\.0\.0/);
    await until(async () => (await served(AGENT)).release === "1.0.0", 10_000, "rolled back release served");
    const entry = (await api("GET", `/audit?agent=${AGENT}&limit=1`)).body.entries as Array<{
      reason: string;
      actor: string;
    }>;
    expect(entry[0]).toMatchObject({ reason: "1.1 answers badly", actor: "operator@test" });
    const off = await runJson(["rollback", AGENT, "--to", "off", "--reason", "stop it"]);
    expect(off.code).toBe(0);
    expect((await state()).agents[AGENT]?.active).toBe("off");
    const unknown = await run(["rollback", AGENT, "--to", "7.7.7", "--reason", "x"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("404 unknown_release");
    expect(unknown.stderr).toContain(`next: switchyard status ${AGENT}`);
  });
});
