/**
 * Spoofing and privilege (issue 7, docs/reliability.md). No client header, query or body chooses a more
 * permissive lane, a release that is not live, or a canary bucket its key does not hash to; no admin route
 * answers without a valid token; a viewer changes nothing; tokens never reach a log line; the dev token works
 * nowhere but `npm start`.
 */
import fc from "fast-check";
import { afterEach, beforeAll, describe, expect, inject, it, vi } from "vitest";
import gitignore from "../../.gitignore?raw";
import { authenticate, constantTimeEqual } from "../../src/admin/auth";
import { sha256Hex } from "../../src/release/digest";
import { stickyBucket } from "../../src/routing/murmur3";
import wranglerToml from "../../wrangler.toml?raw";
import { call, ok } from "../helpers/admin";
import { AGENT, expectJsonError, fetchWithin, fingerprint, seedLiveAgent } from "./support";

const upstream = inject("upstream");
vi.setConfig({ testTimeout: 60_000, hookTimeout: 30_000 });

const TEST_TOKENS = ["viewer-token", "operator-token", "releaser-token", "admin-token"];
const DEV_TOKEN = "dev-admin-token";

interface Route {
  method: string;
  template: string;
}
let routes: Route[] = [];

beforeAll(async () => {
  await seedLiveAgent(upstream);
  // v2 (the canary) runs draft-only; every release needs approval for write tools.
  await ok(
    call(
      "operator",
      "POST",
      "/overrides",
      { scope: { agent: AGENT, release: "v2" }, set: { mode: "draft-only" }, reason: "spoof test" },
      {},
    ),
    201,
  );
  await ok(
    call("operator", "POST", "/overrides", { scope: { agent: "*" }, set: { forceApproval: ["write"] }, reason: "x" }),
    201,
  );
  const doc = await ok<{ paths: Record<string, Record<string, unknown>> }>(call("viewer", "GET", "/openapi.json"));
  routes = Object.entries(doc.paths).flatMap(([template, ops]) =>
    Object.keys(ops).map((method) => ({
      method: method.toUpperCase(),
      template: template.replace(/^\/admin\/v1/, ""),
    })),
  );
});

afterEach(() => {
  vi.restoreAllMocks();
});

interface Echo {
  path: string;
  headers: Record<string, string>;
}

/** What the decision must be, from the two inputs a client legitimately controls (CONTRACT §2.1 step 1). */
function expected(key: string, pin: string): { release: "v1" | "v2"; kind: string } {
  if (pin === "v1" || pin === "v2") return { release: pin, kind: "pinned" };
  if (key !== "" && stickyBucket(AGENT, "v2", key) < 1000) return { release: "v2", kind: "canary" };
  return { release: "v1", kind: "stable" };
}

/** The lane each live release must run in, whatever the client says. */
const LANES = {
  v1: { lane: "autonomous", tools: "search_kb,send_email,issue_refund", approval: "send_email,issue_refund" },
  v2: { lane: "draft-only", tools: "search_kb", approval: "" },
} as const;

const SPOOF_HEADERS = [
  "x-agent-lane",
  "x-agent-tools",
  "x-agent-approval",
  "x-agent-workflow",
  "x-agent-context",
  "x-agent-digest",
  "x-agent-decision",
  "x-agent-bucket",
  "x-agent-canary",
  "x-agent-override",
  "x-agent-mode",
];
const spoofValue = fc.constantFrom(
  "autonomous",
  "off",
  "v0",
  "v3",
  "0",
  "issue_refund,format_disk",
  "",
  "pinned",
  "simple",
  "eyJ0b29scyI6WyJhbGwiXX0",
  "sha256:0000",
);
const pin = fc.oneof(
  fc.constantFrom(
    "v0",
    "v1",
    "v2",
    "v3",
    "V1",
    "v1 ",
    " v2",
    "v1,v2",
    "v2;",
    "v1\t",
    "off",
    "*",
    "active",
    "canary",
    "",
  ),
  fc.stringMatching(/^[ -~]{0,20}$/),
);
const key = fc.stringMatching(/^[!-~]([ -~]{0,60}[!-~])?$/); // printable, no edge whitespace (headers trim it)

