/**
 * Who may spend a deployment's provider secret (CONTRACT §2.2, §4.1). Without a secret for the provider, the
 * client's own key travels through untouched. With one, the route is not open: the client's SDK API key must be a
 * Switchyard token (role `runtime` or higher) whose scope covers the agent — `authorization: Bearer` for OpenAI,
 * `x-api-key` for Anthropic (its SDK's `authToken`, a bearer, is accepted too) — and it is replaced by the
 * secret. The secret only ever goes to a host listed in `PROVIDER_HOSTS`: a release pointing elsewhere is
 * refused, so neither the secret nor the client's token reaches an unlisted host.
 */
import { authenticate } from "../admin/auth";
import { atLeast, mayActOn } from "../control/roles";
import type { Bindings } from "../env";
import { HttpError } from "../errors";
import type { Provider } from "../proxy/models/apis";
import { applyCredentials } from "../proxy/models/credentials";

export const DEFAULT_PROVIDER_HOSTS = "api.openai.com,api.anthropic.com";

const secretOf = (env: Bindings, p: Provider) => (p === "openai" ? env.OPENAI_API_KEY : env.ANTHROPIC_API_KEY);
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Whether a provider base URL may receive the deployment's secret: https (http only on loopback), host listed. */
export function hostListed(baseUrl: string, list: string | undefined): boolean {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return false;
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) return false;
  const hosts = (list ?? DEFAULT_PROVIDER_HOSTS).split(",").map((h) => h.trim().toLowerCase());
  return hosts.includes(url.host.toLowerCase()) || hosts.includes(url.hostname.toLowerCase());
}

function presentedKey(headers: Headers, provider: Provider): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.get("authorization") ?? "")?.[1];
  return provider === "anthropic" ? (headers.get("x-api-key")?.trim() ?? bearer) : bearer;
}

/**
 * Before anything else is looked at (so an unauthenticated caller learns nothing, not even which agents exist):
 * with a deployment secret for the provider, the caller's token must be valid and cover the agent.
 */
export async function authorizeModelCall(
  env: Bindings,
  agent: string,
  provider: Provider,
  req: Headers,
): Promise<void> {
  const secret = secretOf(env, provider);
  if (secret === undefined || secret === "") return;
  const key = presentedKey(req, provider);
  const actor = key === undefined || key === "" ? null : await authenticate(env, `Bearer ${key}`);
  if (actor === null || !atLeast(actor.role, "runtime")) {
    throw new HttpError(
      401,
      "unauthorized",
      "this gateway holds the provider key: use a Switchyard token (role runtime or higher) as the SDK's API key",
      undefined,
      { "www-authenticate": 'Bearer realm="switchyard-models"' },
    );
  }
  if (!mayActOn(actor, agent)) {
    throw new HttpError(403, "forbidden", `the token ${actor.name} is not scoped to the agent ${agent}`);
  }
}

/** Puts the deployment's secret in place of the caller's token, for a listed host only (else refuses). */
export function applyModelSecret(env: Bindings, provider: Provider, baseUrl: string, headers: Headers): void {
  const secret = secretOf(env, provider);
  if (secret === undefined || secret === "") return;
  if (!hostListed(baseUrl, env.PROVIDER_HOSTS)) {
    throw new HttpError(
      502,
      "provider_not_listed",
      "the release's model.baseUrl is not a host in PROVIDER_HOSTS; the deployment's provider key is never sent there",
    );
  }
  applyCredentials(headers, provider, secret);
}
