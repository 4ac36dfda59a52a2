/**
 * Hostile input across every admin route (issue 7, docs/reliability.md), with a valid admin token so that
 * nothing stops at authentication: path tricks and odd unicode in agent ids, versions and override ids, odd
 * query values, malformed, mistyped, deeply nested and oversized bodies. Every answer is a 4xx JSON error (or,
 * for a read whose path the URL parser normalised onto another read, that read's answer), never a 5xx or a
 * hang, and nothing changes. The routes come from the live OpenAPI document, so a new route is covered too.
 * Field-by-field validation of each body is test/admin's; this file is about what no route may ever do.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, inject, it, vi } from "vitest";
import { ADMIN_BODY_LIMIT } from "../../src/admin/app";
import { call, ok } from "../helpers/admin";
import { AGENT, expectJsonError, type Fingerprint, fetchWithin, fingerprint, seedLiveAgent } from "./support";

const upstream = inject("upstream");
vi.setConfig({ testTimeout: 60_000, hookTimeout: 30_000 });

interface Route {
  method: string;
  template: string;
}

let routes: Route[] = [];
let before: Fingerprint;

beforeAll(async () => {
  await seedLiveAgent(upstream);
  const doc = await ok<{ paths: Record<string, Record<string, unknown>> }>(call("viewer", "GET", "/openapi.json"));
  routes = Object.entries(doc.paths).flatMap(([template, ops]) =>
    Object.keys(ops).map((method) => ({
      method: method.toUpperCase(),
      template: template.replace(/^\/admin\/v1/, ""),
    })),
  );
  before = await fingerprint();
});

const admin = (method: string, path: string, body?: BodyInit | null, headers: Record<string, string> = {}) =>
  fetchWithin(`https://gw/admin/v1${path}`, {
    method,
    headers: { authorization: "Bearer admin-token", "content-type": "application/json", ...headers },
    ...(body === undefined || body === null ? {} : { body }),
  });

const HOSTILE_IDS = [
  "..",
  ".",
  "%2e%2e",
  "%2E%2E%2F%2E%2E",
  `${AGENT}%2F..%2F..%2Fstate`,
  `${AGENT}%2fpromote`,
  "..%5c..",
  "%00",
  `${AGENT}%00`,
  `${AGENT}%20`,
  AGENT.toUpperCase(),
  "süpport-bot",
  "support\u2010bot",
  "%F0%9F%92%A5",
  "__proto__",
  "constructor",
  "hasOwnProperty",
  "a".repeat(300),
  "ovr_",
  "ovr_..%2F..",
  "ovr_%00",
  "ovr_AAAA%2F..",
  "-",
  "_x",
  "v1;drop table releases",
  "%25",
  "%",
];

const hostileId = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_IDS) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 80 }).map(encodeURIComponent) },
);

const fill = (template: string, id: string) => template.replace(/\{[a-z]+\}/gi, id);

const isMutation = (m: string) => m !== "GET" && m !== "HEAD";

const deepArray = "[".repeat(ADMIN_BODY_LIMIT - 16);
const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;

/** Bodies no route may accept: not JSON, not an object, nested past any sane depth, or oversized. */
const HOSTILE_BODIES: Array<[string, string]> = [
  ["empty", ""],
  ["truncated", '{"version":"v1","reason":'],
  ["not json", "version=v1&reason=x"],
  ["null", "null"],
  ["array", '[{"version":"v1","reason":"x"}]'],
  ["number", "1e999"],
  ["string", '"promote"'],
  ["wrong types", '{"version":1,"reason":true,"percent":"50","scope":"*","set":[]}'],
  ["prototype keys", '{"__proto__":{"role":"admin"},"constructor":{"prototype":{"x":1}},"reason":"x"}'],
  // JSON.parse keeps the last of duplicate keys; that last value is the one validated, so no bypass.
  ["duplicate keys", '{"version":"v1","reason":"x","percent":5,"reason":""}'],
  ["lone surrogate", '{"reason":"\\ud800","version":"v1\\udfff"}'],
  ["nul bytes", '{"reason":"x\\u0000","version":"v1\\u0000"}'],
  ["deep array", deepArray],
  ["deep object", deepObject(150_000)],
];

