/**
 * Upstream faults (issue 7, docs/reliability.md) against the real upstream of test/setup/upstream.ts: hanging
 * before its headers, resetting the connection, cutting a chunked body short, and stalling after its headers.
 * For each: what the client gets, and the request log line the operator gets. None of them touches the
 * control state.
 * (test/data-plane/upstream.test.ts covers the contract's 502/504 answers in detail; this file pins what the
 * client and the operator see in each fault, including the two that happen after the status is sent.)
 */
import { beforeAll, describe, expect, inject, it, vi } from "vitest";
import { isolateCounter } from "../../src/state/counter";
import type { GuardHealth } from "../../src/state/guard-health";
import { call, ok } from "../helpers/admin";
import { manifest } from "../helpers/fixtures";
import { fetchWithin, fingerprint } from "../security/support";
import { coldIsolate } from "./faulty-kv";

const upstream = inject("upstream");
vi.setConfig({ testTimeout: 30_000, hookTimeout: 30_000 });

const AGENT = "flaky-bot";
const TIMEOUT_MS = 300;

interface LogLine {
  msg: string;
  status: number;
  upstreamStatus: number | null;
  failureClass: string | null;
  release: string | null;
}

/** Runs `fn` and returns the request log lines the Worker wrote meanwhile. */
async function logged(fn: () => Promise<void>): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => {
    try {
      const line = JSON.parse(String(a[0])) as LogLine;
      if (line.msg === "request") lines.push(line);
    } catch {}
  });
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the guard counted for v1 over its upstream_error trigger's window: requests, and upstream_error failures. */
async function upstreamErrors(): Promise<{ requests: number; errors: number }> {
  const h = await ok<GuardHealth>(call("viewer", "GET", `/agents/${AGENT}/health`));
  const t = h.releases[0]!.triggers.find((x) => x.trigger.failureClass === "upstream_error")!;
  return { requests: t.requests, errors: t.failures.upstream_error ?? 0 };
}

/** Requests the upstream counted under a path prefix (test/setup/upstream.ts). */
async function upstreamHits(prefix: string): Promise<number> {
  const res = await fetch(`${upstream}/__hits?prefix=${encodeURIComponent(prefix)}`);
  return ((await res.json()) as { count: number }).count;
}

let before: Awaited<ReturnType<typeof fingerprint>>;
beforeAll(async () => {
  const m = manifest(AGENT, "v1", upstream);
  m.workflows = { default: { upstream: `${upstream}/agent/v1`, timeoutMs: TIMEOUT_MS } };
  await ok(call("releaser", "PUT", `/agents/${AGENT}/releases/v1`, m), 201);
  await ok(call("releaser", "POST", `/agents/${AGENT}/promote`, { version: "v1", reason: "faults" }));
  coldIsolate({}, false);
  before = await fingerprint();
});

describe("before the headers", () => {
  it("an upstream that hangs gets 504 upstream_timeout JSON after timeoutMs, logged as upstream_timeout", async () => {
    let res!: Response;
    let elapsed = 0;
    const lines = await logged(async () => {
      const t = Date.now();
      res = await fetchWithin(`https://gw/agents/${AGENT}/slow?ms=5000`, {}, 4000);
      elapsed = Date.now() - t;
    });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("upstream_timeout");
    expect(res.headers.get("x-agent-release")).toBe("v1");
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1500);
    expect(lines).toContainEqual(
      expect.objectContaining({ status: 504, upstreamStatus: null, failureClass: "upstream_timeout", release: "v1" }),
    );
  });

  it("an upstream that resets the connection gets 502 upstream_unreachable JSON, logged as upstream_error", async () => {
    let res!: Response;
    const lines = await logged(async () => {
      res = await fetchWithin(`https://gw/agents/${AGENT}/reset`);
    });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("upstream_unreachable");
    expect(lines).toContainEqual(expect.objectContaining({ status: 502, failureClass: "upstream_error" }));
  });
});

