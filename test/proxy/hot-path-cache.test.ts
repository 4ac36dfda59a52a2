/**
 * What the hot path computes once and looks up afterwards (docs/performance.md, issue 19): the headers the
 * gateway adds, the served part of the request log line, and the release's default params. Each cached value
 * belongs to one served lane of one release (and, for the log, one revision): a flip, a lane change or a new
 * revision must show on the very next request, and no request may change what the next one is given.
 */
import { describe, expect, it } from "vitest";
import { requestLine } from "../../src/gateway/request-log";
import { addedHeaders, upstreamHeaders } from "../../src/proxy/headers";
import { applyModel, type ModelLane } from "../../src/proxy/models/request-common";
import type { Decision } from "../../src/routing/decide";
import { mergeLane } from "../../src/routing/lane";
import { serve } from "../../src/routing/served";
import { manifest } from "../helpers/fixtures";

const DIGEST_A = `sha256:${"a".repeat(64)}`;
const DIGEST_B = `sha256:${"b".repeat(64)}`;

function decision(version: string, digest: string, revision: number, extra: Partial<Decision> = {}): Decision {
  const m = manifest("cache-bot", version, "http://upstream.test");
  const served = serve(m, digest, mergeLane([], 0));
  return {
    agent: "cache-bot",
    kind: "stable",
    via: "stable",
    release: { version, digest, manifest: m } as unknown as Decision["release"],
    served,
    bucket: null,
    canary: null,
    pinIgnored: null,
    revision,
    ...extra,
  };
}
const context = (h: string) => JSON.parse(atob(h.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;

describe("the added headers", () => {
  it("are built once per served lane and looked up after", () => {
    const d = decision("v1", DIGEST_A, 1);
    expect(addedHeaders(d)).toBe(addedHeaders({ ...d, bucket: 5 }));
    expect(Object.fromEntries(addedHeaders(d))).toMatchObject({
      "x-agent-release": "v1",
      "x-agent-digest": DIGEST_A,
      "x-agent-lane": "autonomous",
      "x-agent-workflow": "default",
    });
  });

  it("follow a flip on the next request: another release's served lane has its own headers and context", () => {
    const before = decision("v1", DIGEST_A, 1);
    const after = decision("v2", DIGEST_B, 2);
    addedHeaders(before);
    const h = new Headers();
    const out = upstreamHeaders(h, after);
    expect(out.get("x-agent-release")).toBe("v2");
    expect(out.get("x-agent-digest")).toBe(DIGEST_B);
    expect(context(out.get("x-agent-context") as string)).toMatchObject({ release: "v2", digest: DIGEST_B });
    // …and the first release's headers are still its own.
    expect(upstreamHeaders(h, before).get("x-agent-release")).toBe("v1");
  });

  it("follow the lane: the same served lane, rolled back to off, is announced as off", () => {
    const d = decision("v1", DIGEST_A, 1);
    expect(Object.fromEntries(addedHeaders(d))["x-agent-lane"]).toBe("autonomous");
    const off = { ...d, kind: "off" as const, via: "rolled-back-off" as const };
    expect(Object.fromEntries(addedHeaders(off))["x-agent-lane"]).toBe("off");
    expect(Object.fromEntries(addedHeaders(d))["x-agent-lane"]).toBe("autonomous");
  });

  it("still replace every spelling a client sent of the gateway's own headers", () => {
    const d = decision("v1", DIGEST_A, 1);
    const sent = new Headers({ "x-agent-lane": "autonomous", x_agent_tools: "all", "X-Agent-Context": "forged" });
    sent.set("x-agent-key", "k");
    const out = upstreamHeaders(sent, d);
    expect(out.get("x_agent_tools")).toBeNull();
    expect(out.get("x-agent-context")).toBe(d.served.headers.context);
    expect(out.get("x-agent-tools")).toBe(d.served.headers.tools);
    expect(out.get("x-agent-key")).toBe("k");
  });
});

describe("the request log line", () => {
  const entry = (d: Decision | null, extra = {}) => ({
    route: "agent" as const,
    method: "POST",
    agent: "cache-bot",
    status: 200,
    upstreamStatus: 200,
    failureClass: null,
    durationMs: 3,
    decision: d,
    stale: false,
    ...extra,
  });

  it("carries every field an incident needs, as JSON", () => {
    const d = decision("v1", DIGEST_A, 7, { bucket: 42 });
    expect(JSON.parse(requestLine(entry(d)))).toEqual({
      msg: "request",
      route: "agent",
      method: "POST",
      agent: "cache-bot",
      release: "v1",
      digest: DIGEST_A,
      lane: "autonomous",
      workflow: "default",
      revision: 7,
      decision: "stable; bucket=42",
      status: 200,
      upstreamStatus: 200,
      failureClass: null,
      durationMs: 3,
    });
    expect(JSON.parse(requestLine(entry(null, { upstreamStatus: null, status: 404, error: "no" })))).toMatchObject({
      agent: "cache-bot",
      release: null,
      digest: null,
      lane: null,
      decision: null,
      revision: null,
      upstreamStatus: null,
      error: "no",
    });
  });

  it("is per revision and per lane: the same served lane under a new revision logs the new revision", () => {
    const d = decision("v1", DIGEST_A, 7);
    expect(JSON.parse(requestLine(entry(d))).revision).toBe(7);
    expect(JSON.parse(requestLine(entry({ ...d, revision: 8 }))).revision).toBe(8);
    const off = { ...d, revision: 8, kind: "off" as const, via: "rolled-back-off" as const };
    expect(JSON.parse(requestLine(entry(off)))).toMatchObject({ lane: "off", decision: "off; via=rolled-back-off" });
  });

  it("stays one JSON line whatever a client or upstream put in the strings", () => {
    const d = decision("v1", DIGEST_A, 1);
    const hostile = '"}\n{"msg":"request","forged":true';
    const line = requestLine(entry(d, { method: hostile, failureClass: hostile, error: hostile }));
    expect(line.includes("\n")).toBe(false);
    expect(JSON.parse(line)).toMatchObject({ method: hostile, failureClass: hostile, error: hostile });
  });
});

describe("the release's default params", () => {
  const lane = (params: Record<string, unknown>): ModelLane => ({
    model: "m",
    params,
    system: "s",
    policy: { allowed: new Set(), approval: new Set() },
  });

  it("are copied into the request, so no request can change them for the next one", () => {
    const l = lane({ temperature: 0.2, stop: ["\n"], response_format: { type: "json_object" } });
    const first: Record<string, unknown> = {};
    applyModel(first, l);
    expect(first).toEqual({ temperature: 0.2, stop: ["\n"], response_format: { type: "json_object" }, model: "m" });
    (first.stop as string[]).push("changed");
    (first.response_format as Record<string, unknown>).type = "changed";
    const second: Record<string, unknown> = { temperature: null };
    applyModel(second, l);
    expect(second).toEqual({ temperature: 0.2, stop: ["\n"], response_format: { type: "json_object" }, model: "m" });
  });
});
