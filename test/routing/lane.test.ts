/**
 * The lane merge (CONTRACT §1.2): overrides only ever restrict. Properties over random releases and random
 * override sets, checked against an independent statement of the rules, plus tables for the workflow knob.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Manifest, type Mode, modeRank, type OverrideSet, RISKS, type Risk } from "../../src/release/schema";
import { byPrecedence, indexOverride, mergeLane } from "../../src/routing/lane";
import type { Override } from "../../src/routing/override";
import { type Served, serve } from "../../src/routing/served";
import { servedAt } from "../../src/routing/snapshot";
import { indexSnapshot } from "../../src/routing/snapshot-legacy";
import { manifest, override, snapshot } from "../helpers/fixtures";

const NOW = Date.parse("2026-06-01T12:00:00.000Z");
const DIGEST = `sha256:${"0".repeat(64)}`;
const POOL = ["search_kb", "send_email", "issue_refund", "lookup", "delete_all", "t5", "t6"];
const NAMES = [...POOL, "not_in_release"];
const MODES: Mode[] = ["autonomous", "draft-only", "off"];

// ---- generators ----

const arbTools = fc.uniqueArray(
  fc.record(
    { name: fc.constantFrom(...POOL), risk: fc.constantFrom(...RISKS), approval: fc.constant("always" as const) },
    { requiredKeys: ["name", "risk"] },
  ),
  { selector: (t) => t.name, maxLength: POOL.length },
);

const arbRelease = fc
  .record({ tools: arbTools, require: fc.option(fc.subarray([...RISKS]), { nil: undefined }) })
  .map(({ tools, require }): Manifest => {
    const m = manifest("bot", "v1", "http://upstream.test", { tools });
    if (require === undefined) delete m.approval;
    else m.approval = { require };
    return m;
  });

const arbSet: fc.Arbitrary<OverrideSet> = fc
  .record(
    {
      mode: fc.constantFrom(...MODES),
      disableTools: fc.subarray(NAMES),
      toolScope: fc.subarray(NAMES),
      forceApproval: fc.subarray([...RISKS]),
      workflow: fc.constantFrom("default", "simple", "missing"),
    },
    { requiredKeys: [] },
  )
  .filter((s) => Object.keys(s).length > 0);

const arbScope = fc.constantFrom<Override["scope"]>({ agent: "*" }, { agent: "bot" }, { agent: "bot", release: "v1" });

/** An override that applies to bot@v1; `live` decides whether it is still in force at NOW. */
const arbOverride = (live: boolean | "any") =>
  fc
    .record({
      n: fc.integer({ min: 0, max: 1e9 }),
      scope: arbScope,
      set: arbSet,
      created: fc.integer({ min: -30 * 86_400_000, max: 0 }),
      expires:
        live === true
          ? fc.option(fc.integer({ min: 1, max: 86_400_000 }), { nil: undefined })
          : live === false
            ? fc.integer({ min: -86_400_000, max: 0 })
            : fc.option(fc.integer({ min: -86_400_000, max: 86_400_000 }), { nil: undefined }),
    })
    .map(
      ({ n, scope, set, created, expires }): Override => ({
        ...override(`ovr_${n.toString(36)}`, scope, set),
        createdAt: new Date(NOW + created).toISOString(),
        ...(expires === undefined ? {} : { expiresAt: new Date(NOW + expires).toISOString() }),
      }),
    );

const arbOverrides = fc.uniqueArray(arbOverride("any"), { selector: (o) => o.id, maxLength: 6 });

function served(m: Manifest, overrides: readonly Override[], now = NOW): Served {
  return serve(m, DIGEST, mergeLane(overrides.map(indexOverride).sort(byPrecedence), now));
}

// ---- the rules of §1.2, stated independently ----

const inForce = (os: readonly Override[], now = NOW) =>
  os.filter((o) => o.expiresAt === undefined || Date.parse(o.expiresAt) > now);

function expectedMode(os: readonly Override[]): Mode {
  return inForce(os).reduce<Mode>(
    (m, o) => (o.set.mode && modeRank(o.set.mode) > modeRank(m) ? o.set.mode : m),
    "autonomous",
  );
}

