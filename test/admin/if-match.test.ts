/**
 * ETag / If-Match (CONTRACT §4.2): GET /state and every mutation answer with `ETag: "<revision>"`; a mutation
 * with a stale `If-Match` gets 412 and changes nothing (state and audit identical), one with the current
 * revision is applied. Of two mutations sent at once with the same current revision, exactly one wins.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { call, everything, failed, ok, setupAgent } from "../helpers/admin";

const AGENT = "etag-bot";

async function currentEtag(): Promise<string> {
  const res = await call("viewer", "GET", "/state");
  const body = (await res.json()) as { revision: number };
  const etag = res.headers.get("etag");
  expect(etag).toBe(`"${body.revision}"`);
  return etag!;
}

const revisionOf = (etag: string) => Number(etag.replaceAll('"', ""));

interface Mutation {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  status: number;
}

/** One of each mutation kind, each applicable to the agent as set up in beforeAll. */
const MUTATIONS: Mutation[] = [
  {
    name: "canary",
    method: "POST",
    path: `/agents/${AGENT}/canary`,
    body: { version: "v2", percent: 30, reason: "r" },
    status: 200,
  },
  { name: "abort canary", method: "DELETE", path: `/agents/${AGENT}/canary?reason=r`, status: 200 },
  {
    name: "override",
    method: "POST",
    path: "/overrides",
    body: { scope: { agent: AGENT }, set: { mode: "draft-only" }, reason: "r" },
    status: 201,
  },
  {
    name: "promote",
    method: "POST",
    path: `/agents/${AGENT}/promote`,
    body: { version: "v3", reason: "r" },
    status: 200,
  },
  { name: "rollback", method: "POST", path: `/agents/${AGENT}/rollback`, body: { reason: "r", to: "v1" }, status: 200 },
];

beforeAll(async () => {
  await setupAgent(AGENT, { versions: ["v1", "v2", "v3"], active: "v1", canary: { version: "v2", percent: 10 } });
});

describe("If-Match", () => {
  it.each(MUTATIONS)(
    "$name with a stale If-Match → 412, nothing changed; with the current one → applied",
    async (m) => {
      const etag = await currentEtag();
      const revision = revisionOf(etag);
      const before = await everything();
      for (const stale of [`"${revision - 1}"`, `"${revision + 1}"`, `W/"${revision - 1}"`]) {
        const error = await failed(
          call("admin", m.method, m.path, m.body, { "if-match": stale }),
          412,
          "revision_mismatch",
        );
        expect(error.details).toEqual({ revision });
      }
      expect(await everything()).toEqual(before);

      const res = await call("admin", m.method, m.path, m.body, { "if-match": etag });
      const body = await ok<{ revision: number; changed: boolean }>(res, m.status);
      expect(body.changed).toBe(true);
      expect(body.revision).toBe(revision + 1);
      expect(res.headers.get("etag")).toBe(`"${revision + 1}"`);
      expect(await currentEtag()).toBe(`"${revision + 1}"`);
    },
  );

  it("a PUT of a release with a stale If-Match stores nothing", async () => {
    const { manifest } = await ok<{ manifest: Record<string, unknown> }>(
      call("viewer", "GET", `/agents/${AGENT}/releases/v1`),
    );
    const v9 = { ...manifest, version: "v9" };
    const revision = revisionOf(await currentEtag());
    const before = await everything();
    await failed(call("admin", "PUT", `/agents/${AGENT}/releases/v9`, v9, { "if-match": `"${revision - 1}"` }), 412);
    expect(await everything()).toEqual(before);
    await failed(call("viewer", "GET", `/agents/${AGENT}/releases/v9`), 404, "unknown_release");
    await ok(call("admin", "PUT", `/agents/${AGENT}/releases/v9`, v9, { "if-match": `"${revision}"` }), 201);
  });

  it("a malformed If-Match is a 400 and changes nothing", async () => {
    const before = await everything();
    for (const bad of ["abc", "-1", '"1", "2"']) {
      await failed(call("admin", "POST", `/agents/${AGENT}/rollback`, { reason: "r" }, { "if-match": bad }), 400);
    }
    expect(await everything()).toEqual(before);
  });

  it("of two mutations sent at once with the same current revision, exactly one is applied", async () => {
    const etag = await currentEtag();
    const before = await everything();
    const [a, b] = await Promise.all([
      call(
        "admin",
        "POST",
        `/agents/${AGENT}/canary`,
        { version: "v2", percent: 40, reason: "a" },
        { "if-match": etag },
      ),
      call(
        "admin",
        "POST",
        `/agents/${AGENT}/canary`,
        { version: "v2", percent: 60, reason: "b" },
        { "if-match": etag },
      ),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([200, 412]);
    const winner = a.status === 200 ? "a" : "b";
    await Promise.all([a.body?.cancel(), b.body?.cancel()]);
    const after = await everything();
    expect(after.audit).toHaveLength(before.audit.length + 1);
    expect(after.audit[0]!.reason).toBe(winner);
    expect(after.audit[0]!.revision).toBe(revisionOf(etag) + 1);
  });

  it("without If-Match a mutation is applied whatever the revision", async () => {
    const revision = revisionOf(await currentEtag());
    const body = await ok<{ revision: number }>(
      call("admin", "POST", `/agents/${AGENT}/canary`, { version: "v2", percent: 5, reason: "r" }),
    );
    expect(body.revision).toBe(revision + 1);
  });
});
