/**
 * The Internet checksum's byte sum in WebAssembly SIMD, over capture chunks that live in WebAssembly memory
 * (engine/capture/chunk-memory.ts), so full-size frames are summed in place 16 bytes at a time; JS sums
 * 4 bytes per step (checksum.ts), and on full-size captures that sum was ~40 % of read + decode.
 *
 * The module is a few dozen bytes assembled here rather than a toolchain's output: one function,
 * sum(p, n) -> the one's-complement sum of the little-endian 16-bit words of mem[p, p + n) (an odd last
 * byte as a low byte), folded to 16 bits. checksum.ts byte-swaps it into the big-endian sum (RFC 1071:
 * the sum is byte-order independent up to a swap).
 */

// Opcodes (WebAssembly core + SIMD proposal), named as in the text format.
const BLOCK = 0x02;
const LOOP = 0x03;
const EMPTY = 0x40;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_LOAD8_U = 0x2d;
const I32_LOAD16_U = 0x2f;
const I32_CONST = 0x41;
const I64_CONST = 0x42;
const I32_EQZ = 0x45;
const I32_LT_U = 0x49;
const I64_GT_U = 0x56;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I64_ADD = 0x7c;
const I64_AND = 0x83;
const I64_SHR_U = 0x88;
const I32_WRAP_I64 = 0xa7;
const I64_EXTEND_I32_U = 0xad;
const SIMD = 0xfd;
const V128_LOAD = [SIMD, 0x00];
const I32X4_EXTRACT_LANE = [SIMD, 0x1b];
const I32X4_EXTADD_PAIRWISE_I16X8_U = [SIMD, 0x7f];
const I32X4_ADD = [SIMD, 0xae, 0x01];
const I32 = 0x7f;
const I64 = 0x7e;
const V128 = 0x7b;
/** memarg: alignment hint 1 byte (loads may be unaligned), offset 0. */
const MEMARG = [0x00, 0x00];

// Locals: params p = 0, n = 1; end = 2, acc = 3 (v128), s = 4 (i64).
const P = 0;
const N = 1;
const E = 2;
const ACC = 3;
const S = 4;

/** Unsigned LEB128 (section and vector sizes). */
function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of a non-negative constant (i32.const / i64.const immediates). */
function sleb(n: number): number[] {
  const out: number[] = [];
  let v = n;
  for (;;) {
    const b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v === 0 && (b & 0x40) === 0) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

/** s += lane k of acc (as u32). */
const addLane = (k: number): number[] => [
  LOCAL_GET,
  S,
  LOCAL_GET,
  ACC,
  ...I32X4_EXTRACT_LANE,
  k,
  I64_EXTEND_I32_U,
  I64_ADD,
  LOCAL_SET,
  S,
];

/** while (end - p >= k) { step; p += k } (k < 64: a one-byte signed LEB immediate). */
const stepLoop = (k: number, step: number[]): number[] => [
  BLOCK,
  EMPTY,
  LOOP,
  EMPTY,
  LOCAL_GET,
  E,
  LOCAL_GET,
  P,
  I32_SUB,
  I32_CONST,
  k,
  I32_LT_U,
  BR_IF,
  1,
  ...step,
  LOCAL_GET,
  P,
  I32_CONST,
  k,
  I32_ADD,
  LOCAL_SET,
  P,
  BR,
  0,
  END,
  END,
];

const body: number[] = [
  // Locals: 1 x i32 (end), 1 x v128 (acc), 1 x i64 (s), all zero-initialised.
  3,
  1,
  I32,
  1,
  V128,
  1,
  I64,
  // end = p + n
  LOCAL_GET,
  P,
  LOCAL_GET,
  N,
  I32_ADD,
  LOCAL_SET,
  E,
  // 16 bytes a step: the 8 words pairwise-added into 4 u32 lanes (each step adds < 2^17 per lane, so a
  // call of under 512 KiB cannot overflow; checksum.ts sums longer ranges in JavaScript).
  ...stepLoop(16, [
    LOCAL_GET,
    ACC,
    LOCAL_GET,
    P,
    ...V128_LOAD,
    ...MEMARG,
    ...I32X4_EXTADD_PAIRWISE_I16X8_U,
    ...I32X4_ADD,
    LOCAL_SET,
    ACC,
  ]),
  ...addLane(0),
  ...addLane(1),
  ...addLane(2),
  ...addLane(3),
  // The last 0-15 bytes: whole words, then an odd byte as a low byte.
  ...stepLoop(2, [
    LOCAL_GET,
    S,
    LOCAL_GET,
    P,
    I32_LOAD16_U,
    ...MEMARG,
    I64_EXTEND_I32_U,
    I64_ADD,
    LOCAL_SET,
    S,
  ]),
  BLOCK,
  EMPTY,
  LOCAL_GET,
  E,
  LOCAL_GET,
  P,
  I32_SUB,
  I32_EQZ,
  BR_IF,
  0,
  LOCAL_GET,
  S,
  LOCAL_GET,
  P,
  I32_LOAD8_U,
  ...MEMARG,
  I64_EXTEND_I32_U,
  I64_ADD,
  LOCAL_SET,
  S,
  END,
  // Fold: while s > 0xffff: s = (s & 0xffff) + (s >> 16).
  BLOCK,
  EMPTY,
  LOOP,
  EMPTY,
  LOCAL_GET,
  S,
  I64_CONST,
  ...sleb(0xffff),
  I64_GT_U,
  I32_EQZ,
  BR_IF,
  1,
  LOCAL_GET,
  S,
  I64_CONST,
  ...sleb(0xffff),
  I64_AND,
  LOCAL_GET,
  S,
  I64_CONST,
  16,
  I64_SHR_U,
  I64_ADD,
  LOCAL_TEE,
  S,
  BR,
  0,
  END,
  END,
  LOCAL_GET,
  S,
  I32_WRAP_I64,
  END,
];

const MODULE = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00,
  // type 0: (i32, i32) -> i32
  ...section(1, [1, 0x60, 2, I32, I32, 1, I32]),
  // import env.mem: memory, no minimum
  ...section(2, [1, ...name("env"), ...name("mem"), 0x02, 0x00, 0x00]),
  // function 0 has type 0
  ...section(3, [1, 0]),
  // export "sum" = function 0
  ...section(7, [1, ...name("sum"), 0x00, 0]),
  ...section(10, [1, ...uleb(body.length), ...body]),
]);

export type SimdSum = (p: number, n: number) => number;

let compiled: WebAssembly.Module | null | undefined;

function module(): WebAssembly.Module | null {
  if (compiled === undefined) {
    // A host without WebAssembly SIMD (or a build that rejects the module) keeps the JS sum.
    try {
      compiled = WebAssembly.validate(MODULE) ? new WebAssembly.Module(MODULE) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

const instances = new WeakMap<WebAssembly.Memory, SimdSum | null>();

/** The sum function over `mem`, or null when WebAssembly SIMD is unavailable. One instance per memory. */
export function simdSumFor(mem: WebAssembly.Memory): SimdSum | null {
  let f = instances.get(mem);
  if (f === undefined) {
    const m = module();
    f = m === null ? null : (new WebAssembly.Instance(m, { env: { mem } }).exports.sum as SimdSum);
    instances.set(mem, f);
  }
  return f;
}

/** Whether this host runs the SIMD sum (for tests and the bench's report). */
export function simdAvailable(): boolean {
  return module() !== null;
}
