/**
 * base64url (RFC 4648 §5, no padding) of a string's UTF-8 bytes: the x-agent-context header. The ASCII fast path
 * and the general path must agree with a plain byte-by-byte encoding for every string.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base64url } from "../../src/routing/served";

function reference(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

describe("base64url", () => {
  it.each(["", "f", "fo", "foo", "foob", '{"a":"~~~???>>>"}', "é", "中文", "🙂", "\uD800", "\u00ff\u0080"])(
    "%j",
    (s) => {
      expect(base64url(s)).toBe(reference(s));
    },
  );
  it("equals the byte-by-byte encoding on arbitrary strings", () => {
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: "grapheme", maxLength: 50 }),
      fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 50 }),
    );
    fc.assert(
      fc.property(text, (s) => {
        expect(base64url(s)).toBe(reference(s));
      }),
      { numRuns: 2000 },
    );
  });
});
