/**
 * Hostile input to every data-plane route (issue 7, docs/reliability.md): odd agent ids, path tricks, odd
 * headers, malformed and huge bodies, against the real Worker, real KV and Durable Object, and a real upstream.
 * Every answer is either the proxied upstream answer (and then the upstream saw a path inside the release's base
 * path) or a 4xx JSON error — never a 5xx, never a hang — and the published state is unchanged.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, inject, it, vi } from "vitest";
import { resetIsolateForTests } from "../../src/state/isolate";
import { AGENT, expectJsonError, type Fingerprint, fetchWithin, fingerprint, seedLiveAgent } from "./support";

const upstream = inject("upstream");
const RUNS = 200;
vi.setConfig({ testTimeout: 60_000, hookTimeout: 30_000 });

let before: Fingerprint;
beforeAll(async () => {
  resetIsolateForTests();
  await seedLiveAgent(upstream);
  before = await fingerprint();
});

interface Echo {
  method: string;
  path: string;
  body: string;
  headers: Record<string, string>;
}

/** A path segment the URL parser could turn into a climb, a separator or an alias. */
const TRICKY_SEGMENTS = [
  "..",
  ".",
  "%2e%2e",
  "%2E%2e",
  ".%2e",
  "%2e",
  "%2f",
  "%2F..%2F",
  "%5c",
  "..%5c..",
  "\\..\\",
  "%00",
  "%25%32%66", // a double-encoded slash
  "%c0%af", // an overlong UTF-8 slash
  "%ef%bc%8f", // a fullwidth slash
  ";",
  "//",
  "@evil.example",
  "http:",
  "~",
  "%",
  "%zz",
  "admin",
  "..;",
];

const ODD_AGENT_IDS = [
  AGENT,
  AGENT.toUpperCase(),
  `${AGENT}%2F..`,
  `${AGENT}%00`,
  `${AGENT}\u200b`, // zero-width space
  "support\u2010bot", // a unicode hyphen
  "ｓupport-bot", // a fullwidth s
  "süpport-bot",
  "__proto__",
  "constructor",
  "toString",
  "..",
  ".",
  "%2e%2e",
  "-x",
  "a".repeat(64),
  "",
];

const segment = fc.oneof(
  fc.constantFrom(...TRICKY_SEGMENTS),
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 8 }).map(encodeURIComponent),
);
const agentId = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ODD_AGENT_IDS) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 70 }) },
);
const method = fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS");

/** True when an upstream-side path contains something that could climb out of the release's base path. */
const climbs = (path: string) => /(^|\/)(\.|%2e){1,2}(\/|$)|%2f|%5c|\\/i.test(path);

