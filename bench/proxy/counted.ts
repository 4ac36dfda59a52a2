/**
 * The gateway with its KV binding counted: the same app and Durable Objects as src/index.ts, with `env.STATE`
 * wrapped once per isolate so every `get` / `getWithMetadata` / `list` the Worker makes is counted by key.
 * `GET /__bench/kv` answers the counts (and resets them with `?reset=1`). Bundled by bench/proxy/run.mjs the same
 * way as the production bundle; used only for the "KV reads per 10,000 warm requests" figure.
 */
import app from "../../src/index";

export { ControlPlane, Guard } from "../../src/index";

const counts: Record<string, number> = {};
let wrapped: { inner: KVNamespace; env: Record<string, unknown> } | null = null;

function counted(kv: KVNamespace): KVNamespace {
  return new Proxy(kv, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (prop === "get" || prop === "getWithMetadata" || prop === "list") {
          const key = `${String(prop)} ${typeof args[0] === "string" ? args[0].replace(/\d+$/, "<n>") : "?"}`;
          counts[key] = (counts[key] ?? 0) + 1;
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

export default {
  fetch(req: Request, env: { STATE: KVNamespace } & Record<string, unknown>, ctx: ExecutionContext) {
    const url = new URL(req.url);
    if (url.pathname === "/__bench/kv") {
      const body = JSON.stringify({ ...counts });
      if (url.searchParams.has("reset")) for (const k of Object.keys(counts)) delete counts[k];
      return new Response(body, { headers: { "content-type": "application/json" } });
    }
    if (wrapped === null || wrapped.inner !== env.STATE) {
      wrapped = { inner: env.STATE, env: { ...env, STATE: counted(env.STATE) } };
    }
    return app.fetch(req, wrapped.env, ctx);
  },
};
