/**
 * Model traffic: `POST /models/{agent}/v1/chat/completions`, `/v1/responses`, `/v1/messages` (CONTRACT §2.2).
 * The same decision as agent traffic; then the request is rewritten to the release's model lane, sent to its
 * `model.baseUrl`, and the answer comes back with every call to a tool outside the lane withheld.
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HttpError } from "../errors";
import { forward, upstreamUrl } from "../proxy/forward";
import { upstreamHeaders } from "../proxy/headers";
import { MODEL_APIS, type ModelApi } from "../proxy/models/apis";
import { enforceResponse } from "../proxy/models/enforce";
import { checkQuery, filterFeatureHeaders } from "../proxy/models/feature-headers";
import { type Obj, parseObj } from "../proxy/models/json";
import { ToolGate } from "../proxy/models/policy";
import { modelLaneOf } from "../proxy/models/request-common";
import { applyModelSecret, authorizeModelCall } from "./model-keys";
import { type DataPlaneEnv, type Door, dataPlane } from "./pipeline";

export const models = new Hono<DataPlaneEnv>();

/**
 * How long to wait for the provider's response headers. A non-streamed completion sends them only once the
 * whole answer is generated, so this is the providers' own SDK default (10 minutes), not the agent default.
 */
export const MODEL_TIMEOUT_MS = 600_000;

/**
 * Request bodies above this are refused with 413 `body_too_large` before they are parsed: the route must hold the
 * whole JSON to rewrite it. 10 MiB is far above a long conversation with tool definitions, far below the
 * isolate's 128 MB.
 */
export const MODEL_BODY_LIMIT = 10 * 1024 * 1024;

models.use(
  "/models/*",
  bodyLimit({
    maxSize: MODEL_BODY_LIMIT,
    onError: () => {
      throw new HttpError(413, "body_too_large", `model request bodies are limited to ${MODEL_BODY_LIMIT} bytes`);
    },
  }),
);

for (const api of MODEL_APIS) {
  const door = {
    route: "model",
    agentOf: (c) => c.req.param("agent") ?? "",
    // With a deployment secret, the caller's token is checked before anything else (gateway/model-keys.ts).
    authorize: (c, agent) => authorizeModelCall(c.env, agent, api.provider, c.req.raw.headers),
  } satisfies Door<DataPlaneEnv>;
  models.post(
    `/models/:agent/v1/${api.path}`,
    dataPlane(door, (c) => serveModel(c, api)),
  );
}

async function serveModel(c: Context<DataPlaneEnv>, api: ModelApi): Promise<Response> {
  const d = c.get("decision");
  const exchange = c.get("exchange");
  const model = d.release.manifest.model;
  if (model.provider !== api.provider) {
    throw new HttpError(400, "wrong_provider", `release ${d.release.version} serves ${model.provider} models`, {
      release: d.release.version,
      provider: model.provider,
    });
  }
  const search = new URL(c.req.url).search;
  checkQuery(search);
  const headers = upstreamHeaders(c.req.raw.headers, d);
  applyModelSecret(c.env, api.provider, model.baseUrl, headers);
  const body = await readJsonObject(c.req.raw);
  const lane = modelLaneOf(d);
  api.rewrite(body, lane);
  headers.delete("content-length");
  headers.set("content-type", "application/json");
  // The filter reads only what the runtime can decode: the client's wish for another encoding is not passed.
  headers.set("accept-encoding", "gzip");
  const removed = filterFeatureHeaders(headers, api.provider, lane.policy);
  if (removed.length > 0) {
    console.log(
      JSON.stringify({ msg: "feature headers removed", agent: d.agent, release: d.release.version, removed }),
    );
  }
  const upstream = await forward(
    upstreamUrl(model.baseUrl, `/${api.path}`, search),
    { method: "POST", headers, body: JSON.stringify(body) },
    MODEL_TIMEOUT_MS,
  );
  exchange.answered(upstream);
  // Each withheld call is a log line; the request counts `tool_blocked` for the guard (§2.3), once however
  // many calls it withheld (docs/guard.md: a class at most once per request, so rates stay per request).
  const gate = new ToolGate(lane.policy, (tool) =>
    console.log(
      JSON.stringify({
        msg: "tool_blocked",
        route: "model",
        api: api.path,
        agent: d.agent,
        release: d.release.version,
        tool,
      }),
    ),
  );
  const response = await enforceResponse(upstream, api, gate, {
    waitUntil: (p) => exchange.ctx.waitUntil(p),
    // A stream's calls are known only at its end: counted then, as a late failure of this request.
    onEnd: () => {
      if (gate.blocked.length > 0) exchange.late("tool_blocked");
    },
    // A stream the provider cuts short after its headers is counted when it happens, like on the agent route.
    onCut: (error) => exchange.cut(error),
    // A stream the filter cannot read is ended with the API's error event and counted like a provider failure.
    onUnfilterable: (error) => {
      console.error(
        JSON.stringify({
          msg: "unfilterable stream ended",
          agent: d.agent,
          release: d.release.version,
          failureClass: "upstream_error",
          error: error.message,
        }),
      );
      exchange.late("upstream_error");
    },
  });
  if (gate.blocked.length > 0) exchange.blocked = true;
  return response;
}

/** The client's JSON body. A body the client never finished sending is its failure: 400, never counted. */
async function readJsonObject(req: Request): Promise<Obj> {
  let text: string;
  try {
    text = await req.text();
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, "upload_incomplete", `the request body did not arrive whole: ${String(err)}`);
  }
  const body = parseObj(text);
  if (body === undefined) throw new HttpError(400, "invalid_json", "the request body must be a JSON object");
  return body;
}
