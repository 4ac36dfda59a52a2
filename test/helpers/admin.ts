/** Calls the admin API through the real Worker, as a token of a given role. */
import { SELF } from "cloudflare:test";

export type TestRole = "viewer" | "operator" | "releaser" | "admin";

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
