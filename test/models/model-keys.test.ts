/**
 * The model route is not an open relay (CONTRACT §2.2, §4.1; docs/threat-model.md K1–K5). With a deployment
 * secret, the SDK's API key must be a Switchyard token of role runtime or higher scoped to the agent; the provider
 * receives the secret and never the token; the secret goes only to a host in PROVIDER_HOSTS. Driven through the
 * real Worker (its fetch handler, with the secret added to the bindings) to the real local provider.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { beforeEach, describe, expect, it } from "vitest";
import app from "../../src/index";
import { sha256Hex } from "../../src/release/digest";
import { provider, publishModels, scenario } from "./helpers";

const SECRETS = { OPENAI_API_KEY: "sk-deploy", ANTHROPIC_API_KEY: "sk-ant-deploy" };
const LOOPBACK = { PROVIDER_HOSTS: new URL(provider).host };

async function tokens(): Promise<string> {
  const configured = JSON.parse(env.ADMIN_TOKENS ?? "[]") as unknown[];
  const scoped = { name: "other@test", role: "runtime", sha256: await sha256Hex("other-token"), agents: ["other-bot"] };
  const mine = {
    name: "mine@test",
    role: "runtime",
    sha256: await sha256Hex("mine-token"),
    agents: ["support-bot", "claude-bot"],
  };
  return JSON.stringify([...configured, scoped, mine]);
}

async function viaWorker(req: Request, bindings: Record<string, string>): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(req, { ...env, ADMIN_TOKENS: await tokens(), ...bindings }, ctx);
  const body = await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, res);
}

const chatReq = (headers: Record<string, string>) =>
  new Request("https://gw/models/support-bot/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] }),
  });

describe("with a deployment secret", () => {
  beforeEach(() => publishModels());

  for (const [what, auth, status] of [
    ["no key", {}, 401],
    ["a provider key", { authorization: "Bearer sk-client" }, 401],
    ["an unknown token", { authorization: "Bearer nope" }, 401],
    ["a token scoped to another agent", { authorization: "Bearer other-token" }, 403],
  ] as const) {
    it(`${what}: ${status}, and the provider is never called`, async () => {
      const s = scenario(auth);
      const res = await viaWorker(chatReq(s.headers), { ...SECRETS, ...LOOPBACK });
      expect(res.status).toBe(status);
      expect(await s.seen()).toBeNull();
    });
  }

  it("a runtime token (any scope covering the agent) is replaced by the secret; the token never reaches the provider", async () => {
    for (const token of ["runtime-token", "mine-token", "viewer-token"]) {
      const s = scenario({ authorization: `Bearer ${token}`, "x-api-key": token });
      const res = await viaWorker(chatReq(s.headers), { ...SECRETS, ...LOOPBACK });
      expect(res.status).toBe(200);
      const seen = await s.seen();
      expect(seen?.headers.authorization).toBe("Bearer sk-deploy");
      expect(JSON.stringify(seen?.headers)).not.toContain(token);
    }
  });

  it("the official SDKs work with the token as their API key", async () => {
    const fetchVia = (url: RequestInfo | URL, init?: RequestInit) =>
      viaWorker(new Request(url, init), { ...SECRETS, ...LOOPBACK });
    const oa = new OpenAI({
      baseURL: "https://gw/models/support-bot/v1",
      apiKey: "runtime-token",
      fetch: fetchVia,
      maxRetries: 0,
    });
    const done = await oa.chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }] });
    expect(done.choices[0]?.message.content).toBe("Hello from the mock.");
    const an = new Anthropic({
      baseURL: "https://gw/models/claude-bot",
      apiKey: "mine-token",
      fetch: fetchVia,
      maxRetries: 0,
    });
    const msg = await an.messages.create({ model: "x", max_tokens: 5, messages: [{ role: "user", content: "hi" }] });
    expect(msg.content[0]).toMatchObject({ type: "text" });
    await expect(
      new OpenAI({
        baseURL: "https://gw/models/support-bot/v1",
        apiKey: "sk-anything",
        fetch: fetchVia,
        maxRetries: 0,
      }).chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }] }),
    ).rejects.toMatchObject({ status: 401 });
  });

  it("a release whose baseUrl is not in PROVIDER_HOSTS (here: the default list) gets no secret and no token", async () => {
    const s = scenario({ authorization: "Bearer runtime-token" });
    const res = await viaWorker(chatReq(s.headers), SECRETS);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("provider_not_listed");
    expect(await s.seen()).toBeNull();
  });
});

describe("without a deployment secret", () => {
  beforeEach(() => publishModels());
  it("the client's own key passes through untouched", async () => {
    const s = scenario({ authorization: "Bearer sk-client" });
    const res = await viaWorker(chatReq(s.headers), {});
    expect(res.status).toBe(200);
    expect((await s.seen())?.headers.authorization).toBe("Bearer sk-client");
  });
});
