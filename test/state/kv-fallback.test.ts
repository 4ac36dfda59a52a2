/** With a control plane that holds nothing, the isolate reads KV and says so in /healthz. */
import { SELF } from "cloudflare:test";
import { expect, inject, it } from "vitest";
import { manifest, snapshot } from "../helpers/fixtures";
import { freshIsolate } from "../helpers/publish";

it("falls back to KV and reports it", async () => {
  const upstream = inject("upstream");
  await freshIsolate(
    await snapshot(7, { bot: { releases: [manifest("bot", "v1", upstream)], pointers: { active: "v1" } } }),
  );
  const res = await SELF.fetch("https://gw/agents/bot/x");
  expect(res.headers.get("x-agent-release")).toBe("v1");
  await res.body?.cancel();
  const health = (await (await SELF.fetch("https://gw/healthz")).json()) as Record<string, unknown>;
  expect(health).toMatchObject({
    ok: true,
    revision: 7,
    source: "kv",
    degraded: expect.stringContaining("control plane holds no state"),
  });
});