function expectedTools(m: Manifest, os: readonly Override[]): string[] {
  const live = inForce(os);
  const mode = expectedMode(os);
  if (mode === "off") return [];
  return m.tools
    .filter((t) => live.every((o) => o.set.toolScope === undefined || o.set.toolScope.includes(t.name)))
    .filter((t) => live.every((o) => !(o.set.disableTools ?? []).includes(t.name)))
    .filter((t) => mode !== "draft-only" || t.risk === "read")
    .map((t) => t.name);
}

function expectedApproval(m: Manifest, os: readonly Override[]): string[] {
  const tools = new Set(expectedTools(m, os));
  const forced = new Set<Risk>(inForce(os).flatMap((o) => o.set.forceApproval ?? []));
  return m.tools
    .filter((t) => tools.has(t.name))
    .filter((t) => t.approval === "always" || (m.approval?.require ?? []).includes(t.risk) || forced.has(t.risk))
    .map((t) => t.name);
}

const names = (s: Served) => s.tools.map((t) => t.name);

describe("lane merge properties", () => {
  it("the effective tools and approval set are exactly what §1.2 says", () => {
    fc.assert(
      fc.property(arbRelease, arbOverrides, (m, os) => {
        const s = served(m, os);
        expect(s.mode).toBe(expectedMode(os));
        expect(names(s)).toEqual(expectedTools(m, os));
        expect(s.approval).toEqual(expectedApproval(m, os));
        expect(s.headers.tools).toBe(expectedTools(m, os).join(","));
        expect(s.headers.approval).toBe(expectedApproval(m, os).join(","));
      }),
      { numRuns: 500 },
    );
  });

  it("never adds a tool and never changes a tool's class", () => {
    fc.assert(
      fc.property(arbRelease, arbOverrides, (m, os) => {
        const s = served(m, os);
        for (const t of s.tools) expect(m.tools).toContainEqual(t);
        expect(s.tools.length).toBeLessThanOrEqual(m.tools.length);
      }),
      { numRuns: 500 },
    );
  });

  it("the merged mode is at least every override's mode", () => {
    fc.assert(
      fc.property(arbRelease, fc.array(arbOverride(true), { maxLength: 6 }), (m, os) => {
        const s = served(m, os);
        for (const o of os) if (o.set.mode) expect(modeRank(s.mode)).toBeGreaterThanOrEqual(modeRank(o.set.mode));
      }),
      { numRuns: 300 },
    );
  });

  it("adding any override never grows the tools, lowers the mode or drops an approval", () => {
    fc.assert(
      fc.property(arbRelease, arbOverrides, arbOverride(true), (m, os, extra) => {
        const before = served(m, os);
        const after = served(m, [...os, { ...extra, id: `ovr_extra${os.length}` }]);
        const beforeTools = new Set(names(before));
        for (const t of names(after)) expect(beforeTools.has(t)).toBe(true);
        expect(modeRank(after.mode)).toBeGreaterThanOrEqual(modeRank(before.mode));
        // Every tool that survives and needed approval before still needs it.
        const still = new Set(names(after));
        for (const t of before.approval) if (still.has(t)) expect(after.approval).toContain(t);
      }),
      { numRuns: 500 },
    );
  });

  it("an expired override (expiresAt ≤ now) has no effect, cleaned up or not", () => {
    fc.assert(
      fc.property(
        arbRelease,
        arbOverrides,
        fc.array(arbOverride(false), { minLength: 1, maxLength: 4 }),
        (m, os, dead) => {
          const withDead = [...os, ...dead.map((o, i) => ({ ...o, id: `ovr_dead${i}` }))];
          expect(served(m, withDead)).toEqual(served(m, os));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("expiry is exclusive at the instant: in force before, gone at expiresAt", () => {
    const m = manifest("bot", "v1", "http://upstream.test");
    const o = { ...override("ovr_x", { agent: "bot" }, { mode: "off" }), expiresAt: new Date(NOW).toISOString() };
    expect(served(m, [o], NOW - 1).mode).toBe("off");
    expect(served(m, [o], NOW).mode).toBe("autonomous");
    expect(served(m, [o], NOW - 1).overrideIds).toEqual(["ovr_x"]);
    expect(served(m, [o], NOW).overrideIds).toEqual([]);
  });

  it("the lane holds until the first expiry among the overrides in force", () => {
    fc.assert(
      fc.property(arbOverrides, (os) => {
        const lane = mergeLane(os.map(indexOverride).sort(byPrecedence), NOW);
        const expiries = inForce(os).map((o) => (o.expiresAt ? Date.parse(o.expiresAt) : Number.POSITIVE_INFINITY));
        expect(lane.validUntil).toBe(Math.min(Number.POSITIVE_INFINITY, ...expiries));
      }),
    );
  });
});

describe("the workflow knob", () => {
  const m = manifest("bot", "v1", "http://upstream.test", {
    workflows: {
      default: { upstream: "http://upstream.test/default" },
      simple: { upstream: "http://upstream.test/simple" },
      safe: { upstream: "http://upstream.test/safe", timeoutMs: 5 },
    },
  });
  const at = (id: string, scope: Override["scope"], workflow: string, createdAt = "2026-01-01T00:00:00.000Z") => ({
    ...override(id, scope, { workflow }),
    createdAt,
  });
  const ALL = { agent: "*" } as const;
  const AGENT = { agent: "bot" } as const;
  const RELEASE = { agent: "bot", release: "v1" } as const;

  it.each([
    ["no override", [], "default"],
    ["one every-agent override", [at("ovr_a", ALL, "simple")], "simple"],
    ["agent beats every-agent", [at("ovr_a", ALL, "simple"), at("ovr_b", AGENT, "safe")], "safe"],
    ["release beats agent", [at("ovr_b", AGENT, "safe"), at("ovr_c", RELEASE, "simple")], "simple"],
    [
      "release beats agent even when older",
      [at("ovr_b", AGENT, "safe", "2026-05-01T00:00:00.000Z"), at("ovr_c", RELEASE, "simple")],
      "simple",
    ],
    [
      "within one scope, the newest wins",
      [at("ovr_b", AGENT, "safe", "2026-05-01T00:00:00.000Z"), at("ovr_d", AGENT, "simple")],
      "safe",
    ],
    [
      "an override without a workflow does not reset it",
      [at("ovr_a", ALL, "simple"), override("ovr_e", RELEASE, { mode: "draft-only" })],
      "simple",
    ],
  ] as [string, Override[], string][])("%s → %s", (_what, os, want) => {
    const s = served(m, os);
    expect(s.workflowName).toBe(want);
    expect(s.workflow).toEqual(m.workflows[want]);
    expect(s.notes.filter((n) => n.includes("workflow"))).toEqual([]);
  });

  it.each(["missing", "toString", "constructor", "__proto__", "hasOwnProperty"])(
    "a workflow %s the release does not declare is ignored, with a note",
    (name) => {
      const s = served(m, [at("ovr_w", RELEASE, name)]);
      expect(s.workflowName).toBe("default");
      expect(s.workflow).toEqual(m.workflows.default);
      expect(s.notes).toContain(`override ovr_w asks for workflow ${name}, which this release does not declare`);
    },
  );

  it("the workflow goes into the context header", () => {
    const s = served(m, [at("ovr_a", ALL, "safe")]);
    const ctx = JSON.parse(atob(s.headers.context.replace(/-/g, "+").replace(/_/g, "/")));
    expect(ctx.workflow).toBe("safe");
  });
});

describe("scope matching through the snapshot index", () => {
  it.each([
    ["every agent", { agent: "*" }, true, true],
    ["this agent", { agent: "bot" }, true, true],
    ["this release", { agent: "bot", release: "v1" }, true, false],
    ["another release", { agent: "bot", release: "v2" }, false, true],
    ["another agent", { agent: "other" }, false, false],
  ] as [string, Override["scope"], boolean, boolean][])(
    "an override for %s applies to v1: %s, to v2: %s",
    async (_what, scope, toV1, toV2) => {
      const up = "http://upstream.test";
      const s = await snapshot(
        1,
        {
          bot: { releases: [manifest("bot", "v1", up), manifest("bot", "v2", up)], pointers: { active: "v1" } },
          other: { releases: [manifest("other", "v1", up)], pointers: { active: "v1" } },
        },
        [override("ovr_s", scope, { mode: "draft-only" })],
      );
      const idx = indexSnapshot(s);
      const bot = idx.agents.get("bot")!;
      expect(servedAt(bot.releases.get("v1")!, NOW).mode).toBe(toV1 ? "draft-only" : "autonomous");
      expect(servedAt(bot.releases.get("v2")!, NOW).mode).toBe(toV2 ? "draft-only" : "autonomous");
    },
  );
});
