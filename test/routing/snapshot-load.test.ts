/**
 * loadSnapshot, the isolate's cheap validation of a snapshot read from a store (src/routing/snapshot-check.ts):
 * it must never accept what `Snapshot.safeParse` refuses (the structural check may only be stricter, and zod
 * decides whatever it doubts), and manifests whose digest the previous index holds are reused, not re-validated.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { indexSnapshot, loadSnapshot, SNAPSHOT_FORMAT, Snapshot } from "../../src/routing/snapshot";
import { snapshotOk } from "../../src/routing/snapshot-check";
import { manifest, override, snapshot } from "../helpers/fixtures";

const UP = "http://upstream.test";
type J = Record<string, unknown>;

async function rich(): Promise<J> {
  const s = await snapshot(
    7,
    {
      bot: {
        releases: [manifest("bot", "v1", UP), manifest("bot", "v2", UP, { description: "x" })],
        pointers: { active: "v1", fallback: "v2", canary: { version: "v2", percent: 12.34 } },
      },
      "pay-bot": {
        releases: [
          manifest("pay-bot", "2026.1", "https://a.example:8443/p?q=1#f", {
            rollout: {
              triggers: [
                { failureClass: "x", maxRate: 1, minRequests: 1, windowSeconds: 1, action: "abort-canary" },
                {
                  failureClass: "y.z",
                  maxRate: 0,
                  minRequests: 9,
                  windowSeconds: 86_400,
                  action: { set: { mode: "draft-only", disableTools: ["send_email"], forceApproval: ["write"] } },
                },
              ],
            },
          }),
        ],
        pointers: { active: "off", offFrom: "2026.1", fallback: "off" },
      },
    },
    [
      override("ovr_a", { agent: "*" }, { mode: "draft-only" }),
      override("ovr_b", { agent: "bot", release: "v1" }, { toolScope: ["search_kb"], workflow: "simple" }),
      override("ovr_c", { agent: "bot" }, { disableTools: [] }, "2030-01-01T00:00:00.000Z"),
    ],
  );
  return JSON.parse(JSON.stringify(s)) as J;
}

const copy = (v: unknown) => JSON.parse(JSON.stringify(v)) as J;
const fast = (v: unknown) => snapshotOk(copy(v), SNAPSHOT_FORMAT, new Map());
const zod = (v: unknown) => Snapshot.safeParse(copy(v)).success;

/** Sets `value` at `path` (a missing `value` deletes the key). */
function mutate(s: J, path: (string | number)[], ...value: unknown[]): J {
  const out = copy(s);
  let o = out as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (value.length === 0) delete o[last];
  else o[last] = value[0];
  return out;
}

const M = ["agents", "bot", "releases", "v1", "manifest"];

