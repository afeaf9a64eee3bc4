/**
 * MurmurHash3 (x86_32) pieces on 32-bit words with Math.imul: the table's tuple hash and the shard selector
 * are both built from them. Hot path: plain integer arithmetic, no allocation.
 */

/** One body round: mixes word k into hash state h. */
export function murmur3Round(h: number, k: number): number {
  let x = Math.imul(k, 0xcc9e2d51);
  x = (x << 15) | (x >>> 17);
  x = Math.imul(x, 0x1b873593);
  h ^= x;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Finalisation mix (fmix32), as an unsigned 32-bit value. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
