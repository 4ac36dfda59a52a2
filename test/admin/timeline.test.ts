/**
 * `GET /admin/v1/agents/{agent}/timeline` through the real Worker, control plane and guard: audit entries
 * (the agent's and fleet-wide ones) and failure-rate changes merged oldest first, each with its diff; paging by
 * cursor; bad input refused with 400; unknown agents 404; viewers may read it.
 */
import { expect, inject, it } from "vitest";
import type { TimelineAnswer } from "../../src/admin/timeline-route";
import { guardClock, guardStub, liveAgent } from "../guard/helpers";
import { call, failed, ok, setupAgent } from "../helpers/admin";

const upstream = inject("upstream");

const read = (agent: string, query = "") =>
  ok<TimelineAnswer>(call("viewer", "GET", `/agents/${agent}/timeline${query}`));

it("lists the agent's changes oldest first with field-level diffs, fleet-wide overrides included", async () => {
  const agent = "tl-order";
  const since = new Date(Date.now() - 1000).toISOString();
  await setupAgent(agent, { versions: ["v1", "v2"], active: "v1" });
  await setupAgent("tl-other", { versions: ["v1"], active: "v1" });
  await ok(call("releaser", "POST", `/agents/${agent}/canary`, { version: "v2", percent: 5, reason: "try v2" }));
  const panic = { scope: { agent: "*" }, set: { mode: "draft-only" }, reason: "panic" };
  await ok(call("operator", "POST", "/overrides", panic), 201);
  await ok(call("operator", "POST", `/agents/${agent}/rollback`, { reason: "bad answers" }));

  const t = await read(agent, `?since=${encodeURIComponent(since)}`);
  expect(t.items.map((i) => [i.action, i.kind, i.actor])).toEqual([
    ["release.put", "change", "admin@test"],
    ["release.put", "change", "admin@test"],
    ["promote", "change", "admin@test"],
    ["canary.set", "change", "releaser@test"],
    ["override.add", "change", "operator@test"],
    ["rollback", "change", "operator@test"],
  ]);
  const times = t.items.map((i) => Date.parse(i.at));
  expect([...times].sort((a, b) => a - b)).toEqual(times);
  expect(t.items[3]!.changes).toEqual([
    { path: "canary.percent", from: null, to: 5 },
    { path: "canary.version", from: null, to: "v2" },
  ]);
  expect(t.items[4]!.changes).toContainEqual({ path: "set.mode", from: null, to: "draft-only" });
  expect(t.items[5]!.changes).toEqual([
    { path: "active", from: "v1", to: "off" },
    { path: "canary.percent", from: 5, to: null },
    { path: "canary.version", from: "v2", to: null },
    { path: "offFrom", from: null, to: "v1" },
  ]);
  expect(t.items[5]).toMatchObject({ reason: "bad answers", source: "audit" });
  expect(t.items.every((i) => typeof i.seq === "number" && typeof i.revision === "number")).toBe(true);
  expect(t.more).toBe(false);

  // `since` cuts the older part off, and another agent's timeline holds only its own and the fleet-wide entries.
  const later = await read(agent, `?since=${Date.parse(t.items[4]!.at)}`);
  expect(later.items.map((i) => i.action)).toEqual(["override.add", "rollback"]);
  const other = await read("tl-other", `?since=${encodeURIComponent(since)}`);
  expect(other.items.map((i) => i.action)).toEqual(["release.put", "promote", "override.add"]);
});

it("pages by cursor: each item once, in order, and an empty page keeps its cursor", async () => {
  const agent = "tl-pages";
  const since = `since=${Date.now()}`;
  await setupAgent(agent, { versions: ["v1", "v2"], active: "v1" });
  for (let p = 1; p <= 7; p++) {
    await ok(call("releaser", "POST", `/agents/${agent}/canary`, { version: "v2", percent: p, reason: `step ${p}` }));
  }
  const all = await read(agent, `?${since}&limit=500`);
  expect(all.items).toHaveLength(10);
  const seen: string[] = [];
  let query = `?${since}&limit=3`;
  for (let i = 0; i < 10; i++) {
    const page = await read(agent, query);
    expect(page.items.length).toBeLessThanOrEqual(3);
    seen.push(...page.items.map((x) => x.id));
    query = `?${since}&limit=3&cursor=${encodeURIComponent(page.next!)}`;
    if (!page.more) break;
  }
  expect(seen).toEqual(all.items.map((x) => x.id));
  const tail = await read(agent, query);
  expect(tail.items).toEqual([]);
  expect(tail.more).toBe(false);

  // What happens later shows up on the page after the cursor.
  await ok(call("operator", "DELETE", `/agents/${agent}/canary`, { reason: "enough" }));
  const next = await read(agent, query);
  expect(next.items.map((x) => x.action)).toEqual(["canary.abort"]);
});

it("shows a failure rate crossing its trigger's threshold as a change, with the rates as its diff", async () => {
  const agent = "tl-rates";
  // A threshold no trigger acts on before the test looks (minRequests far above what is sent).
  const trigger = {
    failureClass: "upstream_error",
    maxRate: 0.1,
    minRequests: 10,
    windowSeconds: 10,
    action: "rollback" as const,
  };
  await liveAgent(agent, upstream, [{ ...trigger, minRequests: 100_000 }]);
  // On a step boundary: the second that starts a 10 s step is the edge case of the rate steps.
  const clock = await guardClock(agent, Math.floor(Date.now() / 10_000) * 10_000);
  await guardStub(agent).record(agent, [
    { id: "a", releases: { v1: { served: 40, failures: { upstream_error: 20 } } } },
  ]);
  // Rates are reported per completed 10 s step: let the guard's clock pass the step.
  clock.now += 20_000;
  const t = await read(agent);
  const rate = t.items.filter((i) => i.kind === "rate");
  expect(rate.length).toBeGreaterThanOrEqual(1);
  expect(rate[0]).toMatchObject({ action: "rate.rose", release: "v1", source: "rates" });
  expect(rate[0]!.changes).toEqual([{ path: "rates.upstream_error", from: null, to: 0.5 }]);
  expect(t.ratesFrom).not.toBeNull();
});

it("refuses bad input with 400 and unknown agents with 404; needs a token", async () => {
  const agent = "tl-bad";
  await setupAgent(agent, { versions: ["v1"], active: "v1" });
  for (const q of [
    "?since=yesterday",
    "?since=2026-13-45T00:00:00Z",
    "?limit=0",
    "?limit=501",
    "?limit=ten",
    "?cursor=nope",
    "?sinse=2026-12-01T00:00:00Z",
  ]) {
    const e = await failed(call("viewer", "GET", `/agents/${agent}/timeline${q}`), 400, "invalid_request");
    expect(e.details?.problems, q).toBeDefined();
  }
  await failed(call("viewer", "GET", "/agents/nobody/timeline"), 404, "unknown_agent");
  await failed(call(null, "GET", `/agents/${agent}/timeline`), 401);
  const doc = await ok<{ paths: Record<string, unknown> }>(call("viewer", "GET", "/openapi.json"));
  expect(Object.keys(doc.paths)).toContain("/admin/v1/agents/{agent}/timeline");
});