describe("loadSnapshot agrees with Snapshot.safeParse", () => {
  it("accepts a snapshot using every optional field, without asking zod, and returns the same value", async () => {
    const s = await rich();
    expect(fast(s)).toBe(true);
    const r = loadSnapshot(copy(s), null);
    expect(r.success).toBe(true);
    expect(r.data).toEqual(Snapshot.parse(copy(s)));
  });

  const cases: [string, (string | number)[], unknown?][] = [
    ["format", ["format"], 2],
    ["negative revision", ["revision"], -1],
    ["fractional revision", ["revision"], 1.5],
    ["publishedAt not a date", ["publishedAt"], "yesterday"],
    ["unknown top-level key", ["extra"], 1],
    ["agents an array", ["agents"], []],
    ["agent id upper case", ["agents", "Bot"], { pointers: {}, releases: {} }],
    ["missing pointer key", ["agents", "bot", "pointers", "offFrom"]],
    ["pointer to a missing release", ["agents", "bot", "pointers", "active"], "v9"],
    ["pointer to a prototype member", ["agents", "bot", "pointers", "active"], "toString"],
    ["canary percent off the 0.01 grid", ["agents", "bot", "pointers", "canary", "percent"], 12.345],
    ["canary percent over 100", ["agents", "bot", "pointers", "canary", "percent"], 100.01],
    ["bad digest", ["agents", "bot", "releases", "v1", "digest"], "sha256:00"],
    ["release under another version", ["agents", "bot", "releases", "v1", "manifest", "version"], "v2"],
    ["manifest of another agent", [...M, "agent"], "pay-bot"],
    ["manifest unknown key", [...M, "extra"], true],
    ["manifest missing model", [...M, "model"]],
    ["description too long", [...M, "description"], "d".repeat(4097)],
    ["instructions a string", [...M, "instructions"], "hi"],
    ["instructions extra key", [...M, "instructions", "user"], "x"],
    ["model provider", [...M, "model", "provider"], "azure"],
    ["model name empty", [...M, "model", "name"], ""],
    ["model baseUrl ftp", [...M, "model", "baseUrl"], "ftp://x.example"],
    ["model baseUrl no slashes", [...M, "model", "baseUrl"], "http:x.example"],
    ["model baseUrl unparseable", [...M, "model", "baseUrl"], "http://exa mple.com"],
    ["model params an array", [...M, "model", "params"], [1]],
    ["tools not an array", [...M, "tools"], "all"],
    ["duplicate tool", [...M, "tools", 1, "name"], "search_kb"],
    ["tool risk", [...M, "tools", 0, "risk"], "low"],
    ["tool approval", [...M, "tools", 0, "approval"], "never"],
    ["tool name with a leading _", [...M, "tools", 0, "name"], "__proto__"],
    ["no default workflow", [...M, "workflows", "default"]],
    ["workflow timeout 0", [...M, "workflows", "default", "timeoutMs"], 0],
    ["workflow timeout fractional", [...M, "workflows", "default", "timeoutMs"], 1.5],
    ["workflow upstream missing", [...M, "workflows", "simple", "upstream"]],
    ["approval require a risk name", [...M, "approval", "require", 0], "all"],
    ["retrieval null", [...M, "retrieval"], null],
    ["rollout fallback", [...M, "rollout", "fallback"], "_x"],
    ["rollout owner empty", [...M, "rollout", "owners", 0], ""],
    ["trigger maxRate over 1", [...M, "rollout", "triggers", 0, "maxRate"], 1.01],
    ["trigger action unknown", [...M, "rollout", "triggers", 0, "action"], "explode"],
    ["trigger action empty set", [...M, "rollout", "triggers", 0, "action"], { set: {} }],
    ["userFallback status 99", [...M, "rollout", "userFallback", "status"], 99],
    ["metadata a string", [...M, "metadata"], "m"],
    ["override id", ["overrides", 0, "id"], "x"],
    ["override * scope with a release", ["overrides", 0, "scope", "release"], "v1"],
    ["override empty set", ["overrides", 1, "set"], {}],
    ["override unknown knob", ["overrides", 1, "set", "speed"], "slow"],
    ["override mode", ["overrides", 0, "set", "mode"], "paranoid"],
    ["override reason empty", ["overrides", 0, "reason"], ""],
    ["override expiry not a date", ["overrides", 2, "expiresAt"], "2030-01-01"],
    ["override createdAt missing", ["overrides", 2, "createdAt"]],
  ];
  it.each(cases)("refuses %s, as zod does", async (_what, path, ...value) => {
    const s = mutate(await rich(), path, ...value);
    expect(zod(s)).toBe(false);
    expect(fast(s)).toBe(false);
    const r = loadSnapshot(copy(s), null);
    expect(r.success).toBe(false);
    expect(r.error?.issues.length).toBeGreaterThan(0); // zod's own issues, for the error message
  });

  it("on random edits never accepts what zod refuses", async () => {
    const base = await rich();
    const paths: (string | number)[][] = [];
    const walk = (v: unknown, p: (string | number)[]) => {
      paths.push(p);
      if (Array.isArray(v)) for (const [i, x] of v.entries()) walk(x, [...p, i]);
      else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
    };
    walk(base, []);
    const leaf = fc.oneof(
      fc.constantFrom(null, true, 0, -1, 1.5, 1e9, "", "off", "v1", "*", "always", "read", "x".repeat(300)),
      fc.constantFrom("http://a.b", " http://a.b", "https://a.b/\t", "2026-01-01T00:00:00Z", "__proto__"),
      fc.string({ maxLength: 8 }),
      fc.double(),
      fc.constant([]),
      fc.constant({}),
    );
    const edit = fc.record({
      at: fc.integer({ min: 1, max: paths.length - 1 }),
      op: fc.constantFrom("set", "delete", "add"),
      value: leaf,
      key: fc.constantFrom("extra", "__proto__", "default", "v3"),
    });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        let s = base;
        try {
          for (const e of edits) {
            const p = paths[e.at] as (string | number)[];
            if (e.op === "set") s = mutate(s, p, e.value);
            else if (e.op === "delete") s = mutate(s, p);
            else s = mutate(s, [...p, e.key], e.value);
          }
        } catch {
          return; // an earlier edit removed or replaced what a later one reaches into
        }
        const input = copy(s);
        if (snapshotOk(input, SNAPSHOT_FORMAT, new Map())) expect(zod(s)).toBe(true);
        expect(loadSnapshot(copy(s), null).success).toBe(zod(s));
      }),
      { numRuns: 1500 },
    );
  });
});

