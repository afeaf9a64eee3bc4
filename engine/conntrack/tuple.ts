/**
 * Integer tuples (struct nf_conntrack_tuple as TUPLE_WORDS u32 words, layout in ct-store.ts): building one
 * from a decoded row (nf_ct_get_tuple), inversion (nf_ct_invert_tuple), equality (nf_ct_tuple_equal) and the
 * keyed hash (hash_conntrack_raw). All functions work on (array, offset) pairs: nothing is allocated.
 */
import type { PacketBatch } from "../decode/packet-batch.js";
import { NFPROTO_IPV4, NFPROTO_IPV6 } from "../decode/packet-batch.js";
import { T_DST, T_PORTS, T_PROTO, T_SRC, TUPLE_WORDS } from "./ct-store.js";
import { fmix32, murmur3Round } from "./murmur3.js";
import { icmpInvertType } from "./proto-icmp.js";
import { icmpv6InvertType } from "./proto-icmpv6.js";

export const IPPROTO_ICMP = 1;
export const IPPROTO_ICMPV6 = 58;

/** nf_ct_get_tuple from row i's outer columns into t[o..o+TUPLE_WORDS). */
export function tupleFromRow(pkt: PacketBatch, i: number, t: Uint32Array, o: number): void {
  tupleFromColumns(pkt.src, pkt.dst, pkt.sport, pkt.dport, pkt.l3, pkt.proto, i, t, o);
}

/** nf_ct_get_tuplepr on the packet quoted by an ICMP error (row i's inner columns). */
export function innerTupleFromRow(pkt: PacketBatch, i: number, t: Uint32Array, o: number): void {
  tupleFromColumns(pkt.isrc, pkt.idst, pkt.isport, pkt.idport, pkt.il3, pkt.iproto, i, t, o);
}

/** One tuple from a row's address, port and protocol columns (outer or inner set). */
function tupleFromColumns(
  src: Uint32Array,
  dst: Uint32Array,
  sport: Uint16Array,
  dport: Uint16Array,
  l3: Uint8Array,
  proto: Uint8Array,
  i: number,
  t: Uint32Array,
  o: number,
): void {
  const a = i * 4;
  t[o + T_SRC] = src[a]!;
  t[o + T_SRC + 1] = src[a + 1]!;
  t[o + T_SRC + 2] = src[a + 2]!;
  t[o + T_SRC + 3] = src[a + 3]!;
  t[o + T_DST] = dst[a]!;
  t[o + T_DST + 1] = dst[a + 1]!;
  t[o + T_DST + 2] = dst[a + 2]!;
  t[o + T_DST + 3] = dst[a + 3]!;
  t[o + T_PORTS] = ((sport[i]! << 16) | dport[i]!) >>> 0;
  t[o + T_PROTO] = (l3[i]! << 8) | proto[i]!;
}

/**
 * nf_ct_invert_tuple: swap addresses; ports/keys swapped, except ICMP/ICMPv6 which keep id and code and map
 * the type through invmap. Returns false (d untouched or partly written) when the tuple is not invertible.
 */
export function invertTuple(s: Uint32Array, so: number, d: Uint32Array, o: number): boolean {
  const proto = s[so + T_PROTO]!;
  const protonum = proto & 0xff;
  const l3 = proto >>> 8;
  const ports = s[so + T_PORTS]!;
  let inv: number;
  if (protonum === IPPROTO_ICMP && l3 === NFPROTO_IPV4) {
    const r = icmpInvertType(ports >>> 8);
    if (r < 0) return false;
    inv = ((ports & 0xffff00ff) | (r << 8)) >>> 0;
  } else if (protonum === IPPROTO_ICMPV6 && l3 === NFPROTO_IPV6) {
    const r = icmpv6InvertType(ports >>> 8);
    if (r < 0) return false;
    inv = ((ports & 0xffff00ff) | (r << 8)) >>> 0;
  } else {
    inv = ((ports << 16) | (ports >>> 16)) >>> 0;
  }
  d[o + T_SRC] = s[so + T_DST]!;
  d[o + T_SRC + 1] = s[so + T_DST + 1]!;
  d[o + T_SRC + 2] = s[so + T_DST + 2]!;
  d[o + T_SRC + 3] = s[so + T_DST + 3]!;
  d[o + T_DST] = s[so + T_SRC]!;
  d[o + T_DST + 1] = s[so + T_SRC + 1]!;
  d[o + T_DST + 2] = s[so + T_SRC + 2]!;
  d[o + T_DST + 3] = s[so + T_SRC + 3]!;
  d[o + T_PORTS] = inv;
  d[o + T_PROTO] = proto;
  return true;
}

/** nf_ct_tuple_equal (dir is not part of the tuple words). */
export function tupleEqual(a: Uint32Array, ao: number, b: Uint32Array, bo: number): boolean {
  for (let k = 0; k < TUPLE_WORDS; k++) if (a[ao + k] !== b[bo + k]) return false;
  return true;
}

/** Copies one tuple. */
export function tupleCopy(s: Uint32Array, so: number, d: Uint32Array, o: number): void {
  for (let k = 0; k < TUPLE_WORDS; k++) d[o + k] = s[so + k]!;
}

/**
 * hash_conntrack_raw: a keyed 32-bit hash over the tuple words (the kernel uses SipHash-2-4 with a boot-time
 * random key over the same 39 bytes; any well-mixed keyed hash gives the same chain statistics). Written here
 * (murmur3 rounds with Math.imul) because the hot path must not allocate or convert to strings.
 */
export function hashTuple(t: Uint32Array, o: number, seed: number): number {
  let h = seed | 0;
  for (let k = 0; k < TUPLE_WORDS; k++) h = murmur3Round(h, t[o + k]!);
  return fmix32(h ^ (TUPLE_WORDS * 4));
}

/** reciprocal_scale(hash, n) = (u64)hash * n >> 32, exact in doubles for n < 2^37. */
export function reciprocalScale(hash: number, n: number): number {
  const hi = (hash >>> 16) * n;
  const lo = (hash & 0xffff) * n;
  return Math.floor((hi + Math.floor(lo / 65536)) / 65536);
}
