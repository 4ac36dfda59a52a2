/**
 * Agent traffic: `ANY /agents/{agent}/{path}` (CONTRACT §2.1). The pipeline decides, serves mode `off`, stamps,
 * logs and counts; this door only streams the request to the decided workflow's upstream and its answer back.
 */
import { Hono } from "hono";
import { DEFAULT_TIMEOUT_MS, forward, upstreamUrl } from "../proxy/forward";
import { upstreamHeaders } from "../proxy/headers";
import { relayBody } from "../proxy/watch-body";
import { type DataPlaneEnv, type Door, dataPlane } from "./pipeline";

export const agents = new Hono<DataPlaneEnv>();

const AGENT_PATH = /^\/agents\/([^/]*)/;

/**
 * The path of a request URL as the runtime serialized it (so equal to `new URL(url).pathname`), without parsing
 * the URL again: the agent segment is matched undecoded, and the rest goes to the upstream as it came.
 */
function rawPath(url: string): string {
  const start = url.indexOf("/", url.indexOf("://") + 3);
  const q = url.indexOf("?", start);
  return q < 0 ? url.slice(start) : url.slice(start, q);
}

/** The query as `URL.search` gives it: "" for none or an empty one. */
function rawSearch(url: string): string {
  const q = url.indexOf("?");
  return q < 0 || q === url.length - 1 ? "" : url.slice(q);
}

const door = {
  route: "agent",
  agentOf: (c) => AGENT_PATH.exec(rawPath(c.req.url))?.[1] ?? "",
} satisfies Door<DataPlaneEnv>;

agents.all(
  "/agents/*",
  dataPlane(door, async (c) => {
    const decision = c.get("decision");
    const exchange = c.get("exchange");
    const workflow = decision.served.workflow;
    const method = c.req.method;
    const url = c.req.url;
    const upstream = await forward(
      upstreamUrl(workflow.upstream, rawPath(url).slice(8 + decision.agent.length), rawSearch(url)),
      {
        method,
        headers: upstreamHeaders(c.req.raw.headers, decision),
        body: method === "GET" || method === "HEAD" ? null : c.req.raw.body,
      },
      workflow.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    );
    exchange.answered(upstream);
    // A body the upstream cuts short after its headers is invisible in the status: a small declared one is read
    // whole (a cut becomes a 502), a stream is watched and a cut counted when it happens.
    const body = await relayBody(
      upstream,
      (p) => exchange.ctx.waitUntil(p),
      (error) => exchange.cut(error),
    );
    return new Response(body, upstream);
  }),
);
