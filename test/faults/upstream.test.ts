/**
 * Upstream faults (issue 7, docs/reliability.md) against the real upstream of test/setup/upstream.ts: hanging
 * before its headers, resetting the connection, cutting a chunked body short, and stalling after its headers.
 * For each: what the client gets, and the request log line the operator gets. None of them touches the
 * control state.
 * (test/data-plane/upstream.test.ts covers the contract's 502/504 answers in detail; this file pins what the
 * client and the operator see in each fault, including the two that happen after the status is sent.)
 */
import { beforeAll, describe, expect, inject, it, vi } from "vitest";
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
  it("a truncated chunked body reaches the client as an error on the stream, never as a clean end", async () => {
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
    // What the operator sees: the request, logged at its headers as a 200; the cut is not in the log line.
    expect(lines).toContainEqual(expect.objectContaining({ status: 200, upstreamStatus: 200, failureClass: null }));
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
