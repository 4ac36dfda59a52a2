/**
 * OFREP tests' plumbing: the Worker's own fetch handler with extra token entries (scoped runtime tokens) added
 * to the bindings, as a `fetch` the OpenFeature providers can use; and a state with a canary to evaluate.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { inject } from "vitest";
import app from "../../src/index";
import { sha256Hex } from "../../src/release/digest";
import { manifest, override, snapshot } from "../helpers/fixtures";

const upstream = inject("upstream");

export const AGENT = "lane-bot";
export const OTHER = "other-bot";

/** Every role's `<role>-token`, plus `lane-token`: role runtime, scoped to lane-bot only. */
async function tokens(): Promise<string> {
  const configured = JSON.parse(env.ADMIN_TOKENS ?? "[]") as unknown[];
  const scoped = { name: "lane@test", role: "runtime", sha256: await sha256Hex("lane-token"), agents: [AGENT] };
  return JSON.stringify([...configured, scoped]);
}

/** The Worker's fetch handler, as a provider's `fetchImplementation`. */
export async function workerFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(input, init), { ...env, ADMIN_TOKENS: await tokens() }, ctx);
  const body = res.status === 304 ? null : await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, res);
}

export function ofrepRequest(path: string, body: unknown, headers: Record<string, string> = {}) {
  return workerFetch(`https://gw/ofrep/v1/evaluate/flags${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer runtime-token", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** lane-bot: v1 active, v2 canary at `percent`; other-bot: v1 only. Overrides as given. */
export async function laneState(revision: number, percent = 10, overrides: Parameters<typeof snapshot>[2] = []) {
  return snapshot(
    revision,
    {
      [AGENT]: {
        releases: [manifest(AGENT, "v1", upstream), manifest(AGENT, "v2", upstream)],
        pointers: { active: "v1", fallback: "off", canary: percent > 0 ? { version: "v2", percent } : null },
      },
      [OTHER]: { releases: [manifest(OTHER, "v1", upstream)], pointers: { active: "v1", fallback: "off" } },
    },
    overrides,
  );
}

export { override };
