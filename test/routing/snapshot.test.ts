/**
 * The published snapshot (CONTRACT §3): validation with referential integrity, the index built from it, and the
 * per-release memo of what it serves, which must be recomputed when an override in force expires.
 */
import { describe, expect, it } from "vitest";
import { type Pointers, servedAt } from "../../src/routing/snapshot";
import { indexSnapshot, Snapshot } from "../../src/routing/snapshot-legacy";
import { manifest, override, snapshot } from "../helpers/fixtures";

const UP = "http://upstream.test";

async function withPointers(pointers: Partial<Pointers>) {
  return snapshot(3, {
    bot: { releases: [manifest("bot", "v1", UP), manifest("bot", "v2", UP)], pointers },
  });
}

/** Through JSON, as it is read from KV. */
const parse = (s: unknown) => Snapshot.safeParse(JSON.parse(JSON.stringify(s)));

describe("snapshot validation", () => {
  it.each([
    ["active v1, fallback v2, canary v2", { active: "v1", fallback: "v2", canary: { version: "v2", percent: 5 } }],
    ["active off from v1, fallback off", { active: "off", fallback: "off", offFrom: "v1" }],
    ["nothing live", {}],
  ] as [string, Partial<Pointers>][])("accepts %s", async (_what, pointers) => {
    expect(parse(await withPointers(pointers)).success).toBe(true);
  });

  it.each([
    ["active", { active: "v9" }],
    ["fallback", { active: "v1", fallback: "v9" }],
    ["canary", { active: "v1", canary: { version: "v9", percent: 10 } }],
    ["offFrom", { active: "off", offFrom: "v9" }],
    // Names that exist on every plain object's prototype must not count as stored releases.
    ["active (toString)", { active: "toString" }],
    ["canary (constructor)", { active: "v1", canary: { version: "constructor", percent: 10 } }],
    ["fallback (valueOf)", { active: "v1", fallback: "valueOf" }],
    ["offFrom (hasOwnProperty)", { active: "off", offFrom: "hasOwnProperty" }],
  ] as [string, Partial<Pointers>][])("rejects a pointer (%s) naming a missing release", async (_what, pointers) => {
    const r = parse(await withPointers(pointers));
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.message).join("\n")).toMatch(/pointer names .* not in releases/);
  });

  it("rejects a release stored under another version or agent than its manifest says", async () => {
    const s = await withPointers({ active: "v1" });
    const bot = s.agents.bot!;
    bot.releases.v3 = bot.releases.v2!;
    expect(parse(s).success).toBe(false);
    const t = await withPointers({ active: "v1" });
    t.agents.other = { pointers: t.agents.bot!.pointers, releases: t.agents.bot!.releases };
    expect(parse(t).success).toBe(false);
  });

  it.each([
    ["an unknown top-level field", (s: Record<string, unknown>) => Object.assign(s, { extra: 1 })],
    ["another format", (s: Record<string, unknown>) => Object.assign(s, { format: 2 })],
    ["an unknown pointer field", (s: Snapshot) => Object.assign(s.agents.bot!.pointers, { shadow: "v2" })],
    ["a bad digest", (s: Snapshot) => Object.assign(s.agents.bot!.releases.v1!, { digest: "md5:00" })],
    ["an invalid manifest", (s: Snapshot) => Object.assign(s.agents.bot!.releases.v1!.manifest, { tools: "all" })],
    [
      "a canary percent finer than 0.01",
      (s: Snapshot) => Object.assign(s.agents.bot!.pointers, { canary: { version: "v2", percent: 0.001 } }),
    ],
  ] as [string, (s: never) => void][])("rejects %s", async (_what, mutate) => {
    const s = await withPointers({ active: "v1" });
    (mutate as (s: Snapshot) => void)(s);
    expect(parse(s).success).toBe(false);
  });
});

describe("indexSnapshot", () => {
  it("resolves the pointers to entries and the canary threshold", async () => {
    const idx = indexSnapshot(await withPointers({ active: "v1", canary: { version: "v2", percent: 12.34 } }));
    const bot = idx.agents.get("bot")!;
    expect(idx.revision).toBe(3);
    expect(bot.active?.version).toBe("v1");
    expect(bot.off).toBeNull();
    expect(bot.canary?.release.version).toBe("v2");
    expect(bot.canary?.threshold).toBe(1234);
  });

  it("active off resolves the release rolled back from", async () => {
    const bot = indexSnapshot(await withPointers({ active: "off", offFrom: "v2" })).agents.get("bot")!;
    expect(bot.active).toBeNull();
    expect(bot.off?.version).toBe("v2");
  });

  it("files each release's overrides most specific first", async () => {
    const s = await snapshot(1, { bot: { releases: [manifest("bot", "v1", UP)], pointers: { active: "v1" } } }, [
      override("ovr_all", { agent: "*" }, { forceApproval: ["write"] }),
      override("ovr_rel", { agent: "bot", release: "v1" }, { disableTools: ["send_email"] }),
      override("ovr_agent", { agent: "bot" }, { mode: "draft-only" }),
    ]);
    const v1 = indexSnapshot(s).agents.get("bot")!.active!;
    expect(v1.overrides.map((o) => o.override.id)).toEqual(["ovr_rel", "ovr_agent", "ovr_all"]);
    expect(servedAt(v1, 0).overrideIds).toEqual(["ovr_rel", "ovr_agent", "ovr_all"]);
  });
});

describe("servedAt memo", () => {
  const T = Date.parse("2026-06-01T00:00:00.000Z");

  async function entry() {
    const s = await snapshot(1, { bot: { releases: [manifest("bot", "v1", UP)], pointers: { active: "v1" } } }, [
      override("ovr_short", { agent: "bot" }, { mode: "draft-only" }, new Date(T).toISOString()),
      override("ovr_long", { agent: "*" }, { disableTools: ["issue_refund"] }, new Date(T + 60_000).toISOString()),
    ]);
    return indexSnapshot(s).agents.get("bot")!.active!;
  }

  it("reuses the computed lane while no override in force has expired", async () => {
    const v1 = await entry();
    const first = servedAt(v1, T - 10_000);
    expect(servedAt(v1, T - 1)).toBe(first);
    expect(first.mode).toBe("draft-only");
    expect(first.tools.map((t) => t.name)).toEqual(["search_kb"]);
  });

  it("recomputes when an override expires, and again when the next one does", async () => {
    const v1 = await entry();
    expect(servedAt(v1, T - 1).mode).toBe("draft-only");
    const afterShort = servedAt(v1, T);
    expect(afterShort.mode).toBe("autonomous");
    expect(afterShort.overrideIds).toEqual(["ovr_long"]);
    expect(afterShort.tools.map((t) => t.name)).toEqual(["search_kb", "send_email"]);
    expect(servedAt(v1, T + 59_999)).toBe(afterShort);
    const afterLong = servedAt(v1, T + 60_000);
    expect(afterLong.overrideIds).toEqual([]);
    expect(afterLong.tools.map((t) => t.name)).toEqual(["search_kb", "send_email", "issue_refund"]);
  });

  it("a memo computed late never leaks an expired override back (clock only moves forward here)", async () => {
    const v1 = await entry();
    expect(servedAt(v1, T + 120_000).overrideIds).toEqual([]);
    expect(servedAt(v1, T + 120_001).overrideIds).toEqual([]);
  });
});
