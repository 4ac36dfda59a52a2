/**
 * Admin authentication (CONTRACT §4.1): `authorization: Bearer <token>`, checked against the `ADMIN_TOKENS`
 * secret, which holds only SHA-256 hashes. Every entry is compared, in constant time, whatever matches first,
 * so the answer time says nothing about which token or how much of it was right. Tokens are never logged.
 */
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { type Actor, atLeast, Role } from "../control/roles";
import type { Bindings } from "../env";
import { HttpError } from "../errors";
import { sha256Hex } from "../release/digest";
import { AgentId } from "../release/schema";

const TokenEntry = z.strictObject({
  name: z.string().min(1).max(256),
  role: Role,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "hex SHA-256 of the token"),
  /** CONTRACT §4.1: the token acts on these agents only. An empty list would be a token for nothing. */
  agents: z.array(AgentId).min(1).max(1000).optional(),
});
const TokenList = z.array(TokenEntry);
type TokenEntry = z.infer<typeof TokenEntry>;

let parsed: { raw: string; entries: TokenEntry[] } | null = null;

function tokens(env: Bindings): TokenEntry[] {
  const raw = env.ADMIN_TOKENS ?? "";
  if (parsed?.raw === raw) return parsed.entries;
  let entries: TokenEntry[] = [];
  try {
    const result = TokenList.safeParse(JSON.parse(raw));
    if (result.success) entries = result.data;
    else console.error(JSON.stringify({ msg: "ADMIN_TOKENS is invalid; no admin token is accepted" }));
  } catch {
    if (raw !== "") console.error(JSON.stringify({ msg: "ADMIN_TOKENS is not JSON; no admin token is accepted" }));
  }
  parsed = { raw, entries };
  return entries;
}

/** Equal-length hex strings compared without an early exit. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export async function authenticate(env: Bindings, header: string | undefined): Promise<Actor | null> {
  const match = /^Bearer\s+(\S{1,512})\s*$/i.exec(header ?? "");
  if (!match) return null;
  return actorByHash(env, await sha256Hex(match[1] as string));
}

/** The actor whose token has this SHA-256 (hex), looked up in the current ADMIN_TOKENS (the console's sessions). */
export function actorByHash(env: Bindings, hash: string): Actor | null {
  let found: TokenEntry | null = null;
  for (const entry of tokens(env)) if (constantTimeEqual(hash, entry.sha256) && found === null) found = entry;
  if (found === null) return null;
  return found.agents === undefined
    ? { name: found.name, role: found.role }
    : { name: found.name, role: found.role, agents: found.agents };
}

export type AdminEnv = { Bindings: Bindings; Variables: { actor: Actor } };

export const requireToken: MiddlewareHandler<AdminEnv> = async (c, next) => {
  const actor = await authenticate(c.env, c.req.header("authorization"));
  if (actor === null) {
    throw new HttpError(401, "unauthorized", "a valid admin token is required", undefined, {
      "www-authenticate": 'Bearer realm="switchyard-admin"',
    });
  }
  if (!atLeast(actor.role, "viewer")) {
    throw new HttpError(403, "forbidden", "a runtime token cannot use the admin API", { requiredRole: "viewer" });
  }
  c.set("actor", actor);
  await next();
};
