/**
 * Console sessions (CONTRACT §5, docs/console.md). Signing in with a Switchyard token yields a cookie
 * `sy_console` = payload.signature, HMAC-SHA256 signed, `HttpOnly; Secure; SameSite=Strict; Path=/console`,
 * valid SESSION_MS from its last renewal and never past MAX_SESSION_MS after sign-in.
 *
 * The payload holds the SHA-256 of the token (what ADMIN_TOKENS holds too, never the token), so every request
 * looks the token up again: a token removed from ADMIN_TOKENS, or given another role, takes effect on the next
 * click. The signing key is derived from CONSOLE_SECRET when set, else from ADMIN_TOKENS itself (so changing
 * the tokens also ends every session). Neither set: no session can be made or read (fail closed).
 *
 * CSRF: each session has a random id; a form's token is HMAC(key, "csrf:" + id), checked in constant time.
 * The sign-in form, before there is a session, uses a double-submit cookie (`sy_login`) the same way.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { actorByHash, constantTimeEqual } from "../admin/auth";
import type { Actor } from "../control/roles";
import type { Bindings } from "../env";
import type { ConsoleEnv } from "./env";

export const SESSION_COOKIE = "sy_console";
export const LOGIN_COOKIE = "sy_login";
export const SESSION_MS = 30 * 60_000;
export const MAX_SESSION_MS = 12 * 3600_000;
const PATH = "/console";

interface Payload {
  v: 1;
  /** SHA-256 (hex) of the token signed in with. */
  h: string;
  /** Session id: the CSRF tokens are derived from it. */
  sid: string;
  /** Signed in at, and expires at (ms). */
  iat: number;
  exp: number;
}

export interface Session {
  actor: Actor;
  csrf: string;
  expiresAt: number;
}

const encoder = new TextEncoder();
const b64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
const fromB64url = (text: string): Uint8Array =>
  Uint8Array.from(atob(text.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));

const keys = new Map<string, Promise<CryptoKey>>();

/** The HMAC key, or null when the deployment has no secret to derive one from. */
function signingKey(env: Bindings): Promise<CryptoKey> | null {
  const material = env.CONSOLE_SECRET
    ? `secret:${env.CONSOLE_SECRET}`
    : env.ADMIN_TOKENS
      ? `tokens:${env.ADMIN_TOKENS}`
      : "";
  if (material === "") return null;
  let key = keys.get(material);
  if (key === undefined) {
    key = (async () => {
      const digest = await crypto.subtle.digest(
        "SHA-256",
        encoder.encode(`switchyard console session v1\n${material}`),
      );
      return crypto.subtle.importKey("raw", digest, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    })();
    keys.clear(); // one deployment, one key: a rotated secret drops the old one
    keys.set(material, key);
  }
  return key;
}

async function mac(key: CryptoKey, text: string): Promise<string> {
  return b64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(text))));
}

export const randomId = (): string => b64url(crypto.getRandomValues(new Uint8Array(18)));

const cookieOptions = (maxAgeMs: number) =>
  ({ path: PATH, httpOnly: true, secure: true, sameSite: "Strict", maxAge: Math.floor(maxAgeMs / 1000) }) as const;

async function writeSession(c: Context<ConsoleEnv>, key: CryptoKey, p: Payload): Promise<void> {
  const body = b64url(encoder.encode(JSON.stringify(p)));
  setCookie(c, SESSION_COOKIE, `${body}.${await mac(key, body)}`, cookieOptions(p.exp - Date.now()));
}

/** Starts a session for a token already checked (its hash names an entry of ADMIN_TOKENS). */
export async function startSession(c: Context<ConsoleEnv>, tokenHash: string): Promise<boolean> {
  const key = await signingKey(c.env);
  if (key === null) return false;
  const now = Date.now();
  await writeSession(c, key, { v: 1, h: tokenHash, sid: randomId(), iat: now, exp: now + SESSION_MS });
  deleteCookie(c, LOGIN_COOKIE, { path: PATH, secure: true });
  return true;
}

/** The session of this request, renewed when past half its life; null when absent, forged, expired or revoked. */
export async function readSession(c: Context<ConsoleEnv>): Promise<Session | null> {
  const raw = getCookie(c, SESSION_COOKIE);
  const key = await signingKey(c.env);
  if (raw === undefined || key === null) return null;
  const [body, signature] = raw.split(".");
  if (!body || !signature || !constantTimeEqual(signature, await mac(key, body))) return null;
  let p: Payload;
  try {
    p = JSON.parse(new TextDecoder().decode(fromB64url(body))) as Payload;
  } catch {
    return null;
  }
  const now = Date.now();
  if (p.v !== 1 || typeof p.h !== "string" || !(p.exp > now) || !(now - p.iat < MAX_SESSION_MS)) return null;
  const actor = actorByHash(c.env, p.h);
  if (actor === null) return null;
  if (p.exp - now < SESSION_MS / 2) {
    p = { ...p, exp: Math.min(now + SESSION_MS, p.iat + MAX_SESSION_MS) };
    await writeSession(c, key, p);
  }
  return { actor, csrf: await mac(key, `csrf:${p.sid}`), expiresAt: p.exp };
}

export function endSession(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: PATH, secure: true, httpOnly: true, sameSite: "Strict" });
}

/** The sign-in form's CSRF value: a random cookie the form must repeat. */
export function loginCsrf(c: Context): string {
  const existing = getCookie(c, LOGIN_COOKIE);
  if (existing !== undefined && /^[A-Za-z0-9_-]{24}$/.test(existing)) return existing;
  const fresh = randomId();
  setCookie(c, LOGIN_COOKIE, fresh, cookieOptions(15 * 60_000));
  return fresh;
}

export function loginCsrfValid(c: Context, sent: unknown): boolean {
  const cookie = getCookie(c, LOGIN_COOKIE);
  return typeof sent === "string" && cookie !== undefined && constantTimeEqual(sent, cookie);
}

export const csrfValid = (session: Session, sent: unknown): boolean =>
  typeof sent === "string" && constantTimeEqual(sent, session.csrf);
