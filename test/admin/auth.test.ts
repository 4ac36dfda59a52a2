/**
 * Authentication and roles (CONTRACT §4.1) through the real Worker: every admin route without a token, with a
 * malformed header and with a wrong token answers 401 JSON; every route with each role is allowed or refused
 * (403) exactly as the role table says, and a refused call changes nothing.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { atLeast, ROLES, type Role } from "../../src/control/roles";
import { sha256Hex } from "../../src/release/digest";
import { call, everything, failed, ok, setupAgent, state, type TestRole } from "../helpers/admin";

interface Route {
  name: string;
  method: string;
  path: string;
  body?: unknown;
}

const READS: Route[] = [
  { name: "state", method: "GET", path: "/state" },
  { name: "releases", method: "GET", path: "/agents/reads/releases" },
  { name: "release", method: "GET", path: "/agents/reads/releases/v1" },
  { name: "diff", method: "GET", path: "/agents/reads/diff?from=v1&to=v2" },
  { name: "audit", method: "GET", path: "/audit?agent=reads&limit=5" },
  { name: "explain", method: "GET", path: "/explain?agent=reads&key=k1" },
  { name: "health", method: "GET", path: "/agents/reads/health" },
  { name: "openapi", method: "GET", path: "/openapi.json" },
];

/**
 * Each mutation, on its own freshly set up agent, with the least role that may make it. `setup` returns the
 * route to call (some need an id made during setup).
 */
interface Move {
  name: string;
  need: Role;
  status: number;
  /** Whether a successful call makes a new revision (signals do not: they are counted, not stored). */
  changes: boolean;
  setup: (agent: string) => Promise<Route>;
}

const MOVES: Move[] = [
  {
    name: "put-release",
    need: "releaser",
    status: 201,
    changes: true,
    setup: async (a) => {
      await setupAgent(a, { versions: ["v1"], active: "v1" });
      const { manifest } = await ok<{ manifest: Record<string, unknown> }>(
        call("viewer", "GET", `/agents/${a}/releases/v1`),
      );
      return { name: "", method: "PUT", path: `/agents/${a}/releases/v2`, body: { ...manifest, version: "v2" } };
    },
  },
  {
    name: "promote",
    need: "releaser",
    status: 200,
    changes: true,
    setup: async (a) => {
      await setupAgent(a, { versions: ["v1", "v2"], active: "v1" });
      return { name: "", method: "POST", path: `/agents/${a}/promote`, body: { version: "v2", reason: "ship" } };
    },
  },
  {
    name: "start-canary",
    need: "releaser",
    status: 200,
    changes: true,
    setup: async (a) => {
      await setupAgent(a, { versions: ["v1", "v2"], active: "v1" });
      return {
        name: "",
        method: "POST",
        path: `/agents/${a}/canary`,
        body: { version: "v2", percent: 10, reason: "try" },
      };
    },
  },
  {
    name: "raise-canary",
    need: "releaser",
    status: 200,
    changes: true,
    setup: async (a) => {
      await setupAgent(a, { versions: ["v1", "v2"], active: "v1", canary: { version: "v2", percent: 10 } });
      return {
        name: "",
        method: "POST",
        path: `/agents/${a}/canary`,
        body: { version: "v2", percent: 20, reason: "more" },
      };
    },
  },
  {
    name: "swap-canary",
    need: "releaser",
    status: 200,
    changes: true,
    setup: async (a) => {
      await setupAgent(a, { versions: ["v1", "v2", "v3"], active: "v1", canary: { version: "v2", percent: 50 } });
      return {
        name: "",
        method: "POST",
        path: `/agents/${a}/canary`,
        body: { version: "v3", percent: 5, reason: "a lower percent of another version is a new canary" },
      };
    },
  },
  {
    name: "lower-canary",
    need: "operator",
    status: 200,
    changes: true,
    setup: async (a) => {
      await setupAgent(a, { versions: ["v1", "v2"], active: "v1", canary: { version: "v2", percent: 10 } });
      return {
        name: "",
        method: "POST",
        path: `/agents/${a}/canary`,
        body: { version: "v2", percent: 5, reason: "less" },
      };
    },
  },
  {
    name: "abort-canary",
    need: "operator",
    status: 200,
    changes: true,
    setup: async (a) => {
      await setupAgent(a, { versions: ["v1", "v2"], active: "v1", canary: { version: "v2", percent: 10 } });
      return { name: "", method: "DELETE", path: `/agents/${a}/canary?reason=stop` };
    },
  },
  {
    name: "rollback-fallback",
    need: "operator",
    status: 200,
    changes: true,
    setup: async (a) => {
      // v1 never served: the fallback is still the operator's to roll back to.
      await setupAgent(a, { versions: ["v1", "v2"], active: "v2", fallbacks: { v2: "v1" } });
      return { name: "", method: "POST", path: `/agents/${a}/rollback`, body: { reason: "bad" } };
    },
  },
  {
    name: "rollback-off",
    need: "operator",
    status: 200,
    changes: true,
    setup: async (a) => {
      await setupAgent(a, { versions: ["v1"], active: "v1" });
      return { name: "", method: "POST", path: `/agents/${a}/rollback`, body: { reason: "bad", to: "off" } };
    },
  },
  {
    name: "rollback-served",
    need: "operator",
    status: 200,
    changes: true,
    setup: async (a) => {
      await setupAgent(a, { versions: ["v1", "v2"], active: "v1" });
      await ok(call("admin", "POST", `/agents/${a}/promote`, { version: "v2", reason: "setup" }));
      return { name: "", method: "POST", path: `/agents/${a}/rollback`, body: { reason: "bad", to: "v1" } };
    },
  },
  {
    name: "rollback-never-served",
    need: "releaser",
    status: 200,
    changes: true,
    setup: async (a) => {
      await setupAgent(a, { versions: ["v1", "v2", "v3"], active: "v1" });
      return { name: "", method: "POST", path: `/agents/${a}/rollback`, body: { reason: "bad", to: "v3" } };
    },
  },
  {
    name: "add-override",
    need: "operator",
    status: 201,
    changes: true,
    setup: async (a) => {
      await setupAgent(a, { versions: ["v1"], active: "v1" });
      return {
        name: "",
        method: "POST",
        path: "/overrides",
        body: { scope: { agent: a }, set: { mode: "draft-only" }, reason: "incident" },
      };
    },
  },
  {
    name: "delete-override",
    need: "releaser",
    status: 200,
    changes: true,
    setup: async (a) => {
      await setupAgent(a, { versions: ["v1"], active: "v1" });
      const { id } = await ok<{ id: string }>(
        call("operator", "POST", "/overrides", { scope: { agent: a }, set: { mode: "off" }, reason: "incident" }),
        201,
      );
      return { name: "", method: "DELETE", path: `/overrides/${id}?reason=over` };
    },
  },
  {
    name: "signal",
    need: "operator",
    status: 202,
    changes: false,
    setup: async (a) => {
      await setupAgent(a, { versions: ["v1"], active: "v1" });
      return {
        name: "",
        method: "POST",
        path: "/signals",
        body: { agent: a, release: "v1", failureClass: "complaint", reason: "users complain" },
      };
    },
  },
];

