/**
 * The freshness path against the real control-plane Durable Object and real KV: a flip that KV has not
 * received (its writes are failing) still reaches the data plane within one refresh, from the control plane.
 */
import { env, SELF } from "cloudflare:test";
import { expect, inject, it } from "vitest";
import { resetIsolateForTests, snapshotCache } from "../../src/state/isolate";
import { HEAD_KEY } from "../../src/state/kv-layout";
import { call, ok } from "../helpers/admin";
import { manifest } from "../helpers/fixtures";
import { useKvWriter } from "../helpers/kv-writer";

const upstream = inject("upstream");

it("serves a flip from the control plane while KV still holds the old revision", async () => {
  resetIsolateForTests();
  await ok(call("releaser", "PUT", "/agents/flip-bot/releases/v1", manifest("flip-bot", "v1", upstream)), 201);
  await ok(call("releaser", "PUT", "/agents/flip-bot/releases/v2", manifest("flip-bot", "v2", upstream)), 201);
  await ok(call("releaser", "POST", "/agents/flip-bot/promote", { version: "v1", reason: "start" }));
  let res = await SELF.fetch("https://gw/agents/flip-bot/x");
  expect(res.headers.get("x-agent-release")).toBe("v1");
  await res.body?.cancel();

  const stub = env.CONTROL.get(env.CONTROL.idFromName("global"));
  await useKvWriter(
    {
      put: async () => {
        throw new Error("kv is down");
      },
    },
    stub,
  );
  const kvHeadBefore = await env.STATE.get(HEAD_KEY);
  const flip = await ok<{ revision: number; published: boolean }>(
    call("releaser", "POST", "/agents/flip-bot/promote", { version: "v2", reason: "flip" }),
  );
  expect(flip.published).toBe(false);

  await snapshotCache(env).refresh(); // the background refresh a request would start
  res = await SELF.fetch("https://gw/agents/flip-bot/x");
  expect(res.headers.get("x-agent-release")).toBe("v2");
  await res.body?.cancel();
  expect(snapshotCache(env).health()).toMatchObject({ revision: flip.revision, source: "control" });
  expect(await env.STATE.get(HEAD_KEY)).toBe(kvHeadBefore); // KV never saw it

  await useKvWriter(null, stub);
});
