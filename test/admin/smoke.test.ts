import { expect, inject, it } from "vitest";
import { call, ok, state } from "../helpers/admin";
import { manifest } from "../helpers/fixtures";

const upstream = inject("upstream");

it("stores, promotes and rolls back", async () => {
  const v1 = manifest("support-bot", "v1", upstream);
  const put = await ok(call("releaser", "PUT", "/agents/support-bot/releases/v1", v1), 201);
  expect(put.digest).toMatch(/^sha256:/);
  await ok(call("releaser", "PUT", "/agents/support-bot/releases/v1", v1), 200);
  await ok(call("releaser", "POST", "/agents/support-bot/promote", { version: "v1", reason: "go" }));
  const s = await state();
  expect(s.agents["support-bot"]!.active).toBe("v1");
  await ok(call("operator", "POST", "/agents/support-bot/rollback", { reason: "bad" }));
  expect((await state()).agents["support-bot"]!.active).toBe("off");
  const audit = await ok<{ entries: Array<{ action: string }> }>(call("viewer", "GET", "/audit"));
  expect(audit.entries.map((e) => e.action)).toEqual(["rollback", "promote", "release.put"]);
  const doc = await ok<{ paths: Record<string, unknown> }>(call("viewer", "GET", "/openapi.json"));
  expect(Object.keys(doc.paths).length).toBeGreaterThan(8);
});
