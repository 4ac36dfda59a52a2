/**
 * Mode `off` (CONTRACT §1.2, §2.1 step 4, §4.2 rollback to "off"): the release's user fallback is answered and
 * no upstream is called. Proven twice: the real upstream counts no request under the release's path, and a
 * release whose upstream is an unreachable port still answers its user fallback instead of a 502.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import type { Manifest, UserFallback } from "../../src/release/schema";
import type { Override } from "../../src/routing/override";
import type { Pointers } from "../../src/routing/snapshot";
import { manifest, override, snapshot } from "../helpers/fixtures";
import { freshIsolate } from "../helpers/publish";

const upstream = inject("upstream");
const UNREACHABLE = "http://127.0.0.1:9";

let run = 0;

/** A release with its own user fallback; `tag` makes its upstream path unique to this test. */
function release(version: string, base: string, tag: string, userFallback: UserFallback): Manifest {
  const m = manifest("bot", version, base);
  m.workflows = { default: { upstream: `${base}/off-test/${tag}/${version}`, timeoutMs: 2000 } };
  m.rollout = { ...m.rollout, userFallback };
  return m;
}

async function hits(tag: string): Promise<number> {
  const res = await fetch(`${upstream}/__hits?prefix=/off-test/${tag}/`);
  return ((await res.json()) as { count: number }).count;
}

async function setup(base: string, pointers: Partial<Pointers>, overrides: Override[] = []) {
  const tag = `t${++run}`;
  const releases = [
    release("v1", base, tag, { status: 503, body: { message: "v1 is paused", retry: true } }),
    release("v2", base, tag, { status: 200, body: { message: "v2 says: a person will answer shortly" } }),
  ];
  await freshIsolate(await snapshot(run, { bot: { releases, pointers } }, overrides));
  return tag;
}

const send = (headers: Record<string, string> = {}) =>
  SELF.fetch("https://gw/agents/bot/chat", { method: "POST", body: '{"q":"refund me"}', headers });

describe("mode off", () => {
  it("the test upstream counts requests (the proof below depends on it)", async () => {
    const tag = await setup(upstream, { active: "v1" });
    const res = await send();
    expect(res.status).toBe(200);
    await res.body?.cancel();
    expect(await hits(tag)).toBe(1);
  });

  it.each([
    ["agent", { agent: "bot" }],
    ["release", { agent: "bot", release: "v1" }],
    ["every-agent", { agent: "*" }],
  ] as [string, Override["scope"]][])(
    "an %s-scoped override in mode off answers the user fallback",
    async (_s, scope) => {
      const tag = await setup(upstream, { active: "v1", fallback: "off" }, [
        override("ovr_off", scope, { mode: "off" }),
      ]);
      for (const headers of [{}, { "x-agent-key": "user-2" }, { "x-agent-release": "v1" }] as Record<
        string,
        string
      >[]) {
        const res = await send(headers);
        expect(res.status).toBe(503);
        expect(res.headers.get("content-type")).toContain("application/json");
        expect(res.headers.get("x-agent-lane")).toBe("off");
        expect(res.headers.get("x-agent-release")).toBe("v1");
        expect(res.headers.get("x-agent-decision")).toMatch(/^off; via=(stable|pinned); overrides=ovr_off$/);
        expect(await res.json()).toEqual({ message: "v1 is paused", retry: true });
      }
      expect(await hits(tag)).toBe(0);
    },
  );

  it("an off override beats a milder one and the client's claimed lane", async () => {
    const tag = await setup(upstream, { active: "v1" }, [
      override("ovr_draft", { agent: "*" }, { mode: "draft-only" }),
      override("ovr_off", { agent: "bot", release: "v1" }, { mode: "off" }),
    ]);
    const res = await send({ "x-agent-lane": "autonomous" });
    expect(res.status).toBe(503);
    expect(res.headers.get("x-agent-decision")).toBe("off; via=stable; overrides=ovr_off,ovr_draft");
    await res.body?.cancel();
    expect(await hits(tag)).toBe(0);
  });

  it("an expired off override has no effect", async () => {
    const past = new Date(Date.now() - 1000).toISOString();
    const tag = await setup(upstream, { active: "v1" }, [override("ovr_off", { agent: "bot" }, { mode: "off" }, past)]);
    const res = await send();
    expect(res.status).toBe(200);
    expect(res.headers.get("x-agent-decision")).toBe("stable");
    await res.body?.cancel();
    expect(await hits(tag)).toBe(1);
  });

  it("an agent rolled back to off serves the user fallback of the release it rolled back from", async () => {
    const tag = await setup(upstream, { active: "off", fallback: "off", canary: null, offFrom: "v2" });
    for (const headers of [{}, { "x-agent-key": "user-2" }, { "x-agent-release": "v2" }] as Record<string, string>[]) {
      const res = await send(headers);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-agent-release")).toBe("v2");
      expect(res.headers.get("x-agent-lane")).toBe("off");
      expect(res.headers.get("x-agent-decision")).toMatch(/^off; via=rolled-back-off/);
      expect(await res.json()).toEqual({ message: "v2 says: a person will answer shortly" });
    }
    expect(await hits(tag)).toBe(0);
  });

  it.each([
    ["an off override", { active: "v1" }, [override("ovr_off", { agent: "bot" }, { mode: "off" })], 503],
    ["rollback to off", { active: "off", offFrom: "v2" }, [], 200],
  ] as [string, Partial<Pointers>, Override[], number][])(
    "with an unreachable upstream, %s still answers the user fallback (no upstream call was tried)",
    async (_what, pointers, overrides, status) => {
      await setup(UNREACHABLE, pointers, overrides);
      const res = await send();
      expect(res.status).toBe(status);
      expect(((await res.json()) as { message: string }).message).toMatch(/paused|person/);
    },
  );

  it("a release that names no user fallback gets the gateway's own 503, never an upstream", async () => {
    const tag = `t${++run}`;
    const bare = release("v1", upstream, tag, { status: 200, body: {} });
    delete bare.rollout!.userFallback;
    await freshIsolate(
      await snapshot(run, { bot: { releases: [bare], pointers: { active: "v1" } } }, [
        override("ovr_off", { agent: "bot" }, { mode: "off" }),
      ]),
    );
    const res = await send();
    expect(res.status).toBe(503);
    expect(res.headers.get("x-agent-decision")).toBe("failsafe; via=stable; overrides=ovr_off");
    expect(res.headers.get("retry-after")).not.toBeNull();
    expect(await res.json()).toEqual({ error: { code: "agent_paused", message: expect.any(String) } });
    expect(await hits(tag)).toBe(0);
  });
});
