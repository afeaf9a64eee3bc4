/**
 * Internet checksum (RFC 1071) and CRC32c (SCTP, RFC 4960 appendix B), written here because they are the
 * main per-byte cost of decoding full-size frames; no allocation per call.
 *
 * The one's-complement sum is byte-order independent up to a byte swap: we sum aligned little-endian
 * 32-bit words through a Uint32Array view of the underlying buffer and swap once at the end.
 */

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

function select(buf: Uint8Array): void {
  if (buf === lastBytes) return;
  lastBytes = buf;
  lastWords = wordsOf(buf.buffer);
  lastOffset = buf.byteOffset;
}

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
 * Unfolded big-endian 16-bit one's-complement sum of buf[start, start+len) (odd length padded with a zero
 * byte), as a number < 2^53. Combine partial sums by adding, then fold16.
 */
export function sumBytes(buf: Uint8Array, start: number, len: number): number {
  const end = start + len;
  let acc = 0;
  let p = start;
  select(buf);
  const byteOffset = lastOffset;
  const abs0 = byteOffset + start;
  // Head: bytes until the absolute address is 4-aligned (weight 256 at even distance from start).
  let head = (4 - (abs0 & 3)) & 3;
  if (head > len) head = len;
  for (let k = 0; k < head; k++, p++) acc += (p - start) & 1 ? buf[p]! : buf[p]! << 8;
  const nWords = (end - p) >>> 2;
  if (nWords > 0) {
    const w = lastWords;
    let i = (byteOffset + p) >>> 2;
    const iEnd = i + nWords;
    let s = 0;
    while (i < iEnd) {
      // Each word adds its two 16-bit halves (< 2^17) to one of two int32 accumulators: chunks of 2^14 words
      // keep both below 2^31, so the loop stays in integer registers (1.4x faster than summing u32 words as
      // doubles).
      const cEnd = iEnd - i > 0x4000 ? i + 0x4000 : iEnd;
      let a = 0;
      let c = 0;
      for (; i + 2 <= cEnd; i += 2) {
        const u = w[i]!;
        const v = w[i + 1]!;
        a = (a + (u & 0xffff) + (u >>> 16)) | 0;
        c = (c + (v & 0xffff) + (v >>> 16)) | 0;
      }
      if (i < cEnd) {
        const u = w[i++]!;
        a = (a + (u & 0xffff) + (u >>> 16)) | 0;
      }
      s += a + c;
    }
    // Little-endian host: byte at even distance from p has weight 1 -> swap to big-endian weights when the
    // aligned start is at even distance from `start`.
    let s16 = fold16(s);
    if (((p - start) & 1) === 0) s16 = ((s16 & 0xff) << 8) | (s16 >>> 8);
    acc += s16;
    p += nWords << 2;
  }
  for (; p < end; p++) acc += (p - start) & 1 ? buf[p]! : buf[p]! << 8;
  return acc;
}

/** Same as sumBytes without the aligned fast path (reference for tests). */
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
