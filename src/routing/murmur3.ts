/**
 * MurmurHash3, x86 32-bit variant (Austin Appleby's public-domain reference, `MurmurHash3_x86_32`), over the
 * UTF-8 bytes of a string. Bytes are produced on the fly, so hashing allocates nothing. Lone surrogates encode
 * as U+FFFD, exactly as TextEncoder does, so this equals hashing `new TextEncoder().encode(s)`.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

export function murmur3(text: string, seed = 0): number {
  let h = seed | 0;
  let block = 0; // bytes of the current 4-byte block, little-endian
  let filled = 0; // how many bytes `block` holds
  let length = 0;

  const feed = (byte: number): void => {
    block |= byte << (filled * 8);
    filled++;
    length++;
    if (filled === 4) {
      h = mixBlock(h, block);
      block = 0;
      filled = 0;
    }
  };

  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp < 0x80) {
      feed(cp);
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
      const lo = text.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // lone surrogate
    if (cp < 0x800) {
      feed(0xc0 | (cp >> 6));
      feed(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      feed(0xe0 | (cp >> 12));
      feed(0x80 | ((cp >> 6) & 0x3f));
      feed(0x80 | (cp & 0x3f));
    } else {
      feed(0xf0 | (cp >> 18));
      feed(0x80 | ((cp >> 12) & 0x3f));
      feed(0x80 | ((cp >> 6) & 0x3f));
      feed(0x80 | (cp & 0x3f));
    }
  }

  if (filled > 0) {
    let k = Math.imul(block, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Number of buckets a canary percentage is expressed in: 0.01 % steps (CONTRACT §2.1). */
export const BUCKETS = 10_000;

/** The sticky bucket of a key for one canary version: the same key and version always land in the same bucket. */
export function stickyBucket(agent: string, canaryVersion: string, key: string): number {
  return murmur3(`${agent}:${canaryVersion}:${key}`) % BUCKETS;
}

/** The bucket bound below which the canary serves: `round(percent × 100)`. */
export const canaryThreshold = (percent: number): number => Math.round(percent * 100);

/** The murmur3 state after hashing `{agent}:{canaryVersion}:`: computed once per canary when a snapshot is indexed. */
export interface HashPrefix {
  readonly text: string;
  readonly h: number;
  readonly tail: number;
  readonly tailBytes: number;
  readonly length: number;
}

export function hashPrefix(agent: string, canaryVersion: string): HashPrefix {
  const text = `${agent}:${canaryVersion}:`;
  const bytes = new TextEncoder().encode(text);
  let h = 0;
  let i = 0;
  for (; i + 4 <= bytes.length; i += 4)
    h = mixBlock(
      h,
      (bytes[i] as number) |
        ((bytes[i + 1] as number) << 8) |
        ((bytes[i + 2] as number) << 16) |
        ((bytes[i + 3] as number) << 24),
    );
  let tail = 0;
  let tailBytes = 0;
  for (; i < bytes.length; i++) tail |= (bytes[i] as number) << (8 * tailBytes++);
  return { text, h, tail, tailBytes, length: bytes.length };
}

/**
 * `stickyBucket(agent, canaryVersion, key)` for the prefix of that agent and canary version: only the key is hashed,
 * four ASCII characters per block, without building the joined string. A non-ASCII key takes the general path.
 */
export function stickyBucketAfter(p: HashPrefix, key: string): number {
  let h = p.h;
  let k = p.tail;
  let f = p.tailBytes;
  const n = key.length;
  let i = 0;
  for (; f !== 0 && i < n; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return murmur3(p.text + key) % BUCKETS;
    k |= c << (f << 3);
    if (++f === 4) {
      h = mixBlock(h, k);
      k = 0;
      f = 0;
    }
  }
  for (; i + 4 <= n; i += 4) {
    const a = key.charCodeAt(i);
    const b = key.charCodeAt(i + 1);
    const c = key.charCodeAt(i + 2);
    const d = key.charCodeAt(i + 3);
    if ((a | b | c | d) >= 0x80) return murmur3(p.text + key) % BUCKETS;
    h = mixBlock(h, a | (b << 8) | (c << 16) | (d << 24));
  }
  for (; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return murmur3(p.text + key) % BUCKETS;
    k |= c << (f++ << 3);
  }
  if (f > 0) {
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= p.length + n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % BUCKETS;
}
