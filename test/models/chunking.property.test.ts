/**
 * However the provider's bytes are split into chunks — inside a UTF-8 sequence, between CR and LF, mid-JSON —
 * the client receives the same filtered stream. Also pins the parser against a one-chunk reference.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chatStreamFilter } from "../../src/proxy/models/chat-response";
import { messagesStreamFilter } from "../../src/proxy/models/messages-response";
import { ToolGate } from "../../src/proxy/models/policy";
import { responsesStreamFilter } from "../../src/proxy/models/responses-response";
import { SseParser } from "../../src/proxy/models/sse";
import { chatStream, filterText, messagesStream, responsesStream } from "./streams";

const policy = { allowed: new Set(["search_kb", "send_email", "issue_refund"]), approval: new Set(["issue_refund"]) };
const TOOL_NAMES = ["search_kb", "drop_db", "send_email", "issue_refund", "web_search"];

const APIS = [
  { name: "chat", build: chatStream, filter: chatStreamFilter },
  { name: "responses", build: responsesStream, filter: responsesStreamFilter },
  { name: "messages", build: messagesStream, filter: messagesStreamFilter },
] as const;

/** Splits bytes at the given cut points (any order, duplicates allowed). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  return out;
}

describe("stream filters are independent of chunking", () => {
  for (const api of APIS) {
    it(`${api.name}: every split of the upstream bytes gives the same client stream`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.constantFrom(...TOOL_NAMES), { maxLength: 4 }),
          fc.array(fc.nat(), { maxLength: 40 }),
          async (tools, cuts) => {
            const bytes = new TextEncoder().encode(api.build(tools));
            const whole = await filterText(api.filter(new ToolGate(policy)), [bytes]);
            const gate = new ToolGate(policy);
            const pieces = await filterText(api.filter(gate), split(bytes, cuts));
            expect(pieces).toBe(whole);
            expect(gate.blocked).toEqual(tools.filter((t) => !policy.allowed.has(t)));
          },
        ),
        { numRuns: 150 },
      );
    });
  }

  it("the parser yields the same events, with the same raw text, for any split and any line ending", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom("data", "event", "id", ": c", "data"), fc.string({ unit: "grapheme" })), {
          maxLength: 12,
        }),
        fc.constantFrom("\n", "\r\n", "\r"),
        fc.array(fc.nat(), { maxLength: 30 }),
        (fields, eol, cuts) => {
          const text = fields
            .map(([f, v], i) => `${f}: ${v.replace(/[\r\n]/g, "")}${eol}${i % 3 === 2 ? eol : ""}`)
            .join("");
          const bytes = new TextEncoder().encode(text);
          const one = new SseParser();
          const expected = [...one.push(bytes), ...one.end()];
          const many = new SseParser();
          const got = [...split(bytes, cuts).flatMap((c) => many.push(c)), ...many.end()];
          expect(got).toEqual(expected);
          expect(got.map((e) => e.raw).join("")).toBe(text);
        },
      ),
      { numRuns: 300 },
    );
  });
});
