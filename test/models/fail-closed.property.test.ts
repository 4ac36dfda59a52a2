/**
 * The fail-closed promise as a property (CONTRACT §2.2.1; docs/threat-model.md P1): for generated provider answers
 * — JSON and SSE of all three APIs, disallowed calls anywhere, reused indices with new ids, content types in any
 * case, a malformed event or a cut JSON body — cut into arbitrary chunks, the client never receives a disallowed
 * tool's name or any byte of its arguments, and, when the answer was well-formed, every allowed call arrives
 * whole, in order. Run on the pure filters with many cases, and through the real Worker with fewer.
 */
import { SELF } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { MODEL_APIS } from "../../src/proxy/models/apis";
import { enforceResponse } from "../../src/proxy/models/enforce";
import { ToolGate } from "../../src/proxy/models/policy";
import { override } from "../helpers/fixtures";
import { ALLOWED, type Answer, answers, reconstruct } from "./answers";
import { publishModels, scripted } from "./helpers";

const policy = { allowed: new Set(ALLOWED), approval: new Set<string>() };

function split(text: string, cuts: number[]): Uint8Array[] {
  const bytes = new TextEncoder().encode(text);
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  return out;
}

/** The client's side of one answer: the status and the text it reads (a 502 error body for an unfilterable one). */
async function throughFilter(a: Answer, cuts: number[]): Promise<{ status: number; text: string }> {
  const api = MODEL_APIS.find((m) => m.path === a.api)!;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of split(a.text, cuts)) c.enqueue(chunk);
      c.close();
    },
  });
  const upstream = new Response(body, { status: 200, headers: { "content-type": a.contentType } });
  const pending: Promise<unknown>[] = [];
  try {
    const res = await enforceResponse(upstream, api, new ToolGate(policy), { waitUntil: (p) => pending.push(p) });
    const text = await res.text();
    await Promise.all(pending);
    return { status: res.status, text };
  } catch (err) {
    return { status: (err as { status?: number }).status ?? 500, text: String(err) };
  }
}

function requestFor(a: Answer): Record<string, unknown> {
  const messages = [{ role: "user", content: "hi" }];
  if (a.api === "responses") return { stream: a.stream, input: "hi" };
  return a.api === "messages" ? { stream: a.stream, max_tokens: 5, messages } : { stream: a.stream, messages };
}

function check(a: Answer, status: number, text: string): void {
  for (const c of a.calls) {
    if (ALLOWED.includes(c.name)) continue;
    expect(text).not.toContain(c.name);
    expect(text).not.toContain(JSON.parse(c.args).q);
  }
  if (a.malformed) {
    // Never passed on unread: a 502 for JSON, the API's error event ending a stream.
    if (!a.stream) expect(status).toBe(502);
    else expect(text).toMatch(/unfilterable_response|api_error|withheld/);
    return;
  }
  expect(status).toBe(200);
  const allowed = a.calls.filter((c) => ALLOWED.includes(c.name)).map((c) => ({ name: c.name, args: c.args }));
  expect(reconstruct(a.api, a.stream, text)).toEqual(allowed);
}

describe("no disallowed call ever reaches the client; allowed calls arrive whole", () => {
  it("the pure filters, every API, JSON and SSE, any chunking", async () => {
    await fc.assert(
      fc.asyncProperty(answers, fc.array(fc.nat(), { maxLength: 30 }), async (a, cuts) => {
        const { status, text } = await throughFilter(a, cuts);
        check(a, status, text);
      }),
      { numRuns: 400 },
    );
  });

  describe("through the Worker, draft-only lanes, the real local provider writing the answer chunk by chunk", () => {
    beforeAll(async () => {
      await publishModels(
        [
          override("ovr_p1", { agent: "support-bot" }, { mode: "draft-only" }),
          override("ovr_p2", { agent: "claude-bot" }, { mode: "draft-only" }),
        ],
        7,
      );
    });

    it("holds for generated answers", async () => {
      await fc.assert(
        fc.asyncProperty(answers, fc.array(fc.nat(), { maxLength: 12 }), async (a, cuts) => {
          const chunks = split(a.text, cuts).map((b) => new TextDecoder().decode(b));
          // Pieces are decoded one by one: a cut inside a multi-byte character cannot happen here (ASCII only).
          const h = await scripted({ headers: { "content-type": a.contentType }, chunks });
          const agent = a.api === "messages" ? "claude-bot" : "support-bot";
          const res = await SELF.fetch(`https://gw/models/${agent}/v1/${a.api}`, {
            method: "POST",
            headers: { "content-type": "application/json", ...h },
            body: JSON.stringify(requestFor(a)),
          });
          const text = await res.text();
          check(a, res.status, text);
        }),
        { numRuns: 25 },
      );
    });
  });
});
