/**
 * An independent MurmurHash3_x86_32 written from the published algorithm (Austin Appleby, MurmurHash3.cpp),
 * over bytes rather than a string: the yardstick for src/routing/murmur3.ts. Deliberately plain and unoptimised.
 */

function mul32(a: number, b: number): number {
  // 32-bit multiply without Math.imul, split into 16-bit halves so no product exceeds 2^53.
  const lo = (a & 0xffff) * b;
  const hi = (((a >>> 16) * b) & 0xffff) << 16;
  return (lo + hi) >>> 0;
}

const rotl32 = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = mul32(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = mul32(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function murmur3Reference(data: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const nblocks = Math.floor(data.length / 4);
  let h1 = seed >>> 0;
  for (let i = 0; i < nblocks; i++) {
    const o = i * 4;
    let k1 = (data[o]! | (data[o + 1]! << 8) | (data[o + 2]! << 16) | (data[o + 3]! << 24)) >>> 0;
    k1 = mul32(k1, c1);
    k1 = rotl32(k1, 15);
    k1 = mul32(k1, c2);
    h1 = (h1 ^ k1) >>> 0;
    h1 = rotl32(h1, 13);
    h1 = (mul32(h1, 5) + 0xe6546b64) >>> 0;
  }
  const tail = nblocks * 4;
  let k1 = 0;
  const rest = data.length & 3;
  if (rest >= 3) k1 ^= data[tail + 2]! << 16;
  if (rest >= 2) k1 ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    k1 ^= data[tail]!;
    k1 = mul32(k1 >>> 0, c1);
    k1 = rotl32(k1, 15);
    k1 = mul32(k1, c2);
    h1 = (h1 ^ k1) >>> 0;
  }
  h1 = (h1 ^ data.length) >>> 0;
  return fmix32(h1);
}

export const murmur3OfText = (text: string, seed = 0): number => murmur3Reference(new TextEncoder().encode(text), seed);