describe("after the headers", () => {
  it("a truncated chunked body reaches the client as an error on the stream, and is logged and counted as upstream_error", async () => {
    await isolateCounter()?.flush();
    const errorsBefore = await upstreamErrors();
    const cuts: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => {
      cuts.push(a.map(String).join(" "));
    });
    let res!: Response;
    const lines = await logged(async () => {
      res = await fetchWithin(`https://gw/agents/${AGENT}/truncate`);
    });
    expect(res.status).toBe(200); // the status was the upstream's, sent before the cut
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    let failed: unknown = null;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    } catch (err) {
      failed = err;
    }
    expect(text).toContain("part 0");
    expect(failed).not.toBeNull(); // the client can tell the answer is incomplete
    // What the operator sees: the request, logged at its headers as a 200, then the cut in a line of its own...
    expect(lines).toContainEqual(expect.objectContaining({ status: 200, upstreamStatus: 200, failureClass: null }));
    for (let i = 0; i < 50 && !cuts.some((l) => l.includes("upstream body cut")); i++) await sleep(20);
    spy.mockRestore();
    const cut = cuts.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "upstream body cut");
    expect(cut).toMatchObject({ agent: AGENT, release: "v1", failureClass: "upstream_error" });
    // ... and the guard counts it as an upstream_error of the release (not as a second request).
    await isolateCounter()!.flush();
    expect(await upstreamErrors()).toEqual({ requests: errorsBefore.requests + 1, errors: errorsBefore.errors + 1 });
  });

  it("a small body of declared length cut short becomes a 502 upstream_truncated, counted once as upstream_error", async () => {
    await isolateCounter()?.flush();
    const errorsBefore = await upstreamErrors();
    let res!: Response;
    const lines = await logged(async () => {
      res = await fetchWithin(`https://gw/agents/${AGENT}/truncate-declared`);
    });
    // Read whole before the answer starts, so the client gets a clean error it can retry, not a broken 200.
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("upstream_truncated");
    expect(res.headers.get("x-agent-release")).toBe("v1");
    expect(lines).toContainEqual(
      expect.objectContaining({ status: 502, upstreamStatus: 200, failureClass: "upstream_error", release: "v1" }),
    );
    await isolateCounter()!.flush();
    expect(await upstreamErrors()).toEqual({ requests: errorsBefore.requests + 1, errors: errorsBefore.errors + 1 });
  });

  it("a client that goes away mid-stream is no upstream failure, and the upstream is let go at its next chunk", async () => {
    await isolateCounter()?.flush();
    const errorsBefore = await upstreamErrors();
    const closedBefore = await upstreamHits("/__drip-closed");
    const res = await fetchWithin(`https://gw/agents/${AGENT}/drip?n=40`);
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel(); // the client leaves while the upstream is still sending (for 2 s more)
    // The gateway notices at the upstream's next chunk, 50 ms later, and closes the upstream's connection.
    for (let i = 0; i < 50 && (await upstreamHits("/__drip-closed")) === closedBefore; i++) await sleep(20);
    expect(await upstreamHits("/__drip-closed")).toBe(closedBefore + 1);
    await sleep(200);
    await isolateCounter()!.flush();
    expect(await upstreamErrors()).toEqual({ requests: errorsBefore.requests + 1, errors: errorsBefore.errors });
  });

  it("a stall after the headers is passed on as it is: timeoutMs covers the headers, not the body", async () => {
    const t = Date.now();
    const res = await fetchWithin(`https://gw/agents/${AGENT}/stall?ms=1500`);
    expect(res.status).toBe(200);
    expect(Date.now() - t).toBeLessThan(1000); // the headers came at once
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain("first");
    let failed = false;
    try {
      while (!(await reader.read()).done) {}
    } catch {
      failed = true;
    }
    expect(failed).toBe(true); // the upstream finally dropped: the client sees an error, not a clean end
    expect(Date.now() - t).toBeGreaterThanOrEqual(1400); // not cut at timeoutMs: long streams must survive
  });
});

it("no upstream fault touched the control state, the audit or the published head", async () => {
  expect(await fingerprint()).toEqual(before);
});