describe("the data plane trusts only the key and the pin", () => {
  it("no header, query or body picks a release, lane or bucket the key and pin do not", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(key, { nil: undefined }),
        fc.option(pin, { nil: undefined }),
        fc.dictionary(fc.constantFrom(...SPOOF_HEADERS), spoofValue),
        fc.dictionary(
          fc.constantFrom("release", "lane", "bucket", "x-agent-release", "canary", "mode", "key"),
          spoofValue,
        ),
        fc.constantFrom("GET", "POST"),
        async (k, p, spoofs, query, method) => {
          const headers = new Headers(spoofs);
          if (k !== undefined) headers.set("x-agent-key", k);
          if (p !== undefined) headers.set("x-agent-release", p);
          const qs = new URLSearchParams(query).toString();
          const body = method === "POST" ? JSON.stringify({ release: "v3", lane: "autonomous", ...query }) : null;
          const res = await fetchWithin(`https://gw/agents/${AGENT}/chat${qs ? `?${qs}` : ""}`, {
            method,
            headers,
            body,
          });
          const want = expected(k ?? "", (headers.get("x-agent-release") ?? "").slice(0, 128));
          const context = JSON.stringify({ k, p, spoofs, query });
          expect(res.status, context).toBe(200);
          expect(res.headers.get("x-agent-release"), context).toBe(want.release);
          expect(res.headers.get("x-agent-decision")?.split(";")[0], context).toBe(want.kind);
          expect(res.headers.get("x-agent-lane"), context).toBe(LANES[want.release].lane);
          const got = (await res.json()) as Echo;
          expect(got.path, context).toBe(`/agent/${want.release}/chat${qs ? `?${qs}` : ""}`.split("?")[0]);
          expect(got.headers["x-agent-release"], context).toBe(want.release);
          expect(got.headers["x-agent-lane"], context).toBe(LANES[want.release].lane);
          expect(got.headers["x-agent-tools"], context).toBe(LANES[want.release].tools);
          expect(got.headers["x-agent-approval"], context).toBe(LANES[want.release].approval);
          expect(got.headers["x-agent-workflow"], context).toBe("default");
          for (const h of SPOOF_HEADERS.filter(
            (h) => !["x-agent-lane", "x-agent-tools", "x-agent-approval"].includes(h),
          )) {
            if (!["x-agent-workflow", "x-agent-context", "x-agent-digest"].includes(h)) {
              expect(got.headers[h], `${h} reached the upstream: ${context}`).toBeUndefined();
            }
          }
        },
      ),
      { numRuns: 250 },
    );
  });

  it("a pin to the stable fallback or to a stored release that never went live is ignored, and says so", async () => {
    for (const p of ["v0", "v3"]) {
      const res = await fetchWithin(`https://gw/agents/${AGENT}/x`, { headers: { "x-agent-release": p } });
      expect(res.headers.get("x-agent-release")).toBe("v1");
      expect(res.headers.get("x-agent-decision")).toMatch(/^stable; overrides=ovr_\w+; pin-ignored$/);
      await res.body?.cancel();
    }
  });

  it("a key outside the canary stays outside whatever else is sent; the bucket is always the key's hash", async () => {
    // 200 keys: those whose v2 bucket is ≥ 1000 must never see v2 without a pin.
    for (let i = 0; i < 200; i++) {
      const k = `user-${i}`;
      const bucket = stickyBucket(AGENT, "v2", k);
      const res = await fetchWithin(`https://gw/agents/${AGENT}/x?bucket=0&canary=1`, {
        headers: { "x-agent-key": k, "x-agent-bucket": "0", "x-agent-canary": "v2", "x-agent-decision": "canary" },
      });
      expect(res.headers.get("x-agent-release")).toBe(bucket < 1000 ? "v2" : "v1");
      expect(res.headers.get("x-agent-decision")).toContain(`bucket=${bucket}`);
      await res.body?.cancel();
    }
  });
});

