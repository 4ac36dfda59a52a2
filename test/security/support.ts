/**
 * Shared pieces of the reliability and security tests (docs/reliability.md): a live agent stored and made live
 * through the real admin API, a fingerprint of everything a request could change, and the JSON-error check
 * every refused request must pass.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { expect } from "vitest";
import worker from "../../src/index";
import type { Manifest } from "../../src/release/schema";
import { HEAD_KEY } from "../../src/state/kv-layout";
import { call, ok } from "../helpers/admin";
import { manifest } from "../helpers/fixtures";

export const AGENT = "support-bot";

/** v0 is the stable fallback (stored, not live), v1 active, v2 a 10 % canary, v3 stored but never made live. */
export function releases(upstream: string): Manifest[] {
  const v0 = manifest(AGENT, "v0", upstream);
  const v1 = manifest(AGENT, "v1", upstream);
  const v2 = manifest(AGENT, "v2", upstream);
  const v3 = manifest(AGENT, "v3", upstream);
  for (const m of [v1, v2, v3]) m.rollout = { ...m.rollout, fallback: "v0" };
  return [v0, v1, v2, v3];
}

/** Stores the four releases and makes v1 active with v2 as a 10 % canary, through the admin API. */
export async function seedLiveAgent(upstream: string): Promise<void> {
  for (const m of releases(upstream)) {
    const res = await call("releaser", "PUT", `/agents/${AGENT}/releases/${m.version}`, m);
    expect([200, 201]).toContain(res.status);
    await res.body?.cancel();
  }
  await ok(call("releaser", "POST", `/agents/${AGENT}/promote`, { version: "v1", reason: "seed" }));
  await ok(call("releaser", "POST", `/agents/${AGENT}/canary`, { version: "v2", percent: 10, reason: "seed" }));
}

export interface Fingerprint {
  revision: number;
  state: string;
  auditSeqs: number[];
  kvHead: string | null;
}

/**
 * Everything a request could have changed: the control state, the audit log and the published head. Taken
 * once KV holds the committed revision (publishing is coalesced to one write a second), so it is stable.
 */
export async function fingerprint(): Promise<Fingerprint> {
  let s = await ok<{ revision: number; publishedRevision: number }>(call("viewer", "GET", "/state"));
  for (let i = 0; i < 40 && s.publishedRevision < s.revision; i++) {
    await new Promise((r) => setTimeout(r, 100));
    s = await ok(call("viewer", "GET", "/state"));
  }
  const audit = await ok<{ entries: Array<{ seq: number }> }>(call("viewer", "GET", "/audit?limit=500"));
  return {
    revision: s.revision,
    state: JSON.stringify(s),
    auditSeqs: audit.entries.map((e) => e.seq),
    kvHead: await env.STATE.get(HEAD_KEY),
  };
}

/** A refused request: a 4xx (never a 5xx) with `{ error: { code, message } }` as JSON. */
export async function expectJsonError(res: Response, context: string): Promise<{ code: string; message: string }> {
  const text = await res.text();
  expect(res.status, `${context} → ${res.status} ${text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  expect(res.status, `${context} → ${res.status} ${text.slice(0, 200)}`).toBeLessThan(500);
  expect(res.headers.get("content-type"), context).toContain("application/json");
  const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
  expect(typeof body.error?.code, `${context}: ${text.slice(0, 200)}`).toBe("string");
  expect(typeof body.error?.message, `${context}: ${text.slice(0, 200)}`).toBe("string");
  return body.error as { code: string; message: string };
}

/**
 * Sends a request to the Worker's own fetch handler (the default export of src/index.ts) with the real KV and
 * Durable Object bindings, with a hard deadline so that a hang fails the test instead of stalling it.
 *
 * Why not `SELF.fetch`: in @cloudflare/vitest-pool-workers 0.15.1 every `SELF.fetch` (and
 * `exports.default.fetch`) makes the next one slower — about 5 ms at first, 150 ms after 500 requests, even
 * for a plain 404 — while calling the handler directly stays flat (< 0.2 ms). The property tests send
 * thousands of requests, so they call the handler directly; the slowdown is the harness's, not the Worker's
 * (the soak in bench/soak drives the real `wrangler dev` server over HTTP and shows no such growth).
 */
export async function fetchWithin(url: string, init: RequestInit = {}, ms = 5000): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${init.method ?? "GET"} ${url}`)), ms);
  });
  try {
    return await Promise.race([worker.fetch(new Request(url, init), env, createExecutionContext()), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
