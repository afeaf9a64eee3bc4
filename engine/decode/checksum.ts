/**
 * Internet checksum (RFC 1071) and CRC32c (SCTP, RFC 4960 appendix B), written here because they are the
 * main per-byte cost of decoding full-size frames; no allocation per call.
 *
 * The one's-complement sum is byte-order independent up to a byte swap: we sum aligned little-endian
 * 32-bit words through a Uint32Array view of the underlying buffer and swap once at the end. Over a capture
 * chunk (a WebAssembly memory, engine/capture/chunk-memory.ts) the sum runs in WebAssembly SIMD instead
 * (checksum-simd.ts), 16 bytes a step.
 */

import { chunkMemoryOf } from "../capture/chunk-memory.js";
import { type SimdSum, simdSumFor } from "./checksum-simd.js";

// Two cached views (capture chunk + reassembly buffer alternate), created per backing buffer, not per packet.
let viewBufA: ArrayBufferLike | null = null;
let viewA: Uint32Array = new Uint32Array(0);
let viewBufB: ArrayBufferLike | null = null;
let viewB: Uint32Array = new Uint32Array(0);

// The last byte array seen, with its word view and byteOffset: most calls pass the same capture chunk, found
// without reading `.buffer` or `.byteOffset` (accessors that optimized code calls generically when it has
// seen both Node Buffers and plain Uint8Arrays).
let lastBytes: Uint8Array | null = null;
let lastWords: Uint32Array = viewA;
let lastOffset = 0;
/** The SIMD sum over lastBytes' memory when it is a capture chunk (see checksum-simd.ts), else null. */
let lastSimd: SimdSum | null = null;

function select(buf: Uint8Array): void {
  if (buf === lastBytes) return;
  lastBytes = buf;
  lastWords = wordsOf(buf.buffer);
  lastOffset = buf.byteOffset;
  const mem = chunkMemoryOf(buf.buffer);
  lastSimd = mem === undefined ? null : simdSumFor(mem);
}

/** Longest range one SIMD call sums (its 32-bit lanes cannot overflow below 512 KiB). */
const SIMD_MAX = 0x40000;

function wordsOf(ab: ArrayBufferLike): Uint32Array {
  if (ab === viewBufA) return viewA;
  if (ab === viewBufB) return viewB;
  viewBufB = viewBufA;
  viewB = viewA;
  viewBufA = ab;
  viewA = new Uint32Array(ab, 0, ab.byteLength >>> 2);
  return viewA;
}

/** Folds a non-negative sum (< 2^53) to 16 bits, one's complement. */
export function fold16(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

/**
 * Folds a sum of 32-bit words (< 2^53) to 16 bits: 2^32 = 1 (mod 0xffff), so the high part adds in
 * directly; 0 stays 0, any other multiple of 0xffff becomes 0xffff (as fold16 does).
 */
function fold32(sum: number): number {
  const hi = Math.floor(sum / 4294967296);
  const lo = sum - hi * 4294967296;
  let x = hi + (lo >>> 16) + (lo & 0xffff);
  x = (x & 0xffff) + (x >>> 16);
  return (x & 0xffff) + (x >>> 16);
}

/**
 * Big-endian 16-bit one's-complement sum of buf[start, start+len) (odd length padded with a zero byte),
 * unfolded (< 2^53) or folded: combine partial sums by adding, then fold16.
 *
 * Over a capture chunk of up to SIMD_MAX bytes: the SIMD sum, byte-swapped. Otherwise reads the aligned
 * 32-bit words covering the range, the first and last masked to the range's bytes, sums
 * them as doubles in four accumulators (exact below 2^53: at most 2^20 words per call), folds, and swaps the
 * bytes when the range starts at an even address (there the first byte is a low byte of a little-endian
 * 16-bit half, but the high byte of the big-endian sum).
 */
export function sumBytes(buf: Uint8Array, start: number, len: number): number {
  if (len <= 0) return 0;
  // Over 4 MiB (2^20 words): split at an even length, which keeps every byte's weight.
  if (len > 0x400000) return sumBytes(buf, start, 0x400000) + sumBytes(buf, start + 0x400000, len - 0x400000);
  select(buf);
  const abs = lastOffset + start;
  if (lastSimd !== null && len <= SIMD_MAX) {
    // The sum of the range's little-endian words, byte-swapped into the big-endian one.
    const le = lastSimd(abs, len);
    return ((le & 0xff) << 8) | (le >>> 8);
  }
  const absEnd = abs + len;
  const w = lastWords;
  let i = abs >>> 2;
  const last = (absEnd - 1) >>> 2;
  // The last word runs past the end of the buffer (length not a multiple of 4): rare, byte-wise.
  if (last >= w.length) return sumBytesSlow(buf, start, len);
  const e = absEnd & 3;
  const lastMask = e === 0 ? 0xffffffff : 0xffffffff >>> ((4 - e) << 3);
  const first = w[i]! & (0xffffffff << ((abs & 3) << 3));
  let a: number;
  let b = 0;
  let c = 0;
  let d = 0;
  if (i === last) {
    a = (first & lastMask) >>> 0;
  } else {
    a = (first >>> 0) + ((w[last]! & lastMask) >>> 0);
    i++;
    for (; i + 4 <= last; i += 4) {
      a += w[i]!;
      b += w[i + 1]!;
      c += w[i + 2]!;
      d += w[i + 3]!;
    }
    for (; i < last; i++) a += w[i]!;
  }
  const s = fold32(a + b + c + d);
  return (abs & 1) === 0 ? ((s & 0xff) << 8) | (s >>> 8) : s;
}

/** Byte-wise sumBytes (reference for tests; the fallback at a buffer's unaligned end). */
export function sumBytesSlow(buf: Uint8Array, start: number, len: number): number {
  let acc = 0;
  for (let k = 0; k < len; k++) acc += k & 1 ? buf[start + k]! : buf[start + k]! << 8;
  return acc;
}

/** Final Internet checksum of a sum: 0 means "verifies" when the sum included the checksum field. */
export function csumFinish(sum: number): number {
  return ~fold16(sum) & 0xffff;
}

/** Sum of a 32-bit big-endian word as two 16-bit halves (pseudo-header addresses). */
export function sumWord(w: number): number {
  return (w >>> 16) + (w & 0xffff);
}

// Host byte order check: the word trick above assumes little-endian (every Node target today).
const LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
if (!LE) throw new Error("checksum.ts assumes a little-endian host");

/** CRC32c (Castagnoli, reflected 0x82F63B78) table, computed once. */
const CRC32C = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  CRC32C[n] = c >>> 0;
}

/** CRC32c of buf[start, start+len) (initial ~0, final xor ~0). */
export function crc32c(buf: Uint8Array, start: number, len: number): number {
  let c = 0xffffffff;
  for (let p = start; p < start + len; p++) c = CRC32C[(c ^ buf[p]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * SCTP checksum of an SCTP packet at buf[start, start+len) with the checksum field (bytes 8..11) taken as
 * zero (sctp_compute_cksum): returns the value as the 32-bit little-endian read of the wire field.
 */
export function sctpCrc32c(buf: Uint8Array, start: number, len: number): number {
  let c = 0xffffffff;
  const end = start + len;
  const csum = start + 8;
  for (let p = start; p < csum && p < end; p++) c = CRC32C[(c ^ buf[p]!) & 0xff]! ^ (c >>> 8);
  for (let p = csum; p < csum + 4 && p < end; p++) c = CRC32C[c & 0xff]! ^ (c >>> 8);
  for (let p = csum + 4; p < end; p++) c = CRC32C[(c ^ buf[p]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
