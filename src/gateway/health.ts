/** `GET /healthz`: the revision this isolate serves and how fresh it is. 503 until it has a valid state. */
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { snapshotCache } from "../state/isolate";

export const health = new Hono<AppEnv>();

health.get("/healthz", async (c) => {
  const cache = snapshotCache(c.env);
  await cache.get((p) => c.executionCtx.waitUntil(p));
  const h = cache.health();
  return c.json({ ok: h.revision !== null, ...h }, h.revision === null ? 503 : 200);
});