describe("every admin route", () => {
  it("lists the routes the OpenAPI document declares", () => {
    expect(routes.length).toBeGreaterThanOrEqual(14);
    expect(routes).toContainEqual({ method: "POST", template: "/agents/{agent}/promote" });
  });

  it("answers hostile ids in the path with a 4xx JSON error and never mutates", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), hostileId, async (n, id) => {
        const route = routes[n % routes.length]!;
        const path = fill(route.template, id);
        const body = isMutation(route.method) ? JSON.stringify({ reason: "fuzz", version: "v1", percent: 1 }) : null;
        const res = await admin(route.method, path, body);
        const context = `${route.method} ${path}`;
        if (res.status < 300 && !isMutation(route.method)) {
          await res.body?.cancel(); // a read whose path normalised onto another read: harmless
          return;
        }
        await expectJsonError(res, context);
      }),
      { numRuns: 300 },
    );
  });

  it.each(HOSTILE_BODIES)("answers a %s body with a 4xx JSON error on every mutation route", async (_name, body) => {
    for (const route of routes.filter((r) => isMutation(r.method))) {
      const path = fill(route.template, route.template.includes("{id}") ? "ovr_doesNotExist" : AGENT).replace(
        /releases\/support-bot$/,
        "releases/v9",
      );
      await expectJsonError(await admin(route.method, path, body), `${route.method} ${path} with ${_name}`);
    }
  });

  it("answers any JSON value as a body with a 4xx JSON error, never a 5xx", async () => {
    const mutations = routes.filter((r) => isMutation(r.method));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), fc.jsonValue({ maxDepth: 4 }), async (n, value) => {
        // A bare `{ reason }` is a valid DELETE body: that one would rightly succeed.
        fc.pre(!(typeof value === "object" && value !== null && "reason" in value));
        const route = mutations[n % mutations.length]!;
        const path = fill(route.template, route.template.includes("{id}") ? "ovr_doesNotExist" : AGENT).replace(
          /releases\/support-bot$/,
          "releases/v9",
        );
        const body = JSON.stringify(value) ?? "null";
        await expectJsonError(
          await admin(route.method, path, body),
          `${route.method} ${path} with ${body.slice(0, 200)}`,
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe("the documented body limit (1 MiB, src/admin/app.ts)", () => {
  // Valid JSON of exactly `size` bytes whose version is invalid: the size is the only thing under test.
  const padded = (size: number) => {
    const head = '{"version":"not a version","reason":"limit';
    return `${head}${" ".repeat(size - head.length - 2)}"}`;
  };

  it("refuses a body one byte over 1 MiB with 413 body_too_large on every mutation route", async () => {
    for (const route of routes.filter((r) => isMutation(r.method))) {
      const path = fill(route.template, route.template.includes("{id}") ? "ovr_doesNotExist" : AGENT);
      const res = await admin(route.method, path, padded(ADMIN_BODY_LIMIT + 1));
      expect(res.status, `${route.method} ${path}`).toBe(413);
      expect((await expectJsonError(res, path)).code).toBe("body_too_large");
    }
  });

  it("refuses an oversized body sent without a content-length (chunked)", async () => {
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > ADMIN_BODY_LIMIT * 4) controller.close();
        else {
          sent += chunk.length;
          controller.enqueue(chunk);
        }
      },
    });
    const res = await admin("POST", `/agents/${AGENT}/promote`, stream);
    expect(res.status).toBe(413);
    expect((await expectJsonError(res, "chunked")).code).toBe("body_too_large");
  });

  it("reads a body of exactly 1 MiB (and finds the invalid version in it)", async () => {
    const res = await admin("POST", `/agents/${AGENT}/promote`, padded(ADMIN_BODY_LIMIT));
    expect(res.status).toBe(400);
    expect((await expectJsonError(res, "1 MiB")).code).toBe("invalid_request");
  });
});

describe("hostile query strings and headers", () => {
  it.each([
    "/audit?limit=-1",
    "/audit?limit=1e99",
    "/audit?limit=NaN",
    "/audit?before=abc",
    "/audit?before=-5",
    "/audit?agent=..%2F..",
    "/audit?agent=%00",
    `/explain?agent=${AGENT}&key=${"k".repeat(600)}`,
    "/explain?agent=__proto__",
    "/explain",
    `/agents/${AGENT}/diff?from=..&to=v1`,
    `/agents/${AGENT}/diff?from=v1`,
    `/agents/${AGENT}/diff?from=v1&to=%2e%2e%2fv2`,
  ])("GET %s → 4xx JSON", async (path) => {
    await expectJsonError(await admin("GET", path), path);
  });

  it("an overlong pin on explain is read as the data plane reads x-agent-release: cut, matching no release", async () => {
    const res = await admin("GET", `/explain?agent=${AGENT}&release=${"v".repeat(200)}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { decision: { headers: Record<string, string> } };
    expect(body.decision.headers["x-agent-decision"]).toContain("pin-ignored");
  });

  it.each([
    ["If-Match", '"abc"'],
    ["If-Match", '"1" , "2"'],
    ["If-Match", "*"],
    ["If-Match", `"${"9".repeat(40)}"`],
  ])("a mutation with %s: %s → 4xx JSON", async (name, value) => {
    const res = await admin("POST", `/agents/${AGENT}/rollback`, JSON.stringify({ reason: "x" }), { [name]: value });
    await expectJsonError(res, `${name}: ${value}`);
  });

  it("a JSON body sent as text/plain or form data is refused, not guessed at", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const res = await admin("POST", `/agents/${AGENT}/rollback`, JSON.stringify({ reason: "x" }), {
        "content-type": type,
      });
      await expectJsonError(res, type);
    }
  });
});

it("left the control state, the audit log and the published head exactly as they were", async () => {
  expect(await fingerprint()).toEqual(before);
});
