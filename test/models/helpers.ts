/** Shared setup for the model-traffic tests: releases pointed at the mock provider, SDK clients at the gateway. */

import { SELF } from "cloudflare:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { inject } from "vitest";
import type { Manifest } from "../../src/release/schema";
import type { Override } from "../../src/routing/override";
import { manifest, snapshot } from "../helpers/fixtures";
import { freshIsolate } from "../helpers/publish";

export const provider = inject("provider");
const upstream = inject("upstream");

export const TOOLS: Manifest["tools"] = [
  { name: "search_kb", risk: "read" },
  { name: "send_email", risk: "write" },
  { name: "issue_refund", risk: "destructive", approval: "always" },
];

export function openaiRelease(version: string, extra: Partial<Manifest> = {}): Manifest {
  const model = {
    provider: "openai",
    name: "gpt-test",
    baseUrl: `${provider}/v1`,
    params: { temperature: 0.2 },
  } as const;
  return manifest("support-bot", version, upstream, { model, tools: TOOLS, ...extra });
}

export function anthropicRelease(version: string, extra: Partial<Manifest> = {}): Manifest {
  const model = {
    provider: "anthropic",
    name: "claude-test",
    baseUrl: `${provider}/v1`,
    params: { temperature: 0.2, max_tokens: 256 },
  } as const;
  return manifest("claude-bot", version, upstream, { model, tools: TOOLS, ...extra });
}

/** Publishes support-bot (OpenAI) and claude-bot (Anthropic), each with one active release, plus overrides. */
export async function publishModels(overrides: Override[] = [], revision = 1): Promise<void> {
  await freshIsolate(
    await snapshot(
      revision,
      {
        "support-bot": { releases: [openaiRelease("v1")], pointers: { active: "v1", fallback: "off" } },
        "claude-bot": { releases: [anthropicRelease("v1")], pointers: { active: "v1", fallback: "off" } },
      },
      overrides,
    ),
  );
}

const viaGateway = (url: RequestInfo | URL, init?: RequestInit) => SELF.fetch(url, init);

export const openai = (agent = "support-bot") =>
  new OpenAI({ baseURL: `https://gw/models/${agent}/v1`, apiKey: "sk-client", fetch: viaGateway, maxRetries: 0 });

export const anthropic = (agent = "claude-bot") =>
  new Anthropic({ baseURL: `https://gw/models/${agent}`, apiKey: "sk-ant-client", fetch: viaGateway, maxRetries: 0 });

let counter = 0;
/** Headers selecting a mock scenario, with a fresh record id; `seen()` returns what the provider received. */
export function scenario(h: Record<string, string> = {}) {
  const id = `t${Date.now()}-${counter++}`;
  return {
    headers: { "x-mock-id": id, ...h },
    seen: async () =>
      (await (await fetch(`${provider}/_seen/${id}`)).json()) as {
        headers: Record<string, string>;
        body: Record<string, unknown> & { tools?: Record<string, unknown>[] };
      },
  };
}

/** Function-tool definitions in the Chat Completions shape. */
export const chatTools = (...names: string[]) =>
  names.map((name) => ({
    type: "function" as const,
    function: { name, parameters: { type: "object", properties: { query: { type: "string" } } } },
  }));

/** A provider answer stored on the mock provider verbatim: status, headers and the body's chunks. */
export interface ScriptedAnswer {
  status?: number;
  headers?: Record<string, string>;
  chunks: string[];
}

/** Stores a scripted answer; the returned headers make the mock provider send it. */
export async function scripted(answer: ScriptedAnswer): Promise<Record<string, string>> {
  const id = `s${Date.now()}-${counter++}`;
  const res = await fetch(`${provider}/_script/${id}`, { method: "PUT", body: JSON.stringify(answer) });
  if (res.status !== 204) throw new Error(`script not stored: ${res.status}`);
  return { "x-mock-script": id };
}

/** One server-sent event with JSON data (and an optional event name). */
export const sse = (data: unknown, event?: string): string =>
  `${event === undefined ? "" : `event: ${event}\n`}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;

export const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8" };
