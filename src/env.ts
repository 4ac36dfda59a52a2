/** The Worker's bindings and request-scoped variables. */
import type { ControlPlane } from "./state/control-plane";
import type { Guard } from "./state/guard-object";

export interface Bindings {
  /** Workers KV: the published snapshot, read by every isolate (docs/storage.md). */
  STATE: KVNamespace;
  /** The control-plane Durable Object: the one writer of the authoritative state. */
  CONTROL: DurableObjectNamespace<ControlPlane>;
  /** The guard Durable Objects, one per agent: failure counts and trigger evaluation (docs/guard.md). */
  GUARD: DurableObjectNamespace<Guard>;
  /** JSON array of { name, role, sha256 } (CONTRACT §4.1). A secret; never in wrangler.toml. */
  ADMIN_TOKENS?: string;
  /** Signs the console's session cookies (docs/console.md). A secret; when unset, the key is derived from ADMIN_TOKENS. */
  CONSOLE_SECRET?: string;
  /** How often an isolate re-reads the published state, in ms (default 1000). */
  REFRESH_INTERVAL_MS?: string;
  /** When set, replaces the client's credentials on OpenAI model traffic (CONTRACT §2.2). A secret. */
  OPENAI_API_KEY?: string;
  /** When set, replaces the client's credentials on Anthropic model traffic (CONTRACT §2.2). A secret. */
  ANTHROPIC_API_KEY?: string;
  /**
   * Comma-separated hosts (`host` or `host:port`) that may receive OPENAI_API_KEY / ANTHROPIC_API_KEY
   * (CONTRACT §2.2). Default `api.openai.com,api.anthropic.com`.
   */
  PROVIDER_HOSTS?: string;
  /** "control" (default): ask the control plane for fresh state, KV as fallback. "kv": KV only. */
  FRESHNESS?: string;
}

export interface AppEnv {
  Bindings: Bindings;
}
