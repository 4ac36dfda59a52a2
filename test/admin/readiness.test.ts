/**
 * The readiness gate through the admin API (CONTRACT §4.3): `promote` and `canary` refuse a stored release that
 * leaves any of the five questions open with 422 `not_ready`, naming every missing answer, and change nothing.
 * One row per missing answer; a release missing several is refused naming each. The first question (a stored
 * release with a digest) cannot be left open by a stored release: an unstored version is a 404.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { Manifest } from "../../src/release/schema";
import { call, everything, failed, ok, state } from "../helpers/admin";
import { put, release } from "./support";

const AGENT = "gate-bot";

type Rollout = NonNullable<Manifest["rollout"]>;
const complete = (): Rollout => structuredClone(release(AGENT, "x", "gate").rollout!);
const without = (...keys: Array<keyof Rollout>): Rollout => {
  const r = complete();
  for (const k of keys) delete r[k];
  return r;
};

const FALLBACK = /^rollout\.fallback: no stable release/;
const OWNERS = /^rollout\.owners:/;
const TRIGGERS = /^rollout\.triggers:/;
const USER_FALLBACK = /^rollout\.userFallback:/;

/** [what is missing, the release's rollout (undefined: none at all), the gaps named, in the gate's order] */
const ROWS: Array<[string, (version: string) => Rollout | undefined, RegExp[]]> = [
  ["no rollout.fallback", () => without("fallback"), [FALLBACK]],
  ["a fallback that is not a release", () => ({ ...complete(), fallback: "v404" }), [/release v404 does not exist/]],
  ["itself as its fallback", (v) => ({ ...complete(), fallback: v }), [/cannot be its own fallback/]],
  ["no rollout.owners", () => without("owners"), [OWNERS]],
  ["empty rollout.owners", () => ({ ...complete(), owners: [] }), [OWNERS]],
  ["no rollout.triggers", () => without("triggers"), [TRIGGERS]],
  ["empty rollout.triggers", () => ({ ...complete(), triggers: [] }), [TRIGGERS]],
  ["no rollout.userFallback", () => without("userFallback"), [USER_FALLBACK]],
  ["an empty rollout", () => ({}), [FALLBACK, OWNERS, TRIGGERS, USER_FALLBACK]],
  ["no rollout at all", () => undefined, [FALLBACK, OWNERS, TRIGGERS, USER_FALLBACK]],
  ["owners and userFallback", () => without("owners", "userFallback"), [OWNERS, USER_FALLBACK]],
];

let row = 0;
/** Stores a release of AGENT with the given rollout under a version of its own. */
async function stored(rollout: (version: string) => Rollout | undefined): Promise<string> {
  const version = `r${++row}`;
  const m = release(AGENT, version, "gate");
  const r = rollout(version);
  if (r === undefined) delete m.rollout;
  else m.rollout = r;
  await put(m);
  return version;
}

beforeAll(async () => {
  await put(release(AGENT, "v1", "gate"));
  await ok(call("admin", "POST", `/agents/${AGENT}/promote`, { version: "v1", reason: "setup" }));
});

describe("the readiness gate", () => {
  const cells = ROWS.flatMap(([what, rollout, gaps]) =>
    (["promote", "canary"] as const).map((route) => [route, what, rollout, gaps] as const),
  );

  it.each(cells)("%s of a release with %s → 422 not_ready naming each gap", async (route, _what, rollout, gaps) => {
    const version = await stored(rollout);
    const before = await everything();
    const body = route === "promote" ? { version, reason: "go" } : { version, percent: 10, reason: "try" };
    const error = await failed(call("admin", "POST", `/agents/${AGENT}/${route}`, body), 422, "not_ready");
    expect(error.details).toEqual({ missing: gaps.map((g) => expect.stringMatching(g)) });
    expect(error.message).toContain(`${AGENT}@${version}`);
    expect(await everything()).toEqual(before);
  });

  it.each(["promote", "canary"])("%s of a version that is not stored → 404, nothing changed", async (route) => {
    const before = await everything();
    const body = route === "promote" ? { version: "v999", reason: "go" } : { version: "v999", percent: 1, reason: "t" };
    await failed(call("admin", "POST", `/agents/${AGENT}/${route}`, body), 404, "unknown_release");
    expect(await everything()).toEqual(before);
  });

  it("the same release with every answer given goes live, as canary and then as active", async () => {
    const version = await stored(() => complete());
    await ok(call("admin", "POST", `/agents/${AGENT}/canary`, { version, percent: 10, reason: "try" }));
    expect((await state()).agents[AGENT]!.canary).toEqual({ version, percent: 10 });
    await ok(call("admin", "POST", `/agents/${AGENT}/promote`, { version, reason: "go" }));
    expect((await state()).agents[AGENT]!.active).toBe(version);
  });

  it("a fallback naming a stored release of the agent is an answer", async () => {
    const version = await stored(() => ({ ...complete(), fallback: "v1" }));
    await ok(call("admin", "POST", `/agents/${AGENT}/promote`, { version, reason: "go" }));
    expect((await state()).agents[AGENT]).toMatchObject({ active: version, fallback: "v1" });
  });
});
