/** The model route's edges: decision headers, mode off, bad input, provider mismatch (CONTRACT §2.2). Keys: model-keys.test.ts. */
import { SELF } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { MODEL_BODY_LIMIT } from "../../src/gateway/models";
import { override } from "../helpers/fixtures";
import { provider, publishModels, scenario } from "./helpers";

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  new Request(`https://gw${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
const chat = { model: "x", messages: [{ role: "user", content: "hi" }] };

describe("model route", () => {
  beforeEach(() => publishModels());

  it("makes the same decision as agent traffic: pin, key, spoofed headers", async () => {
    const s = scenario();
    const res = await SELF.fetch(
      post("/models/support-bot/v1/chat/completions", chat, {
        ...s.headers,
        "x-agent-release": "v1",
        "x-agent-lane": "autonomous",
        "x-agent-tools": "drop_db",
      }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("x-agent-decision")).toBe("pinned");
    const seen = await s.seen();
    expect(seen.headers["x-agent-tools"]).toBe("search_kb,send_email,issue_refund");
    expect(seen.headers["x-agent-context"]).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it("serves the user fallback in mode off without calling the provider", async () => {
    await publishModels([override("ovr_off", { agent: "support-bot" }, { mode: "off" })], 2);
    const s = scenario();
    const res = await SELF.fetch(post("/models/support-bot/v1/chat/completions", chat, s.headers));
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ message: "support-bot is paused" });
    expect(res.headers.get("x-agent-lane")).toBe("off");
    expect((await fetch(`${(await import("./helpers")).provider}/_seen/${s.headers["x-mock-id"]}`)).status).toBe(404);
  });

  it.each([
    ["/models/nobody/v1/chat/completions", chat, 404, "unknown_agent"],
    ["/models/support-bot/v1/chat/completions", "{not json", 400, "invalid_json"],
    ["/models/support-bot/v1/chat/completions", [1, 2], 400, "invalid_json"],
    ["/models/support-bot/v1/messages", chat, 400, "wrong_provider"],
    ["/models/claude-bot/v1/responses", chat, 400, "wrong_provider"],
  ])("%s with %j → %i %s", async (path, body, status, code) => {
    const res = await SELF.fetch(post(path, body));
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
  });

  it("refuses a body over MODEL_BODY_LIMIT with 413 body_too_large JSON, with or without a content-length", async () => {
    const big = `{"model":"x","messages":[],"pad":"${"a".repeat(MODEL_BODY_LIMIT)}"}`;
    const s = scenario();
    const sized = await SELF.fetch(post("/models/support-bot/v1/chat/completions", big, s.headers));
    expect(sized.status).toBe(413);
    expect(((await sized.json()) as { error: { code: string } }).error.code).toBe("body_too_large");
    const bytes = new TextEncoder().encode(big);
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 1 << 20) controller.enqueue(bytes.subarray(i, i + (1 << 20)));
        controller.close();
      },
    });
    const streamed = await SELF.fetch(
      new Request("https://gw/models/support-bot/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json", ...s.headers },
        body: chunked,
        duplex: "half",
      } as RequestInit),
    );
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { error: { code: string } }).error.code).toBe("body_too_large");
    expect((await fetch(`${provider}/_seen/${s.headers["x-mock-id"]}`)).status).toBe(404); // never sent on
  });
});
