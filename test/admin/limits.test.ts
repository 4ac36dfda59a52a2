/** The bounds at the admin API (docs/storage.md#bounds): 422 `limit_exceeded` naming the limit; nothing changes. */
import { env } from "cloudflare:test";
import { expect, inject, it } from "vitest";
import { call, everything, failed, ok } from "../helpers/admin";
import { manifest } from "../helpers/fixtures";

const upstream = inject("upstream");

it("refuses a manifest over 256 KiB with limit_exceeded, and stores nothing", async () => {
  await ok(call("releaser", "PUT", "/agents/big-bot/releases/v1", manifest("big-bot", "v1", upstream)), 201);
  const before = await everything();
  const kvBefore = (await env.STATE.list()).keys.map((k) => k.name).sort();
  const huge = manifest("big-bot", "v2", upstream, { metadata: { notes: "n".repeat(300 * 1024) } });
  const error = await failed(call("releaser", "PUT", "/agents/big-bot/releases/v2", huge), 422, "limit_exceeded");
  expect(error.details).toMatchObject({ limit: "manifest_bytes", max: 256 * 1024 });
  expect(error.message).toContain("manifest_bytes");
  expect(await everything()).toEqual(before);
  await failed(call("viewer", "GET", "/agents/big-bot/releases/v2"), 404);
  expect((await env.STATE.list()).keys.map((k) => k.name).sort()).toEqual(kvBefore);
});
