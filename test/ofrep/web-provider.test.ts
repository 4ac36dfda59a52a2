/**
 * The OpenFeature web SDK's OFREP provider polling the bulk endpoint (CONTRACT §2.5): it sends the last `ETag` as
 * `If-None-Match` and gets 304 while nothing changed, and a flip of the lane is seen at its next poll.
 */
import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";
import { OpenFeature, ProviderEvents } from "@openfeature/web-sdk";
import { afterEach, expect, it } from "vitest";
import { freshIsolate } from "../helpers/publish";
import { AGENT, laneState, OTHER, override, workerFetch } from "./helpers";

const statuses: number[] = [];
const conditional: boolean[] = [];

async function recordingFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const req = new Request(input, init);
  conditional.push(req.headers.has("if-none-match"));
  const res = await workerFetch(req);
  statuses.push(res.status);
  return res;
}

afterEach(async () => OpenFeature.close());

it("polls the bulk endpoint: 304 while nothing changes, a flip seen at the next poll", async () => {
  await freshIsolate(await laneState(1));
  const provider = new OFREPWebProvider({
    baseUrl: "https://gw",
    fetchImplementation: recordingFetch,
    headers: [["authorization", "Bearer lane-token"]],
    pollInterval: 100,
    cacheMode: "disabled",
  });
  await OpenFeature.setContext({ targetingKey: "user-1" });
  await OpenFeature.setProviderAndWait(provider);
  const client = OpenFeature.getClient();
  expect(client.getStringValue(`${AGENT}.mode`, "off")).toBe("autonomous");
  expect(client.getStringValue(`${AGENT}.release`, "?")).toBe("v1");
  // The token is scoped to lane-bot: the bulk answer holds nothing of other-bot, so the default applies.
  expect(client.getStringDetails(`${OTHER}.mode`, "off")).toMatchObject({ value: "off", errorCode: "FLAG_NOT_FOUND" });

  await until(() => statuses.includes(304));
  expect(conditional.some(Boolean)).toBe(true);

  const changed = new Promise<void>((resolve) =>
    client.addHandler(ProviderEvents.ConfigurationChanged, () => resolve()),
  );
  await freshIsolate(await laneState(2, 10, [override("ovr_d", { agent: AGENT }, { mode: "draft-only" })]));
  await changed;
  expect(client.getStringValue(`${AGENT}.mode`, "autonomous")).toBe("draft-only");
  expect((client.getObjectValue(AGENT, {}) as { tools: string[] }).tools).toEqual(["search_kb"]);
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("condition not met within 5 s");
}