describe("admin authentication", () => {
  const badAuth = fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(
      "",
      "Bearer",
      "Bearer ",
      `Bearer ${DEV_TOKEN}`,
      "Basic YWRtaW46YWRtaW4tdG9rZW4=",
      "Token admin-token",
      "Bearer admin-token extra",
      "Bearer admin-tokenx",
      "Bearer xadmin-token",
      "Bearer ADMIN-TOKEN",
      "Bearer admin-token\u00a0",
      "Bearer  admin token",
      "admin-token",
      "Bearer Bearer admin-token",
      `Bearer ${"a".repeat(513)}`,
      "Bearer viewer-token,admin-token",
    ),
    fc.stringMatching(/^[!-~]{1,80}$/).map((t) => `Bearer ${t}`),
  );

  it("no admin route answers anything but 401 without a valid token, and nothing changes", async () => {
    const before = await fingerprint();
    const hashes = await Promise.all(TEST_TOKENS.map((t) => sha256Hex(t)));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), badAuth, async (n, auth) => {
        fc.pre(!TEST_TOKENS.some((t) => auth !== undefined && new RegExp(`^Bearer\\s+${t}\\s*$`, "i").test(auth)));
        const route = routes[n % routes.length]!;
        const path = route.template.replace("{agent}", AGENT).replace("{version}", "v1").replace("{id}", "ovr_x");
        const headers: Record<string, string> = {
          "content-type": "application/json",
          // Tokens anywhere but the authorization header count for nothing.
          "x-admin-token": "admin-token",
          cookie: "token=admin-token",
        };
        if (auth !== undefined) headers.authorization = auth;
        const res = await fetchWithin(`https://gw/admin/v1${path}?token=admin-token&access_token=${hashes[3]}`, {
          method: route.method,
          headers,
          ...(route.method === "GET" ? {} : { body: JSON.stringify({ version: "v2", percent: 100, reason: "x" }) }),
        });
        expect(res.status, `${route.method} ${path} with ${auth}`).toBe(401);
        expect(res.headers.get("www-authenticate")).toContain("Bearer");
        expect((await expectJsonError(res, path)).code).toBe("unauthorized");
      }),
      { numRuns: 300 },
    );
    expect(await fingerprint()).toEqual(before);
  });

  it("a viewer changes nothing, on any mutating route, whatever the body", async () => {
    const before = await fingerprint();
    const mutations = routes.filter((r) => r.method !== "GET");
    expect(mutations.length).toBeGreaterThanOrEqual(7);
    const bodies = [
      { version: "v2", reason: "x" },
      { version: "v2", percent: 100, reason: "x" },
      { reason: "x" },
      { reason: "x", to: "off" },
      { scope: { agent: "*" }, set: { mode: "off" }, reason: "x" },
      { agent: AGENT, release: "v1", failureClass: "upstream_error", count: 1000, reason: "x" },
    ];
    for (const route of mutations) {
      for (const body of bodies) {
        const path = route.template.replace("{agent}", AGENT).replace("{version}", "v9").replace("{id}", "ovr_x");
        const res = await call("viewer", route.method, path, body);
        expect(res.status, `${route.method} ${path}`).toBe(403);
        expect((await expectJsonError(res, path)).code).toBe("forbidden");
      }
    }
    expect(await fingerprint()).toEqual(before);
  });

  it("never writes a token, valid or not, to any log line", async () => {
    const lines: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      });
    }
    const secrets = [...TEST_TOKENS, DEV_TOKEN, "not-a-real-token-1234"];
    // Each token asks for another percent (9, 8, 7, …: lowering is an operator's move), so every call a valid
    // token of sufficient role makes is a real change that the audit must hold; a repeat would be a no-op.
    for (const [i, token] of secrets.entries()) {
      for (const [method, path, body] of [
        ["GET", "/state", undefined],
        ["POST", `/agents/${AGENT}/canary`, { version: "v2", percent: 9 - i, reason: "log test" }],
        ["POST", `/agents/${AGENT}/promote`, { version: "nope!", reason: "x" }],
        ["DELETE", "/overrides/ovr_missing", { reason: "x" }],
      ] as const) {
        const res = await fetchWithin(`https://gw/admin/v1${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        await res.body?.cancel();
      }
    }
    // Data-plane traffic carrying a token logs a request line every time: the token must not be in it.
    for (const token of secrets) {
      const res = await fetchWithin(`https://gw/agents/${AGENT}/x?token=${token}`, {
        headers: { authorization: `Bearer ${token}`, "x-agent-key": token },
      });
      await res.body?.cancel();
    }
    expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThanOrEqual(secrets.length);
    for (const line of lines) for (const s of secrets) expect(line).not.toContain(s);
  });

  it("compares token hashes without an early exit, with the same answer as ===", () => {
    // Timing itself cannot be measured inside workerd (its clock only moves on I/O, a Spectre mitigation), so
    // the property pinned here is that the comparison is exact; docs/reliability.md says why that suffices.
    fc.assert(
      fc.property(fc.string({ maxLength: 70 }), fc.string({ maxLength: 70 }), (a, b) => {
        expect(constantTimeEqual(a, b)).toBe(a === b);
        expect(constantTimeEqual(a, a)).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{64}$/), fc.nat(63), (h, i) => {
        const flipped = h.slice(0, i) + (h[i] === "0" ? "1" : "0") + h.slice(i + 1);
        expect(constantTimeEqual(h, flipped)).toBe(false);
      }),
    );
  });

  it("accepts exactly the configured tokens", async () => {
    const env = {
      ADMIN_TOKENS: JSON.stringify([{ name: "only", role: "admin", sha256: await sha256Hex("the-one") }]),
    } as never;
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[!-~]{1,64}$/), async (t) => {
        expect(await authenticate(env, `Bearer ${t}`)).toEqual(
          t === "the-one" ? { name: "only", role: "admin" } : null,
        );
      }),
      { numRuns: 200 },
    );
    expect(await authenticate(env, "Bearer the-one")).toEqual({ name: "only", role: "admin" });
  });
});

