/** Calls the admin API through the real Worker, as a token of a given role. */
import { env, SELF } from "cloudflare:test";
import { inject } from "vitest";
import type { AuditEntry } from "../../src/state/control-store";
import { manifest } from "./fixtures";

export type TestRole = "runtime" | "viewer" | "operator" | "releaser" | "admin";

export async function call(
  role: TestRole | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  const h: Record<string, string> = { ...headers };
  if (role !== null) h.authorization = `Bearer ${role}-token`;
  if (body !== undefined) h["content-type"] = "application/json";
  return SELF.fetch(`https://gw/admin/v1${path}`, {
    method,
    headers: h,
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
}

export async function ok<T = Record<string, unknown>>(res: Response | Promise<Response>, status = 200): Promise<T> {
  const r = await res;
  const text = await r.text();
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${text}`);
  return JSON.parse(text) as T;
}

export async function state(): Promise<{
  revision: number;
  agents: Record<string, Record<string, unknown>>;
  overrides: Array<Record<string, unknown>>;
}> {
  return ok(call("viewer", "GET", "/state"));
}

export type { AuditEntry };

/** GET /audit with the given query (e.g. "?agent=x&limit=5"). */
export async function audit(query = ""): Promise<{ entries: AuditEntry[]; next: number | null }> {
  return ok(call("viewer", "GET", `/audit${query}`));
}

/**
 * Everything a mutation might touch: the state and the newest audit entries. `publishedRevision` is left out:
 * it moves on its own as the control plane publishes in the background.
 */
export async function everything(): Promise<{ state: unknown; audit: AuditEntry[] }> {
  const { publishedRevision: _, ...s } = (await state()) as Awaited<ReturnType<typeof state>> & {
    publishedRevision?: number;
  };
  return { state: s, audit: (await audit("?limit=500")).entries };
}

/** A JSON error answer: asserts the status and the `{ error: { code, message } }` shape, returns the error. */
export async function failed(
  res: Response | Promise<Response>,
  status: number,
  code?: string,
): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  const r = await res;
  const text = await r.text();
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${text}`);
  if (!/^application\/json/.test(r.headers.get("content-type") ?? "")) throw new Error(`not JSON: ${text}`);
  const body = JSON.parse(text) as { error: { code: string; message: string; details?: Record<string, unknown> } };
  if (typeof body.error?.code !== "string" || typeof body.error.message !== "string") {
    throw new Error(`not an error body: ${text}`);
  }
  if (code !== undefined && body.error.code !== code) throw new Error(`expected code ${code}: ${text}`);
  return body.error;
}

/** The control-plane Durable Object's stub. */
export const controlStub = () => env.CONTROL.get(env.CONTROL.idFromName("global"));

/**
 * Stores ready releases (test/helpers/fixtures.ts `manifest`) of `agent` and sets its pointers through the API.
 * `fallbacks` names a release's rollout.fallback (default "off").
 */
export async function setupAgent(
  agent: string,
  opts: {
    versions: string[];
    active?: string;
    canary?: { version: string; percent: number };
    fallbacks?: Record<string, string>;
  },
): Promise<void> {
  for (const v of opts.versions) {
    const m = manifest(agent, v, inject("upstream"));
    const fallback = opts.fallbacks?.[v];
    const body = fallback === undefined ? m : { ...m, rollout: { ...m.rollout, fallback } };
    await ok(call("admin", "PUT", `/agents/${agent}/releases/${v}`, body), 201);
  }
  if (opts.active !== undefined) {
    await ok(call("admin", "POST", `/agents/${agent}/promote`, { version: opts.active, reason: "setup" }));
  }
  if (opts.canary !== undefined) {
    await ok(call("admin", "POST", `/agents/${agent}/canary`, { ...opts.canary, reason: "setup" }));
  }
}
