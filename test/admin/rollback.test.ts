/**
 * Rollback through the admin API and what the data plane then serves (CONTRACT §4.2 rollback, §1.2 mode off):
 * without `to`, `active` becomes the `fallback` pointer (the active release's `rollout.fallback`), the canary is
 * cleared, and the new active release's own fallback becomes the next one. When the fallback is "off", the agent
 * answers the user fallback of the release it rolled back from, and the upstream is not called at all.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { call, ok, state } from "../helpers/admin";
import { hits, put, release, served } from "./support";

const TAG = "rollback";
const prefix = (agent: string) => `/${TAG}/${agent}/`;

function withUserFallback(agent: string, version: string, fallback: string) {
  return release(agent, version, TAG, {
    fallback,
    userFallback: { status: 503, body: { message: `${agent} ${version} is paused`, version } },
  });
}

const rollback = (agent: string, body: Record<string, unknown> = {}) =>
  ok<{ revision: number; changed: boolean }>(
    call("operator", "POST", `/agents/${agent}/rollback`, { reason: "bad answers", ...body }),
  );

describe("rollback to the fallback pointer", () => {
  const A = "rb-chain";

  beforeAll(async () => {
    await put(withUserFallback(A, "v1", "off"));
    await put(withUserFallback(A, "v2", "v1"));
    await put(withUserFallback(A, "v3", "v2"));
    await ok(call("admin", "POST", `/agents/${A}/promote`, { version: "v1", reason: "setup" }));
    await ok(call("admin", "POST", `/agents/${A}/promote`, { version: "v2", reason: "setup" }));
    await ok(call("admin", "POST", `/agents/${A}/canary`, { version: "v3", percent: 50, reason: "setup" }));
  });

  it("before: v2 serves, v3 is a canary", async () => {
    expect((await state()).agents[A]).toEqual({
      active: "v2",
      fallback: "v1",
      canary: { version: "v3", percent: 50 },
      offFrom: null,
    });
    const s = await served(A);
    expect([s.status, s.release, s.lane, s.decision]).toEqual([200, "v2", "autonomous", "stable"]);
    expect((await served(A, { "x-agent-release": "v3" })).release).toBe("v3");
  });

  it("the first rollback goes to v1, the fallback; the canary is cleared; v1's fallback (off) is next", async () => {
    const before = await hits(prefix(A));
    await rollback(A);
    expect((await state()).agents[A]).toEqual({ active: "v1", fallback: "off", canary: null, offFrom: null });
    const s = await served(A);
    expect([s.status, s.release, s.lane, s.decision]).toEqual([200, "v1", "autonomous", "stable"]);
    expect((s.body as { path: string }).path).toBe(`${prefix(A)}v1/default/chat`);
    // The canary is gone: a pin to v3 is ignored, a key that fell in it now gets v1.
    const pinned = await served(A, { "x-agent-release": "v3" });
    expect([pinned.release, pinned.decision]).toEqual(["v1", "stable; pin-ignored"]);
    expect(await hits(prefix(A))).toBe(before + 2);

    const [entry] = (
      await ok<{ entries: Array<Record<string, unknown>> }>(call("viewer", "GET", `/audit?agent=${A}&limit=1`))
    ).entries;
    expect(entry).toMatchObject({
      action: "rollback",
      actor: "operator@test",
      role: "operator",
      reason: "bad answers",
      before: { active: "v2", fallback: "v1", canary: { version: "v3", percent: 50 } },
      after: { active: "v1", fallback: "off", canary: null },
    });
  });

  it('the second rollback goes to "off": v1\'s user fallback is answered, the upstream is not called', async () => {
    await rollback(A);
    expect((await state()).agents[A]).toEqual({ active: "off", fallback: "off", canary: null, offFrom: "v1" });
    const before = await hits(prefix(A));
    const requests: Array<Record<string, string>> = [
      {},
      { "x-agent-key": "user-1" },
      { "x-agent-release": "v2" },
      { "x-agent-release": "v1" },
    ];
    for (const headers of requests) {
      const s = await served(A, headers);
      expect(s.status).toBe(503);
      expect(s.body).toEqual({ message: `${A} v1 is paused`, version: "v1" });
      expect(s.release).toBe("v1");
      expect(s.lane).toBe("off");
      expect(s.decision).toMatch(/^off; via=rolled-back-off/);
    }
    expect(await hits(prefix(A))).toBe(before);

    const explain = await ok<{ decision: Record<string, unknown> }>(call("viewer", "GET", `/explain?agent=${A}`));
    expect(explain.decision).toMatchObject({
      kind: "off",
      release: "v1",
      upstream: null,
      userFallback: { status: 503, body: { message: `${A} v1 is paused`, version: "v1" } },
    });
  });

  it("a promote brings the agent back on", async () => {
    await ok(call("admin", "POST", `/agents/${A}/promote`, { version: "v2", reason: "fixed" }));
    const s = await served(A);
    expect([s.status, s.release, s.lane]).toEqual([200, "v2", "autonomous"]);
  });
});

describe('an active release whose fallback is "off"', () => {
  const B = "rb-off";

  beforeAll(async () => {
    await put(withUserFallback(B, "v1", "off"));
    await put(withUserFallback(B, "v2", "off"));
    await ok(call("admin", "POST", `/agents/${B}/promote`, { version: "v1", reason: "setup" }));
    await ok(call("admin", "POST", `/agents/${B}/promote`, { version: "v2", reason: "setup" }));
  });

  it("rolls back to off in one step and answers its own user fallback, not an older release's", async () => {
    expect((await served(B)).release).toBe("v2");
    await rollback(B);
    expect((await state()).agents[B]).toEqual({ active: "off", fallback: "off", canary: null, offFrom: "v2" });
    const before = await hits(prefix(B));
    const s = await served(B, { "x-agent-key": "k" });
    expect([s.status, s.release, s.lane]).toEqual([503, "v2", "off"]);
    expect(s.body).toEqual({ message: `${B} v2 is paused`, version: "v2" });
    expect(await hits(prefix(B))).toBe(before);
  });

  it("rolling back again changes nothing and still answers the user fallback", async () => {
    const revision = (await state()).revision;
    const again = await rollback(B);
    expect(again.changed).toBe(false);
    expect(again.revision).toBe(revision);
    expect((await served(B)).body).toEqual({ message: `${B} v2 is paused`, version: "v2" });
  });
});
