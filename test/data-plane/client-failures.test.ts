/**
 * Failures the client causes are not the release's (CONTRACT §2.2.1; docs/threat-model.md C1–C2): the upstream
 * timeout starts once the request body has been sent whole, so an upload slower than `timeoutMs` is served, not
 * counted `upstream_timeout`; an upload that breaks off is a 400 the guard never counts. Through the real Worker
 * to the real echoing upstream, observed as an operator does (GET /admin/v1/agents/{a}/health).
 */
import { SELF } from "cloudflare:test";
import { expect, inject, it } from "vitest";
import { HttpError } from "../../src/errors";
import { forward, thrownFailure, UPLOAD_READ_WHOLE_MAX } from "../../src/proxy/forward";
import { isolateCounter, resetCounterForTests } from "../../src/state/counter";
import type { GuardHealth } from "../../src/state/guard-health";
import { resetIsolateForTests } from "../../src/state/isolate";
import { call, ok } from "../helpers/admin";
import { manifest } from "../helpers/fixtures";

const upstream = inject("upstream");
const AGENT = "upload-bot";
const trigger = (failureClass: string) => ({
  failureClass,
  maxRate: 0.5,
  minRequests: 1000,
  windowSeconds: 300,
  action: "rollback",
});

async function counts(): Promise<{ requests: number; failures: Record<string, number> }[]> {
  await isolateCounter()?.flush();
  const health = await ok<GuardHealth>(call("viewer", "GET", `/agents/${AGENT}/health`));
  return health.releases[0]!.triggers.map((t) => ({ requests: t.requests, failures: t.failures }));
}

/** A body that arrives in `pieces` chunks `gapMs` apart, or breaks off after the first when `fail`. */
function trickle(pieces: number, gapMs: number, fail = false): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (sent > 0) await new Promise((r) => setTimeout(r, gapMs));
      if (fail && sent === 1) return c.error(new Error("client went away mid-upload"));
      if (sent === pieces) return c.close();
      c.enqueue(new TextEncoder().encode(`piece ${sent++};`));
    },
  });
}

it("an upload slower than timeoutMs is served, and nothing is counted against the release", async () => {
  const m = manifest(AGENT, "v1", upstream); // workflow default: timeoutMs 1500
  const rollout = { ...m.rollout, triggers: [trigger("upstream_timeout"), trigger("upstream_error")] };
  await ok(call("releaser", "PUT", `/agents/${AGENT}/releases/v1`, { ...m, rollout }), 201);
  await ok(call("releaser", "POST", `/agents/${AGENT}/promote`, { version: "v1", reason: "test" }));
  resetIsolateForTests();
  resetCounterForTests();

  const started = Date.now();
  const res = await SELF.fetch(`https://gw/agents/${AGENT}/echo`, {
    method: "POST",
    body: trickle(5, 500),
    duplex: "half",
  } as RequestInit);
  expect(Date.now() - started).toBeGreaterThan(1500);
  expect(res.status).toBe(200);
  expect(((await res.json()) as { body: string }).body).toBe("piece 0;piece 1;piece 2;piece 3;piece 4;");
  const [timeouts, errors] = await counts();
  expect(timeouts).toEqual({ requests: 1, failures: {} });
  expect(errors?.failures).toEqual({});
});

it("an upload that breaks off is the client's: forward() answers 400 upload_incomplete, not a failure class", async () => {
  // Through SELF a client stream's error reaches the Worker as a clean end, so the forwarding is driven directly,
  // in workerd, with a body whose read fails, as a dropped client connection makes it fail in production.
  const err = await forward(`${upstream}/agent/x/echo`, { method: "POST", body: trickle(5, 50, true) }, 1500).catch(
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpError);
  expect((err as HttpError).status).toBe(400);
  expect((err as HttpError).code).toBe("upload_incomplete");
  expect(thrownFailure(err)).toBeNull();
  // A body shorter than its declared length is the client's too.
  const short = new Response("abc").body as ReadableStream<Uint8Array>;
  const headers = { "content-length": "10" };
  const err2 = await forward(`${upstream}/agent/x/echo`, { method: "POST", body: short, headers }, 1500).catch(
    (e: unknown) => e,
  );
  expect((err2 as HttpError).code).toBe("upload_incomplete");
  // Both ways an upload travels: a small declared one is read whole first (UPLOAD_READ_WHOLE_MAX), a larger one
  // streams; a read that fails is the client's on either.
  for (const length of [String(UPLOAD_READ_WHOLE_MAX), String(UPLOAD_READ_WHOLE_MAX + 1)]) {
    const init = { method: "POST", body: trickle(5, 20, true), headers: { "content-length": length } };
    const err3 = await forward(`${upstream}/agent/x/echo`, init, 1500).catch((e: unknown) => e);
    expect((err3 as HttpError).code, `content-length ${length}`).toBe("upload_incomplete");
  }
});

it("a declared upload arrives whole, with its length, both when read whole first and when streamed", async () => {
  for (const n of [40, UPLOAD_READ_WHOLE_MAX + 10]) {
    const text = "x".repeat(n);
    const body = new Response(text).body as ReadableStream<Uint8Array>;
    const res = await forward(
      `${upstream}/agent/x/echo`,
      { method: "POST", body, headers: new Headers({ "content-length": String(n) }) },
      1500,
    );
    const got = (await res.json()) as { body: string; headers: Record<string, string> };
    expect(got.body.length).toBe(n);
    expect(got.headers["content-length"]).toBe(String(n));
  }
});
