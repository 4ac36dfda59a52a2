/**
 * OFREP with the real OpenFeature server SDK and its OFREP provider (CONTRACT §2.5), evaluated by the Worker's
 * own fetch handler: a key gets the same release as on /agents, draft-only arrives as the mode, errors give the
 * client's code default, a flip is seen on the next evaluation.
 */
import { SELF } from "cloudflare:test";
import { OFREPProvider } from "@openfeature/ofrep-provider";
import { type Client, OpenFeature } from "@openfeature/server-sdk";
import { beforeEach, describe, expect, it } from "vitest";
import { stickyBucket } from "../../src/routing/murmur3";
import { freshIsolate } from "../helpers/publish";
import { AGENT, laneState, OTHER, override, workerFetch } from "./helpers";

async function client(token: string | null): Promise<Client> {
  const domain = `ofrep-${token ?? "none"}-${Math.random()}`;
  const provider = new OFREPProvider({
    baseUrl: "https://gw",
    fetchImplementation: workerFetch,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
  await OpenFeature.setProviderAndWait(domain, provider);
  return OpenFeature.getClient(domain);
}

describe("the OpenFeature server SDK with the OFREP provider", () => {
  beforeEach(async () => freshIsolate(await laneState(1)));

  it("a canary key gets the same release through OFREP as through /agents, with reason SPLIT", async () => {
    const of = await client("runtime-token");
    // Find keys on both sides of the canary's threshold (10% → buckets under 1000).
    const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const inside = keys.filter((k) => stickyBucket(AGENT, "v2", k) < 1000);
    const outside = keys.filter((k) => stickyBucket(AGENT, "v2", k) >= 1000);
    expect(inside.length).toBeGreaterThan(0);
    expect(outside.length).toBeGreaterThan(0);
    for (const key of [...inside.slice(0, 3), ...outside.slice(0, 3)]) {
      const details = await of.getStringDetails(`${AGENT}.release`, "unknown", { targetingKey: key });
      const res = await SELF.fetch(`https://gw/agents/${AGENT}/x`, { headers: { "x-agent-key": key } });
      await res.body?.cancel();
      expect(details.value).toBe(res.headers.get("x-agent-release"));
      expect(details.value).toBe(inside.includes(key) ? "v2" : "v1");
      expect(details.reason).toBe("SPLIT");
      expect(details.variant).toBe(details.value);
      expect(details.flagMetadata).toMatchObject({ revision: 1, stale: false });
    }
  });

  it("the agent flag is the whole lane as an object; a pin is TARGETING_MATCH", async () => {
    const of = await client("runtime-token");
    const lane = await of.getObjectDetails(AGENT, {}, { targetingKey: "user-1", release: "v2" });
    expect(lane.reason).toBe("TARGETING_MATCH");
    expect(lane.variant).toBe("v2");
    expect(lane.value).toMatchObject({
      release: "v2",
      mode: "autonomous",
      tools: ["search_kb", "send_email", "issue_refund"],
      approval: ["issue_refund"],
      workflow: "default",
      model: { provider: "openai", name: "gpt-test" },
      revision: 1,
    });
    expect(String((lane.value as { decision: string }).decision)).toMatch(/^pinned/);
    // Without a canary the reason is STATIC.
    await freshIsolate(await laneState(2, 0));
    expect((await of.getStringDetails(`${AGENT}.release`, "?", { targetingKey: "user-1" })).reason).toBe("STATIC");
  });

  it("draft-only arrives as the mode, and the tool list shrinks with it; off is DISABLED with a value", async () => {
    const of = await client("runtime-token");
    expect(await of.getStringValue(`${AGENT}.mode`, "off")).toBe("autonomous");
    await freshIsolate(await laneState(2, 10, [override("ovr_d", { agent: AGENT }, { mode: "draft-only" })]));
    const mode = await of.getStringDetails(`${AGENT}.mode`, "off");
    expect([mode.value, mode.variant]).toEqual(["draft-only", "draft-only"]);
    const lane = await of.getObjectValue(AGENT, {});
    expect((lane as { tools: string[] }).tools).toEqual(["search_kb"]);
    await freshIsolate(await laneState(3, 10, [override("ovr_o", { agent: AGENT }, { mode: "off" })]));
    const off = await of.getStringDetails(`${AGENT}.mode`, "autonomous");
    expect([off.value, off.reason, off.errorCode]).toEqual(["off", "DISABLED", undefined]);
    expect(((await of.getObjectValue(AGENT, {})) as { tools: string[] }).tools).toEqual([]);
  });

  it("a flip is seen on the next evaluation of the same flag, for the same key", async () => {
    const of = await client("runtime-token");
    // A key outside the 10% canary: v1 before the flip, v2 once the canary takes everyone.
    const key = Array.from({ length: 40 }, (_, i) => `user-${i}`).find((k) => stickyBucket(AGENT, "v2", k) >= 1000);
    if (key === undefined) throw new Error("no key outside the canary");
    const before = await of.getStringDetails(`${AGENT}.release`, "?", { targetingKey: key });
    expect([before.value, before.flagMetadata.revision]).toEqual(["v1", 1]);
    await freshIsolate(await laneState(2, 100));
    const after = await of.getStringDetails(`${AGENT}.release`, "?", { targetingKey: key });
    expect([after.value, after.flagMetadata.revision]).toEqual(["v2", 2]);
  });

  it("404, 401 and 403 give the client's default, with the spec's error codes", async () => {
    const of = await client("runtime-token");
    const missing = await of.getStringDetails("nobody.mode", "draft-only");
    expect([missing.value, missing.errorCode]).toEqual(["draft-only", "FLAG_NOT_FOUND"]);
    const oddKey = await of.getStringDetails(`${AGENT}.colour`, "draft-only");
    expect([oddKey.value, oddKey.errorCode]).toEqual(["draft-only", "FLAG_NOT_FOUND"]);
    const anonymous = await client(null);
    // 401 (no token, or one that is not a Switchyard token): the client's default, with the SDK's GENERAL code
    // (the OFREP provider raises an unauthorized error, not a flag error; the body says GENERAL too).
    const denied = await anonymous.getStringDetails(`${AGENT}.mode`, "draft-only");
    expect([denied.value, denied.errorCode, denied.reason]).toEqual(["draft-only", "GENERAL", "ERROR"]);
    const wrong = await (await client("not-a-token")).getStringDetails(`${AGENT}.mode`, "draft-only");
    expect([wrong.value, wrong.errorCode, wrong.reason]).toEqual(["draft-only", "GENERAL", "ERROR"]);
    const scoped = await client("lane-token");
    expect(await scoped.getStringValue(`${AGENT}.mode`, "off")).toBe("autonomous");
    const outside = await scoped.getStringDetails(`${OTHER}.mode`, "off");
    expect([outside.value, outside.errorCode, outside.reason]).toEqual(["off", "GENERAL", "ERROR"]);
  });
});