describe("the dev token", () => {
  it("wrangler.toml configures no ADMIN_TOKENS (it is a secret, never a var)", () => {
    const code = wranglerToml
      .split("\n")
      .map((l) => l.replace(/#.*$/, ""))
      .join("\n");
    expect(code).not.toMatch(/ADMIN_TOKENS/);
    expect(code).not.toContain(DEV_TOKEN);
  });

  it(".dev.vars, where npm start writes the dev token, is never committed", () => {
    expect(gitignore.split("\n").map((l) => l.trim())).toContain(".dev.vars");
  });

  it("is rejected by the test configuration, whose ADMIN_TOKENS lacks it, on every route", async () => {
    const { env } = await import("cloudflare:test");
    const configured = JSON.parse(env.ADMIN_TOKENS ?? "[]") as Array<{ sha256: string }>;
    const devHash = await sha256Hex(DEV_TOKEN);
    expect(configured.length).toBe(5); // one per role, runtime to admin
    expect(configured.map((e) => e.sha256)).not.toContain(devHash);
    for (const route of routes) {
      const path = route.template.replace("{agent}", AGENT).replace("{version}", "v1").replace("{id}", "ovr_x");
      const res = await fetchWithin(`https://gw/admin/v1${path}`, {
        method: route.method,
        headers: { authorization: `Bearer ${DEV_TOKEN}`, "content-type": "application/json" },
        ...(route.method === "GET" ? {} : { body: JSON.stringify({ reason: "x" }) }),
      });
      expect(res.status, `${route.method} ${path}`).toBe(401);
      await res.body?.cancel();
    }
  });

  it("is rejected, like every token, by a deployment whose ADMIN_TOKENS secret is missing or broken", async () => {
    for (const ADMIN_TOKENS of [undefined, "", "not json", "{}", '[{"name":"x","role":"admin"}]', "[]"]) {
      const env = { ADMIN_TOKENS } as never;
      for (const t of [DEV_TOKEN, ...TEST_TOKENS, ""]) expect(await authenticate(env, `Bearer ${t}`)).toBeNull();
    }
  });
});

it("the audit holds exactly the changes made with valid tokens of sufficient role, and nothing refused", async () => {
  const audit = await ok<{ entries: Array<{ seq: number; action: string; actor: string }> }>(
    call("viewer", "GET", "/audit?limit=500"),
  );
  const entries = [...audit.entries].reverse();
  expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
  expect(entries.map((e) => `${e.action} by ${e.actor}`)).toEqual([
    ...Array(4).fill("release.put by releaser@test"),
    "promote by releaser@test",
    "canary.set by releaser@test",
    "override.add by operator@test",
    "override.add by operator@test",
    // The log test's canary calls: operator (lowering or holding is safer), releaser, admin; the viewer,
    // the dev token and the unknown token were refused and left nothing.
    "canary.set by operator@test",
    "canary.set by releaser@test",
    "canary.set by admin@test",
  ]);
});
