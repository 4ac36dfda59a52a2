/**
 * Provider credentials (CONTRACT §2.2). By default the client's own key travels through. When the deployment
 * holds a secret for the provider, it replaces whatever the client sent — both credential headers are dropped
 * first, so a client key can never ride along next to the deployment's.
 * OpenAI: `Authorization: Bearer` (https://platform.openai.com/docs/api-reference/authentication);
 * Anthropic: `x-api-key` (https://docs.anthropic.com/en/api/overview#authentication).
 */
import type { Provider } from "./apis";

export function applyCredentials(headers: Headers, provider: Provider, secret: string | undefined): void {
  if (secret === undefined || secret === "") return;
  headers.delete("authorization");
  headers.delete("x-api-key");
  if (provider === "openai") headers.set("authorization", `Bearer ${secret}`);
  else headers.set("x-api-key", secret);
}
