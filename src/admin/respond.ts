/** Shared pieces of the admin routes: the control stub, ETag / If-Match, and turning DO results into HTTP. */
import type { Context } from "hono";
import type { Refusal } from "../control/model";
import type { Bindings } from "../env";
import { HttpError } from "../errors";
import type { ControlPlane, Mutated } from "../state/control-plane";
import type { AdminEnv } from "./auth";

type Rpc<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};
/** The control plane's RPC methods as the admin routes call them. */
export type ControlApi = Rpc<
  Pick<ControlPlane, "mutate" | "current" | "releases" | "release" | "audit" | "auditSince" | "agentSnapshot" | "head">
>;

/**
 * The one control-plane instance. The cast restates the RPC types plainly: workers-types maps fields typed
 * `unknown` (a manifest's free-form `retrieval` and `metadata`) to `never`, though they cross RPC as JSON.
 */
export const control = (env: Bindings): ControlApi =>
  env.CONTROL.get(env.CONTROL.idFromName("global")) as unknown as ControlApi;

export const etag = (revision: number): string => `"${revision}"`;

/**
 * A mutation through the control plane. When the call fails across the Durable Object boundary (the object was
 * reset, evicted, overloaded, or threw), the change may or may not have been committed: the caller gets 503
 * `outcome_unknown`, which says so and how to find out, instead of a 500 that reads as "not done".
 */
export async function mutate(
  env: Bindings,
  ...args: Parameters<ControlApi["mutate"]>
): Promise<Awaited<ReturnType<ControlApi["mutate"]>>> {
  try {
    return await control(env).mutate(...args);
  } catch (err) {
    console.error(
      JSON.stringify({
        msg: "control plane call failed",
        kind: args[0].kind,
        error: String(err),
        stack: (err as Error)?.stack,
      }),
    );
    throw new HttpError(
      503,
      "outcome_unknown",
      "the control plane failed while handling this change, which may or may not have been applied: read GET /admin/v1/audit (or /state) before retrying, or retry with If-Match",
      { retryable: (err as { retryable?: unknown })?.retryable === true },
      { "retry-after": "1" },
    );
  }
}

/** `If-Match: "<revision>"` → the revision; absent → undefined; anything else is a 400. */
export function ifMatch(c: Context<AdminEnv>): number | undefined {
  const raw = c.req.header("if-match");
  if (raw === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(raw);
  if (!m) throw new HttpError(400, "bad_if_match", 'If-Match must be a revision, e.g. "12"');
  return Number(m[1]);
}

export function mutationResponse(c: Context<AdminEnv>, out: Mutated | Refusal, created = false): Response {
  if (!out.ok) throw new HttpError(out.status, out.code, out.message, out.details);
  const status = created && out.changed ? 201 : 200;
  return c.json({ ...out.result, revision: out.revision, changed: out.changed, published: out.published }, status, {
    etag: etag(out.revision),
  });
}

/** A DELETE takes its reason from the JSON body or, for clients that cannot send one, from `?reason=`. */
export async function deleteReason(c: Context<AdminEnv>): Promise<string> {
  let fromBody: unknown;
  const text = await c.req.text();
  if (text.trim() !== "") {
    try {
      fromBody = JSON.parse(text);
    } catch {
      throw new HttpError(400, "bad_request", "the body is not valid JSON");
    }
    const keys = typeof fromBody === "object" && fromBody !== null ? Object.keys(fromBody) : null;
    if (keys === null || keys.some((k) => k !== "reason")) {
      throw new HttpError(400, "invalid_request", "the body may hold only { reason }", {
        problems: [{ path: "", message: "unknown or missing fields" }],
      });
    }
  }
  const reason = (fromBody as { reason?: unknown } | undefined)?.reason ?? c.req.query("reason");
  if (typeof reason !== "string" || reason.trim() === "" || reason.length > 2000) {
    throw new HttpError(400, "invalid_request", "a non-empty reason is required", {
      problems: [
        { path: "reason", message: "a non-empty reason (≤ 2000 characters) is required in the body or ?reason=" },
      ],
    });
  }
  return reason.trim();
}