describe("loadSnapshot reuses manifests by digest", () => {
  it("takes a known release's validated manifest instead of checking the stored one again", async () => {
    const s1 = await rich();
    const first = loadSnapshot(copy(s1), null);
    if (!first.success) throw first.error;
    const previous = indexSnapshot(first.data);
    const held = previous.agents.get("bot")?.releases.get("v1")?.manifest;
    const s2 = mutate(s1, ["revision"], 8);
    const second = loadSnapshot(s2, previous);
    expect(second.success).toBe(true);
    expect(second.data?.agents.bot?.releases.v1?.manifest).toBe(held); // the same object, not a new copy
    expect(second.data?.revision).toBe(8);
  });

  it("does not reuse a known digest filed under another version: the stored manifest is validated instead", async () => {
    const s1 = await rich();
    const first = loadSnapshot(copy(s1), null);
    if (!first.success) throw first.error;
    const previous = indexSnapshot(first.data);
    const moved = mutate(s1, ["agents", "bot", "releases", "v2", "digest"], digestOf(s1, "v1"));
    const r = loadSnapshot(moved, previous);
    expect(r.success).toBe(true); // zod does not check digests either
    expect(r.data?.agents.bot?.releases.v2?.manifest.version).toBe("v2");
    expect(r.data?.agents.bot?.releases.v2?.manifest).not.toBe(
      previous.agents.get("bot")?.releases.get("v1")?.manifest,
    );
  });

  it("checks a known digest whose stored body changed, and refuses it when invalid (last-known-good holds)", async () => {
    const s1 = await rich();
    const first = loadSnapshot(copy(s1), null);
    if (!first.success) throw first.error;
    const previous = indexSnapshot(first.data);
    const tampered = mutate(s1, [...M, "tools"], "all of them");
    expect(loadSnapshot(tampered, previous).success).toBe(false);
    const edited = mutate(s1, [...M, "description"], "changed, still valid");
    const r = loadSnapshot(edited, previous);
    expect(r.success).toBe(true);
    expect(r.data?.agents.bot?.releases.v1?.manifest.description).toBe("changed, still valid");
  });

  it("checks a release it has not seen, even next to known ones", async () => {
    const s1 = await rich();
    const first = loadSnapshot(copy(s1), null);
    if (!first.success) throw first.error;
    const previous = indexSnapshot(first.data);
    const bad = mutate(s1, [...M.slice(0, 3), "v3"], {
      manifest: { ...(manifest("bot", "v3", UP) as unknown as J), tools: "all" },
      digest: `sha256:${"1".repeat(64)}`,
    });
    expect(loadSnapshot(bad, previous).success).toBe(false);
  });
});

function digestOf(s: J, version: string): string {
  const releases = ((s.agents as J).bot as J).releases as Record<string, { digest: string }>;
  return (releases[version] as { digest: string }).digest;
}
