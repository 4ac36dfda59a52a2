/**
 * The guard's admin routes: `POST /admin/v1/signals` (operator; counted like any failure, so it can tip a
 * trigger) and `GET /admin/v1/agents/{agent}/health` (viewer; per live release, counts, rates and states).
 */
import { expect, inject, it } from "vitest";
import type { GuardHealth } from "../../src/state/guard-health";
import { call, ok, state } from "../helpers/admin";
import { batch, guardClock, guardStub, liveAgent } from "./helpers";

const upstream = inject("upstream");

const complaints = {
  failureClass: "complaint",
  maxRate: 0.1,
  minRequests: 10,
  windowSeconds: 300,
  action: { set: { disableTools: ["issue_refund"] } },
};

it("counts an operator's signal like any failure, and a trigger acts on it", async () => {
  const agent = "g-signal";
  await liveAgent(agent, upstream, [complaints]);
  await guardClock(agent, Date.now());
  await guardStub(agent).record(agent, [batch("v1", 20)]);
  const signal = { agent, release: "v1", failureClass: "complaint", count: 3, reason: "three customers complained" };

  await ok(call("viewer", "POST", "/signals", signal), 403);
  await ok(call("operator", "POST", "/signals", { ...signal, release: "v9" }), 404);
  await ok(call("operator", "POST", "/signals", { ...signal, agent: "nobody" }), 404);
  await ok(call("operator", "POST", "/signals", { ...signal, count: 0 }), 400);
  await ok(call("operator", "POST", "/signals", { ...signal, severity: "high" }), 400);
  await ok(call("operator", "POST", "/signals", { ...signal, reason: " " }), 400);

  const out = await ok<{ counted: number }>(call("operator", "POST", "/signals", signal), 202);
  expect(out.counted).toBe(3);
  // 3 complaints in 20 requests: 15 % > 10 %, so the override is laid.
  const o = (await state()).overrides.find((x) => x.actor === "guard");
  expect(o).toMatchObject({ scope: { agent, release: "v1" }, set: { disableTools: ["issue_refund"] } });

  const health = await ok<GuardHealth>(call("viewer", "GET", `/agents/${agent}/health`));
  expect(health.signals[0]).toMatchObject({
    actor: "operator@test",
    release: "v1",
    failureClass: "complaint",
    count: 3,
    reason: "three customers complained",
  });
  expect(health.releases[0]!.triggers[0]).toMatchObject({ state: "acted", overrideId: o!.id });
});

it("answers health per live release: requests, failures and rates over each trigger's window", async () => {
  const agent = "g-health";
  await liveAgent(agent, upstream, [{ ...complaints, windowSeconds: 60, minRequests: 1000 }], { canary: true });
  await guardClock(agent, Date.now());
  await guardStub(agent).record(agent, [
    batch("v1", 400, { upstream_error: 4 }),
    batch("v2", 100, { complaint: 5, upstream_timeout: 1 }),
  ]);
  await ok(call(null, "GET", `/agents/${agent}/health`), 401);
  await ok(call("viewer", "GET", "/agents/nobody/health"), 404);
  const h = await ok<GuardHealth>(call("viewer", "GET", `/agents/${agent}/health`));
  expect(h.releases.map((r) => [r.version, r.role])).toEqual([
    ["v2", "canary"],
    ["v1", "active"],
  ]);
  const t = h.releases[0]!.triggers[0]!;
  expect(t).toMatchObject({
    index: 0,
    requests: 100,
    failures: { complaint: 5, upstream_timeout: 1 },
    rates: { complaint: 0.05, upstream_timeout: 0.01 },
    rate: 0.05,
    state: "insufficient",
    actedAt: null,
    window: { seconds: 60 },
  });
  expect(Date.parse(t.window.to) - Date.parse(t.window.from)).toBe(60_000);
  expect(h.releases[1]!.triggers[0]).toMatchObject({ requests: 400, rates: { upstream_error: 0.01 } });

  const doc = await ok<{ paths: Record<string, unknown> }>(call("viewer", "GET", "/openapi.json"));
  expect(Object.keys(doc.paths)).toEqual(
    expect.arrayContaining(["/admin/v1/signals", "/admin/v1/agents/{agent}/health"]),
  );
});