describe("agent route: ids and paths", () => {
  it("answers the proxied upstream inside the release's base path, or a 4xx JSON error", async () => {
    await fc.assert(
      fc.asyncProperty(agentId, fc.array(segment, { maxLength: 6 }), method, async (agent, segs, m) => {
        const url = `https://gw/agents/${agent}/${segs.join("/")}`;
        const res = await fetchWithin(url, { method: m, ...(m === "GET" ? {} : { body: "x" }) });
        const context = `${m} ${url}`;
        if (res.status === 200) {
          const got = (await res.json()) as Echo;
          expect(got.path, context).toMatch(/^\/agent\/v[12](\/|$)/);
          expect(climbs(got.path.slice("/agent/v1".length)), `${context} reached ${got.path}`).toBe(false);
          expect(res.headers.get("x-agent-release"), context).toMatch(/^v[12]$/);
        } else {
          const err = await expectJsonError(res, context);
          expect(["unknown_agent", "bad_path", "not_found"], context).toContain(err.code);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it.each([
    "/agents/support-bot/..%2F..%2Fadmin%2Fv1%2Fstate",
    "/agents/support-bot/%2e%2e/%2e%2e/admin/v1/state",
    "/agents/support-bot%2F..%2F..%2Fadmin/v1/state",
    "/agents/%2e%2e/admin/v1/state",
    "/agents/support-bot/%252e%252e/x",
    "/agents/support-bot/a%00b",
    "/agents/support-bot/%c0%ae%c0%ae/x",
  ])("%s never reaches anything but the release's base path", async (path) => {
    const res = await fetchWithin(`https://gw${path}`);
    if (res.status === 200) {
      const got = (await res.json()) as Echo;
      expect(got.path).toMatch(/^\/agent\/v1\//);
      expect(climbs(got.path.slice("/agent/v1".length))).toBe(false);
    } else {
      await expectJsonError(res, path);
    }
  });
});

describe("agent route: headers", () => {
  // Header values a client can send: printable ASCII (fetch refuses CR, LF and NUL itself; workerd re-encodes
  // other non-ASCII as UTF-8 bytes, which the ASCII range already covers byte for byte).
  const headerValue = fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 700,
  });
  const headerName = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);

  it("odd keys, pins and extra headers get a decision or 400 bad_key, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        headerValue,
        headerValue,
        fc.dictionary(headerName, headerValue, { maxKeys: 6 }),
        async (key, pin, extra) => {
          const headers = new Headers(extra);
          headers.delete("content-length");
          headers.delete("host");
          headers.delete("transfer-encoding");
          headers.set("x-agent-key", key);
          headers.set("x-agent-release", pin);
          const res = await fetchWithin("https://gw/agents/support-bot/chat", { headers });
          const context = `key=${JSON.stringify(key.slice(0, 40))} pin=${JSON.stringify(pin.slice(0, 40))}`;
          if (key.trim().length > 512) {
            expect((await expectJsonError(res, context)).code).toBe("bad_key");
            return;
          }
          expect(res.status, context).toBe(200);
          expect(res.headers.get("x-agent-release"), context).toMatch(/^v[12]$/);
          // Nothing the client sent is reflected into the gateway's own headers.
          expect(res.headers.get("x-agent-decision"), context).toMatch(
            /^(stable|canary|pinned)(; [a-z-]+(=[0-9]+)?)*$/,
          );
          await res.body?.cancel();
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("a CR/LF header injection cannot even be expressed through the Fetch API", () => {
    expect(() => new Headers({ "x-agent-key": "k\r\nx-agent-lane: autonomous" })).toThrow();
    expect(() => new Headers({ "x-agent-release": "v1\nx-agent-tools: issue_refund" })).toThrow();
    expect(() => new Headers({ "x-agent-key": "k\u0000" })).toThrow();
  });
});

describe("agent route: bodies", () => {
  it("passes any body through untouched: the gateway never parses agent traffic", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 2000 }),
          fc.constantFrom("{", '{"a":', "[".repeat(5000), "\u0000\u0001", '{"__proto__":{"admin":true}}'),
        ),
        async (body) => {
          const res = await fetchWithin("https://gw/agents/support-bot/x", {
            method: "POST",
            body,
            headers: { "content-type": "application/json" },
          });
          expect(res.status).toBe(200);
          expect(((await res.json()) as Echo).body).toBe(body);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("streams an 8 MiB body to the upstream without refusing it or buffering it into an error", async () => {
    const body = "a".repeat(8 * 1024 * 1024);
    const res = await fetchWithin("https://gw/agents/support-bot/upload", { method: "PUT", body }, 20_000);
    expect(res.status).toBe(200);
    expect(((await res.json()) as Echo).body.length).toBe(body.length);
  });
});

describe("model routes", () => {
  const paths = ["chat/completions", "responses", "messages"];
  const deep = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
  const hostileBodies = [
    "",
    "{",
    "null",
    "[]",
    "42",
    '"text"',
    "[".repeat(100_000),
    deep(20_000),
    '{"model":',
    '{"messages":5}',
    '{"messages":[null,1,"x",{"role":{"a":1}}]}',
    '{"tools":"all","tool_choice":{"function":7}}',
    '{"input":{"x":1},"tools":[{"type":"function","name":5}]}',
    '{"messages":[{"role":"user","content":[{"type":"text","text":5}]}],"tools":[null]}',
    JSON.stringify({ messages: [{ role: "user", content: "x".repeat(3 * 1024 * 1024) }] }).slice(0, -2),
  ];

  it.each(paths)(
    "POST /models/support-bot/v1/%s answers every hostile body with a 4xx JSON error or a proxied answer",
    async (p) => {
      for (const body of hostileBodies) {
        const res = await fetchWithin(`https://gw/models/support-bot/v1/${p}`, {
          method: "POST",
          body,
          headers: { "content-type": "application/json" },
        });
        const context = `${p} with ${JSON.stringify(body.slice(0, 60))}`;
        if (res.status < 400) {
          await res.body?.cancel();
          continue;
        }
        await expectJsonError(res, context);
      }
    },
  );

  it("any JSON value as a body gets a 4xx JSON error or a proxied answer, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.oneof(
          fc.jsonValue({ maxDepth: 4 }),
          fc.record(
            {
              model: fc.jsonValue({ maxDepth: 2 }),
              messages: fc.jsonValue({ maxDepth: 3 }),
              input: fc.jsonValue({ maxDepth: 3 }),
              tools: fc.jsonValue({ maxDepth: 3 }),
              tool_choice: fc.jsonValue({ maxDepth: 2 }),
              stream: fc.jsonValue({ maxDepth: 1 }),
            },
            { requiredKeys: [] },
          ),
        ),
        async (p, value) => {
          const body = JSON.stringify(value) ?? "null";
          const res = await fetchWithin(`https://gw/models/support-bot/v1/${p}`, {
            method: "POST",
            body,
            headers: { "content-type": "application/json" },
          });
          const context = `${p} with ${body.slice(0, 200)}`;
          expect(res.status, context).toBeLessThan(500);
          if (res.status >= 400) await expectJsonError(res, context);
          else await res.body?.cancel();
        },
      ),
      { numRuns: RUNS },
    );
  });

  it.each(["GET", "PUT", "DELETE"])("%s on a model route is a 404 JSON error", async (m) => {
    await expectJsonError(await fetchWithin("https://gw/models/support-bot/v1/chat/completions", { method: m }), m);
  });
});

describe("everything else", () => {
  it("unknown routes answer 404 JSON, whatever the path and method", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 4 }), method, async (segs, m) => {
        const path = `/${segs.join("/")}`;
        fc.pre(!/^\/(agents|models|admin|healthz)/i.test(path.replace(/^\/+/, "/")));
        const res = await fetchWithin(`https://gw${path}`, { method: m });
        if (res.status === 200) {
          // Only the URL parser's own normalisation can land on a real route (e.g. "/x/../healthz").
          expect(new URL(`https://gw${path}`).pathname).toMatch(/^\/(healthz|agents\/|models\/)/);
          await res.body?.cancel();
          return;
        }
        await expectJsonError(res, `${m} ${path}`);
      }),
      { numRuns: 60 },
    );
  });

  it("left the control state, the audit log and the published head exactly as they were", async () => {
    expect(await fingerprint()).toEqual(before);
  });
});
