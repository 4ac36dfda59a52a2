/**
 * Lanes as flags (CONTRACT §2.5), as plain calls: which keys exist, and each reason of the table, from decisions
 * made by the data plane's own `decide()` on indexed snapshots.
 */
import { describe, expect, it } from "vitest";
import { decide } from "../../src/routing/decide";
import { evaluateFlag, parseFlagKey } from "../../src/routing/flags";
import type { Override } from "../../src/routing/override";
import type { Pointers } from "../../src/routing/snapshot";
import { indexSnapshot } from "../../src/routing/snapshot-legacy";
import { manifest, override, snapshot } from "../helpers/fixtures";

const UP = "http://upstream.test";

async function decision(
  pointers: Partial<Pointers>,
  facts: { key?: string; pin?: string } = {},
  overrides: Override[] = [],
) {
  const s = await snapshot(
    3,
    { bot: { releases: [manifest("bot", "v1", UP), manifest("bot", "v2", UP)], pointers } },
    overrides,
  );
  const out = decide(indexSnapshot(s), { agent: "bot", key: facts.key ?? null, pin: facts.pin ?? null }, 0);
  if (!out.ok) throw new Error(out.code);
  return out.decision;
}

describe("parseFlagKey", () => {
  it.each([
    ["bot", { agent: "bot", kind: "agent" }],
    ["bot.mode", { agent: "bot", kind: "mode" }],
    ["bot.release", { agent: "bot", kind: "release" }],
    ["support-bot-2.release", { agent: "support-bot-2", kind: "release" }],
    ["bot.tools", null],
    ["bot.mode.x", null],
    ["Bot", null],
    ["", null],
    [".mode", null],
    ["bot.", null],
  ])("%s", (key, expected) => expect(parseFlagKey(key)).toEqual(expected));
});

describe("reasons", () => {
  it("STATIC without a canary, SPLIT with one (either side of it), TARGETING_MATCH for a live pin", async () => {
    expect(evaluateFlag(await decision({ active: "v1" }), "release", false).reason).toBe("STATIC");
    const canary = { active: "v1", canary: { version: "v2", percent: 50 } };
    for (const key of ["user-1", "user-2", "user-3"]) {
      expect(evaluateFlag(await decision(canary, { key }), "release", false).reason).toBe("SPLIT");
    }
    const pinned = evaluateFlag(await decision(canary, { pin: "v2" }), "release", false);
    expect([pinned.reason, pinned.value]).toEqual(["TARGETING_MATCH", "v2"]);
    // A pin naming no live release is ignored, as on /agents.
    expect(evaluateFlag(await decision({ active: "v1" }, { pin: "v9" }), "release", false).reason).toBe("STATIC");
  });

  it("DISABLED in mode off and when rolled back to off, with a value that lets nothing run", async () => {
    const off = await decision({ active: "v1" }, {}, [override("ovr_o", { agent: "bot" }, { mode: "off" })]);
    const lane = evaluateFlag(off, "agent", true);
    expect(lane.reason).toBe("DISABLED");
    expect(lane.value).toMatchObject({ mode: "off", tools: [], approval: [] });
    expect(lane.metadata.stale).toBe(true);
    const rolledBack = await decision({ active: "off", offFrom: "v1" });
    const mode = evaluateFlag(rolledBack, "mode", false);
    expect([mode.value, mode.reason]).toEqual(["off", "DISABLED"]);
    expect(evaluateFlag(rolledBack, "agent", false).value).toMatchObject({ tools: [], mode: "off" });
  });
});
