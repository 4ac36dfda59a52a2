/**
 * The canary hash (CONTRACT §2.1): murmur3_x86_32 over the UTF-8 bytes of `{agent}:{canaryVersion}:{key}`,
 * seed 0, mod 10000. The reference in ./murmur3-reference.ts is checked against the published test vectors, the
 * gateway's byte-free implementation against the reference, and a table of buckets is pinned so it never drifts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BUCKETS, hashPrefix, murmur3, stickyBucket, stickyBucketAfter } from "../../src/routing/murmur3";
import { murmur3OfText, murmur3Reference } from "./murmur3-reference";

describe("the reference implementation", () => {
  // Published MurmurHash3_x86_32 vectors (SMHasher / the widely quoted table in the algorithm's ports).
  const vectors: [string, number, number][] = [
    ["", 0, 0],
    ["", 1, 0x514e28b7],
    ["", 0xffffffff, 0x81f16f39],
    ["\0\0\0\0", 0, 0x2362f9de],
    ["a", 0x9747b28c, 0x7fa09ea6],
    ["aa", 0x9747b28c, 0x5d211726],
    ["aaa", 0x9747b28c, 0x283e0130],
    ["aaaa", 0x9747b28c, 0x5a97808a],
    ["ab", 0x9747b28c, 0x74875592],
    ["abc", 0x9747b28c, 0xc84a62dd],
    ["abcd", 0x9747b28c, 0xf0478627],
    ["abc", 0, 0xb3dd93fa],
    ["Hello, world!", 0x9747b28c, 0x24884cba],
    ["The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2fa826cd],
  ];
  it.each(vectors)("%j seed %i", (text, seed, want) => {
    expect(murmur3OfText(text, seed)).toBe(want);
  });

  it.each([
    [[0xff, 0xff, 0xff, 0xff], 0x76293b50],
    [[0x21, 0x43, 0x65, 0x87], 0xf55b516b],
  ])("bytes %j seed 0", (bytes, want) => {
    expect(murmur3Reference(new Uint8Array(bytes), 0)).toBe(want);
  });
});

describe("src/routing/murmur3 equals the reference", () => {
  it.each([0, 1, 0x9747b28c, 0xffffffff])("on the published vectors with seed %i", (seed) => {
    for (const s of ["", "a", "ab", "abc", "abcd", "abcde", "Hello, world!", "\0\0\0\0"]) {
      expect(murmur3(s, seed)).toBe(murmur3OfText(s, seed));
    }
  });

  it.each([
    ["two-byte UTF-8", "é ß ñ ü"],
    ["three-byte UTF-8", "中文キー €"],
    ["four-byte UTF-8 (surrogate pair)", "🙂🚀𝄞"],
    ["a lone high surrogate at the end", "key\uD83D"],
    ["a lone low surrogate", "\uDE00key"],
    ["a high surrogate followed by a non-surrogate", "\uD83Dx"],
    ["reversed surrogates", "\uDE00\uD83D"],
    ["U+FFFF and U+0080 boundaries", "\u0080\u07ff\u0800\uffff"],
  ])("on %s", (_what, text) => {
    expect(murmur3(text)).toBe(murmur3OfText(text));
  });

  it("on arbitrary strings, including lone surrogates and astral characters", () => {
    const text = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 40 }),
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
      fc.string({ maxLength: 80 }),
    );
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 0xffffffff }), (s, seed) => {
        expect(murmur3(s, seed)).toBe(murmur3OfText(s, seed));
      }),
      { numRuns: 2000 },
    );
  });

  it("returns an unsigned 32-bit integer", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const h = murmur3(s);
        expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
      }),
    );
  });
});

describe("stickyBucket golden values (never change these: every key would move)", () => {
  const golden: [string, string, string, number][] = [
    ["support-bot", "v2", "user-1", 9398],
    ["support-bot", "v2", "user-2", 264],
    ["support-bot", "v3", "user-1", 3116],
    ["support-bot", "2026.11.27-1", "alice@example.com", 5433],
    ["billing", "v1", "tenant:42", 482],
    ["billing", "v1.0.0-rc.1", "k", 78],
    ["a", "A", "0", 1114],
    ["support-bot", "v2", "ключ-пользователя", 8396],
    ["support-bot", "v2", "🙂 emoji key", 3815],
    ["support-bot", "v2", "\uD800 lone", 9657],
    ["support-bot", "v2", "", 9055],
    ["x".repeat(63), "V".repeat(64), "k".repeat(512), 8068],
  ];
  // Titles are JSON-escaped: a lone surrogate in a test name cannot cross the pool's WebSocket.
  it.each(
    golden.map(([agent, version, key, bucket]) => ({
      title: JSON.stringify(`${agent}:${version}:${key}`),
      agent,
      version,
      key,
      bucket,
    })),
  )("$title → $bucket", ({ agent, version, key, bucket }) => {
    expect(stickyBucket(agent, version, key)).toBe(bucket);
    expect(stickyBucketAfter(hashPrefix(agent, version), key)).toBe(bucket);
    // The literal above was computed by the reference; keep the two tied together.
    expect(murmur3OfText(`${agent}:${version}:${key}`) % BUCKETS).toBe(bucket);
  });

  it("is murmur3 of `{agent}:{version}:{key}` mod 10000", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (a, v, k) => {
        expect(stickyBucket(a, v, k)).toBe(murmur3OfText(`${a}:${v}:${k}`, 0) % 10_000);
      }),
    );
  });
});

describe("stickyBucketAfter (the hot path: the prefix hashed once per canary, then only the key)", () => {
  const text = fc.oneof(
    fc.string({ maxLength: 70 }),
    fc.string({ unit: "grapheme", maxLength: 20 }),
    fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
  );
  it("equals stickyBucket for every agent, version and key, ASCII or not", () => {
    fc.assert(
      fc.property(text, text, text, (a, v, k) => {
        expect(stickyBucketAfter(hashPrefix(a, v), k)).toBe(stickyBucket(a, v, k));
      }),
      { numRuns: 3000 },
    );
  });
  it.each([0, 1, 2, 3, 4, 5, 6, 7])("with a prefix of %i bytes past a block boundary", (pad) => {
    const agent = "a".repeat(pad + 1);
    for (const key of ["", "k", "ke", "key", "key1", "key12", "550e8400-e29b-41d4-a716-446655440000", "é", "ké🙂"]) {
      expect(stickyBucketAfter(hashPrefix(agent, "v1"), key)).toBe(stickyBucket(agent, "v1", key));
    }
  });
});
