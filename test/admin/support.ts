/**
 * Shared pieces of the admin end-to-end tests: releases whose upstream paths belong to one test (the test
 * upstream counts requests per path, and runs for every test file at once), and a data-plane request made
 * through the Worker from a cold isolate, so it sees the control plane's current revision.
 */
import { SELF } from "cloudflare:test";
import { inject } from "vitest";
import type { Manifest } from "../../src/release/schema";
import { resetIsolateForTests } from "../../src/state/isolate";
import { call, ok } from "../helpers/admin";
import { manifest } from "../helpers/fixtures";

export const upstream = inject("upstream");

/** A ready release whose workflows live under `/<tag>/<agent>/<version>/` of the test upstream. */
export function release(agent: string, version: string, tag: string, rollout: Manifest["rollout"] = {}): Manifest {
  const m = manifest(agent, version, upstream);
  m.workflows = {
    default: { upstream: `${upstream}/${tag}/${agent}/${version}/default`, timeoutMs: 2000 },
    simple: { upstream: `${upstream}/${tag}/${agent}/${version}/simple` },
  };
  m.rollout = { ...m.rollout, ...rollout };
  return m;
}

/** PUT a manifest under its own agent and version; expects 201 (stored) and returns the digest. */
export async function put(m: Manifest): Promise<string> {
  const body = await ok<{ digest: string }>(call("admin", "PUT", `/agents/${m.agent}/releases/${m.version}`, m), 201);
  return body.digest;
}

/** How many requests the test upstream received under a path prefix. */
export async function hits(prefix: string): Promise<number> {
  const res = await fetch(`${upstream}/__hits?prefix=${encodeURIComponent(prefix)}`);
  return ((await res.json()) as { count: number }).count;
}

export interface Served {
  status: number;
  release: string | null;
  lane: string | null;
  decision: string | null;
  body: unknown;
}

/**
 * One agent request through the Worker, from a cold isolate: the isolate's first read is awaited, so the answer
 * reflects the revision the control plane holds now (a warm isolate would refresh in the background).
 */
export async function served(agent: string, headers: Record<string, string> = {}, path = "/chat"): Promise<Served> {
  resetIsolateForTests();
  const res = await SELF.fetch(`https://gw/agents/${agent}${path}`, { method: "POST", body: '{"q":"hi"}', headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return {
    status: res.status,
    release: res.headers.get("x-agent-release"),
    lane: res.headers.get("x-agent-lane"),
    decision: res.headers.get("x-agent-decision"),
    body,
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
