/**
 * The fast Internet-checksum sum (masked aligned words, double accumulators, inputs over 4 MiB split) against
 * the byte-wise reference on inputs long enough to be split, with all-0xff bytes (largest partial sums, where
 * an accumulator would lose precision first) and random bytes, at every start alignment.
 */
import { describe, expect, it } from "vitest";
import { fold16, sumBytes, sumBytesSlow } from "../engine/decode/checksum.js";

describe("sumBytes on long inputs", () => {
  const n = 0x400000 + 300_000; // split at 4 MiB
  const ones = new Uint8Array(n + 8).fill(0xff);
  const rnd = new Uint8Array(n + 8);
  let x = 12345;
  for (let i = 0; i < rnd.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    rnd[i] = x >>> 24;
  }
  for (const [name, buf] of [
    ["all 0xff", ones],
    ["random", rnd],
  ] as const) {
    it(`${name}: equals the byte-wise sum, also when split`, () => {
      for (let start = 0; start < 4; start++) {
        for (const len of [65_535, 65_536, 65_537, 131_072 + 3, 0x400000, 0x400000 + 1, n]) {
          expect(fold16(sumBytes(buf, start, len))).toBe(fold16(sumBytesSlow(buf, start, len)));
        }
      }
    });
  }
});