const raw = (route: Route, authorization?: string) =>
  SELF.fetch(`https://gw/admin/v1${route.path}`, {
    method: route.method,
    headers: {
      ...(authorization === undefined ? {} : { authorization }),
      ...(route.body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(route.body === undefined ? {} : { body: JSON.stringify(route.body) }),
  });

const BAD_CREDENTIALS: Array<[string, string | undefined]> = [
  ["no authorization header", undefined],
  ["an empty header", ""],
  ["the scheme alone", "Bearer"],
  ["another scheme", "Basic YWRtaW46YWRtaW4="],
  ["the token without a scheme", "admin-token"],
  ["two tokens", "Bearer admin-token admin-token"],
  ["a wrong token", "Bearer not-a-token"],
  ["a token with a suffix", "Bearer admin-token2"],
];

beforeAll(async () => {
  await setupAgent("reads", { versions: ["v1", "v2"], active: "v1" });
});

describe("401 without a valid token", () => {
  it("on every route, with every kind of bad credential, as JSON with a challenge", async () => {
    let setupNumber = 0;
    const routes: Route[] = [...READS];
    for (const move of MOVES) routes.push({ ...(await move.setup(`unauth-${setupNumber++}`)), name: move.name });
    // What ADMIN_TOKENS stores is not a credential.
    const hash: [string, string] = ["the stored hash of a token", `Bearer ${await sha256Hex("admin-token")}`];
    const before = await everything();
    for (const route of routes) {
      for (const [what, header] of [...BAD_CREDENTIALS, hash]) {
        const res = await raw(route, header);
        const label = `${route.method} ${route.path} with ${what}`;
        expect(res.status, label).toBe(401);
        expect(res.headers.get("www-authenticate"), label).toMatch(/^Bearer realm=/);
        expect(await res.json(), label).toEqual({
          error: { code: "unauthorized", message: expect.any(String) },
        });
      }
    }
    expect(await everything()).toEqual(before);
  });
});

describe("reads: every role, viewer and up", () => {
  it.each(READS.flatMap((r) => ROLES.map((role) => [`${r.method} ${r.path}`, role, r] as const)))(
    "%s as %s → 200, runtime 403",
    async (_label, role, route) => {
      const res = await call(role, route.method, route.path);
      if (role === "runtime") {
        // A runtime token evaluates lanes and spends provider secrets; it never reads the admin API (§4.1).
        const error = await failed(res, 403, "forbidden");
        expect(error.details).toEqual({ requiredRole: "viewer" });
        return;
      }
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      await res.body?.cancel();
    },
  );
});

describe("mutations: allowed from the role each needs, 403 below it", () => {
  const cells = MOVES.flatMap((m) => ROLES.map((role) => [m.name, role, m] as const));
  it.each(cells)("%s as %s", async (name, role, move) => {
    const route = await move.setup(`${name}-${role}`);
    const before = await everything();
    const res = call(role as TestRole, route.method, route.path, route.body);
    if (atLeast(role, move.need)) {
      const body = await ok<{ revision?: number; changed?: boolean }>(res, move.status);
      if (move.changes) {
        expect(body.changed).toBe(true);
        expect(body.revision).toBe((before.state as { revision: number }).revision + 1);
        expect((await state()).revision).toBe(body.revision);
      }
    } else {
      const error = await failed(res, 403, "forbidden");
      // A runtime token is stopped at the admin door (needs viewer), a viewer at the mutation door (needs
      // operator); others by the move's own rule.
      const door = role === "runtime" ? "viewer" : role === "viewer" ? "operator" : move.need;
      expect(error.details).toEqual({ requiredRole: door });
      expect(await everything()).toEqual(before);
    }
  });
});
