/**
 * The OFREP wire (CONTRACT §2.5, open-feature/protocol v1), request by request: answer shapes, the spec's error
 * codes and statuses, token scope, and the bulk endpoint's strong ETag with 304.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { resetIsolateForTests } from "../../src/state/isolate";
import { manifest, snapshot } from "../helpers/fixtures";
import { freshIsolate } from "../helpers/publish";
import { AGENT, laneState, OTHER, ofrepRequest, override, workerFetch } from "./helpers";

type Flag = Record<string, unknown>;

describe("before any state is published", () => {
  it("answers 500 with errorDetails, single and bulk", async () => {
    resetIsolateForTests();
    const single = await ofrepRequest(`/${AGENT}`, {});
    expect(single.status).toBe(500);
    expect(await single.json()).toMatchObject({ key: AGENT, errorCode: "GENERAL", errorDetails: expect.any(String) });
    const bulk = await ofrepRequest("", {});
    expect(bulk.status).toBe(500);
    expect(await bulk.json()).toEqual({ errorDetails: expect.any(String) });
  });
});

describe("with state", () => {
  beforeAll(async () => {
    const s = await laneState(1, 10, [override("ovr_x", { agent: OTHER }, { mode: "off" })]);
    const idle = await snapshot(1, { idle: { releases: [manifest("idle", "v1", "http://u.test")], pointers: {} } });
    s.agents.idle = idle.agents.idle as (typeof s.agents)[string];
    await freshIsolate(s);
  });

  it("a single flag: key, value, reason, variant and primitive metadata", async () => {
    const res = await ofrepRequest(`/${AGENT}.mode`, { context: { targetingKey: "user-1" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const flag = (await res.json()) as Flag;
    expect(Object.keys(flag).sort()).toEqual(["key", "metadata", "reason", "value", "variant"]);
    expect(flag).toMatchObject({ key: `${AGENT}.mode`, value: "autonomous", variant: "autonomous", reason: "SPLIT" });
    const metadata = flag.metadata as Record<string, unknown>;
    expect(metadata).toEqual({ revision: 1, digest: expect.stringMatching(/^sha256:/), stale: false });
  });

  it("mode off is DISABLED, and still carries a value (nothing to run)", async () => {
    const lane = (await (await ofrepRequest(`/${OTHER}`, {})).json()) as Flag;
    expect(lane.reason).toBe("DISABLED");
    expect(lane.value).toMatchObject({ mode: "off", tools: [], approval: [], release: "v1" });
    const mode = (await (await ofrepRequest(`/${OTHER}.mode`, {})).json()) as Flag;
    expect([mode.value, mode.reason]).toEqual(["off", "DISABLED"]);
  });

  it.each([
    ["not JSON", "{context:", 400, "PARSE_ERROR"],
    ["an array", "[]", 400, "PARSE_ERROR"],
    ["a string body", '"x"', 400, "PARSE_ERROR"],
    ["a context that is not an object", { context: 5 }, 400, "INVALID_CONTEXT"],
    ["a numeric targetingKey", { context: { targetingKey: 7 } }, 400, "INVALID_CONTEXT"],
    ["an over-long targetingKey", { context: { targetingKey: "k".repeat(513) } }, 400, "INVALID_CONTEXT"],
    ["a malformed agent in context", { context: { agent: "Not An Agent" } }, 400, "INVALID_CONTEXT"],
    ["a body over 64 KiB", { context: { targetingKey: "k", pad: "x".repeat(64 * 1024) } }, 413, "PARSE_ERROR"],
  ])("%s: %i %s, on both endpoints", async (_what, body, status, code) => {
    const single = await ofrepRequest(`/${AGENT}`, body);
    expect(single.status).toBe(status);
    expect(await single.json()).toMatchObject({ key: AGENT, errorCode: code, errorDetails: expect.any(String) });
    const bulk = await ofrepRequest("", body);
    expect(bulk.status).toBe(status);
    expect(await bulk.json()).toMatchObject({ errorCode: code });
  });

  it("the 64 KiB cap: exactly 64 KiB is read; a chunked body past it is 413, read no further", async () => {
    const exact = JSON.stringify({ context: { targetingKey: "user-1" } }).padEnd(64 * 1024, " ");
    expect((await ofrepRequest(`/${AGENT}`, exact)).status).toBe(200);
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(new TextEncoder().encode(pulled === 1 ? '{"context":{"targetingKey":"' : "k".repeat(16 * 1024)));
        if (pulled > 1000) c.close();
      },
    });
    const res = await workerFetch(`https://gw/ofrep/v1/evaluate/flags/${AGENT}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer runtime-token" },
      body: endless,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ key: AGENT, errorCode: "PARSE_ERROR" });
    expect(pulled).toBeLessThan(20);
  });

  it("unknown agents and keys are 404 FLAG_NOT_FOUND; an agent without a release is 500", async () => {
    for (const key of ["nobody", "nobody.mode", `${AGENT}.colour`, `${AGENT}.mode.x`, "Upper", ".mode"]) {
      const res = await ofrepRequest(`/${key}`, {});
      expect(res.status, key).toBe(404);
      expect(await res.json()).toMatchObject({ key, errorCode: "FLAG_NOT_FOUND" });
    }
    const idle = await ofrepRequest("/idle.release", {});
    expect(idle.status).toBe(500);
    expect(await idle.json()).toMatchObject({ key: "idle.release", errorCode: "GENERAL" });
  });

  it("401 without a valid token, 403 outside the token's agents, on both endpoints", async () => {
    for (const auth of [{}, { authorization: "Bearer wrong" }, { authorization: "Basic cnVudGltZS10b2tlbg==" }]) {
      const h = { authorization: "", ...auth };
      for (const path of [`/${AGENT}`, ""]) {
        const res = await ofrepRequest(path, {}, h);
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toBe('Bearer realm="switchyard-ofrep"');
        expect(await res.json()).toEqual({ errorCode: "GENERAL", errorDetails: expect.stringContaining("token") });
      }
    }
    const scoped = { authorization: "Bearer lane-token" };
    expect((await ofrepRequest(`/${AGENT}.mode`, {}, scoped)).status).toBe(200);
    const single = await ofrepRequest(`/${OTHER}.mode`, {}, scoped);
    expect(single.status).toBe(403);
    expect(await single.json()).toEqual({
      key: `${OTHER}.mode`,
      errorCode: "GENERAL",
      errorDetails: expect.stringContaining(OTHER),
    });
    const bulk = await ofrepRequest("", { context: { agent: OTHER } }, scoped);
    expect(bulk.status).toBe(403);
    expect(await bulk.json()).toEqual({ errorCode: "GENERAL", errorDetails: expect.stringContaining(OTHER) });
    // Any role evaluates: viewer and admin tokens too.
    expect((await ofrepRequest(`/${AGENT}`, {}, { authorization: "Bearer admin-token" })).status).toBe(200);
  });

  it("bulk: every agent the token may see, three keys each, from one snapshot", async () => {
    const all = (await (await ofrepRequest("", { context: { targetingKey: "user-1" } })).json()) as { flags: Flag[] };
    expect(all.flags.map((f) => f.key)).toEqual([
      "idle",
      "idle.mode",
      "idle.release",
      AGENT,
      `${AGENT}.mode`,
      `${AGENT}.release`,
      OTHER,
      `${OTHER}.mode`,
      `${OTHER}.release`,
    ]);
    expect(all.flags[0]).toMatchObject({ errorCode: "GENERAL" });
    expect(new Set(all.flags.slice(3).map((f) => (f.metadata as { revision: number }).revision))).toEqual(new Set([1]));
    const scoped = (await (await ofrepRequest("", {}, { authorization: "Bearer lane-token" })).json()) as {
      flags: Flag[];
    };
    expect(scoped.flags.map((f) => f.key)).toEqual([AGENT, `${AGENT}.mode`, `${AGENT}.release`]);
    const one = (await (await ofrepRequest("", { context: { agent: OTHER } })).json()) as { flags: Flag[] };
    expect(one.flags.map((f) => f.key)).toEqual([OTHER, `${OTHER}.mode`, `${OTHER}.release`]);
  });

  it("bulk: a strong ETag, 304 for If-None-Match, a new tag when the answer changes", async () => {
    const first = await ofrepRequest("", { context: { targetingKey: "user-1" } });
    const etag = first.headers.get("etag") as string;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    await first.text();
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
      const again = await ofrepRequest("", { context: { targetingKey: "user-1" } }, { "if-none-match": inm });
      expect(again.status, inm).toBe(304);
      expect(again.headers.get("etag")).toBe(etag);
      expect(await again.text()).toBe("");
    }
    // Another key, another scope, or another state: another answer, another tag.
    const other = await ofrepRequest("", { context: { targetingKey: "user-2" } }, { "if-none-match": etag });
    const scoped = await ofrepRequest(
      "",
      { context: { targetingKey: "user-1" } },
      { authorization: "Bearer lane-token", "if-none-match": etag },
    );
    expect([other.status, scoped.status]).toEqual([200, 200]);
    await freshIsolate(await laneState(2, 10));
    const changed = await ofrepRequest("", { context: { targetingKey: "user-1" } }, { "if-none-match": etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
  });
});
