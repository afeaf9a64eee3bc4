/** Checksum primitives: the aligned fast path against a byte-by-byte reference, RFC vectors, CRC32c. */
import { describe, expect, it } from "vitest";
import { chunkBuffer, chunkMemoryOf } from "../engine/capture/chunk-memory.js";
import { crc32c, csumFinish, fold16, sctpCrc32c, sumBytes, sumBytesSlow } from "../engine/decode/checksum.js";
import { simdAvailable } from "../engine/decode/checksum-simd.js";
import { L4_CSUM_BAD, L4_UDP_LEN_BAD } from "../engine/decode/packet-batch.js";
import { FRAMES } from "./decode-frames.js";
import { decodeOne, hex } from "./decode-helpers.js";

describe("one's-complement sum", () => {
  it("matches the byte-wise reference for every alignment and length (random data)", () => {
    let seed = 12345;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 24;
    };
    const buf = new Uint8Array(4096 + 16);
    for (let i = 0; i < buf.length; i++) buf[i] = rnd();
    for (let start = 0; start < 8; start++) {
      for (const len of [0, 1, 2, 3, 4, 5, 7, 8, 13, 20, 64, 1499, 1500, 4096]) {
        expect(fold16(sumBytes(buf, start, len))).toBe(fold16(sumBytesSlow(buf, start, len)));
      }
    }
    // Views with a non-zero byteOffset into the same buffer (how capture chunks are handed over).
    const view = buf.subarray(3, 3000);
    expect(fold16(sumBytes(view, 1, 2000))).toBe(fold16(sumBytesSlow(view, 1, 2000)));
  });

  it("capture chunks (WebAssembly memory) are summed by the SIMD path, which matches the reference", () => {
    expect(simdAvailable()).toBe(true); // Node 20 on x64/arm64: a host without it would fall back to JS
    let seed = 777;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 24;
    };
    const chunk = chunkBuffer(70000);
    expect(chunkMemoryOf(chunk.buffer)).toBeDefined();
    for (let i = 0; i < chunk.length; i++) chunk[i] = rnd();
    // Every start parity and every length around the 16-byte SIMD step and the odd trailing byte.
    for (let start = 0; start < 20; start++) {
      for (let len = 0; len <= 70; len++) {
        expect(fold16(sumBytes(chunk, start, len))).toBe(fold16(sumBytesSlow(chunk, start, len)));
      }
      for (const len of [1499, 1500, 9000, 65535]) {
        expect(fold16(sumBytes(chunk, start, len))).toBe(fold16(sumBytesSlow(chunk, start, len)));
      }
    }
    // Sums that fold to 0xffff (all ones) and a lane pushed near its limit; a view with a byteOffset.
    chunk.fill(0xff, 0, 65536);
    for (const len of [2, 16, 4096, 65534]) expect(fold16(sumBytes(chunk, 0, len))).toBe(0xffff);
    for (const len of [17, 65535])
      expect(fold16(sumBytes(chunk, 0, len))).toBe(fold16(sumBytesSlow(chunk, 0, len)));
    const view = chunk.subarray(5, 60000);
    expect(fold16(sumBytes(view, 3, 50001))).toBe(fold16(sumBytesSlow(view, 3, 50001)));
    // Longer than one SIMD call covers: split, still exact.
    const big = chunkBuffer(600000);
    for (let i = 0; i < big.length; i++) big[i] = rnd();
    expect(fold16(sumBytes(big, 1, 599990))).toBe(fold16(sumBytesSlow(big, 1, 599990)));
  });

  it("RFC 1071 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2", () => {
    const b = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(fold16(sumBytes(b, 0, 8))).toBe(0xddf2);
    expect(csumFinish(sumBytes(b, 0, 8))).toBe(0x220d);
  });

  it("a real IPv4 header verifies to 0 (linktype-ipv4-228-flow#1)", () => {
    const ip = hex(FRAMES["linktype-ipv4-228-flow#1"]);
    expect(csumFinish(sumBytes(ip, 0, 20))).toBe(0);
  });
});

describe("CRC32c", () => {
  it('"123456789" -> e3069283 (RFC 3720 check value)', () => {
    expect(crc32c(new TextEncoder().encode("123456789"), 0, 9)).toBe(0xe3069283);
  });

  it("sctpCrc32c = crc32c with the checksum field (bytes 8..11) zeroed", () => {
    const b = Uint8Array.from({ length: 40 }, (_, i) => (i * 37 + 11) & 0xff);
    const z = b.slice();
    z.fill(0, 8, 12);
    expect(sctpCrc32c(b, 0, 40)).toBe(crc32c(z, 0, 40));
    expect(sctpCrc32c(b, 0, 40)).not.toBe(crc32c(b, 0, 40));
  });

  it("a real SCTP INIT verifies (sctp-ipv4#1, tshark: good)", () => {
    const f = hex(FRAMES["sctp-ipv4#1"]);
    const q = 14 + 20;
    const wire = (f[q + 8]! | (f[q + 9]! << 8) | (f[q + 10]! << 16) | (f[q + 11]! << 24)) >>> 0;
    expect(sctpCrc32c(f, q, f.length - q)).toBe(wire);
  });
});

describe("UDPLite (synthetic from pppoe-discovery-session-ipv6#36's UDP datagram)", () => {
  // Turn the IPv6 UDP datagram into UDPLite: next header 136, coverage 8 (header only), checksum computed.
  const base = hex(FRAMES["pppoe-discovery-session-ipv6#36"]);
  const ip = 22;
  const q = ip + 40;
  function lite(pseudoProto: number, coverage: number, zeroCheck = false): Uint8Array {
    const b = base.slice();
    b[ip + 6] = 136;
    b[q + 4] = coverage >> 8;
    b[q + 5] = coverage & 0xff;
    b[q + 6] = b[q + 7] = 0;
    const l4len = (b[ip + 4]! << 8) | b[ip + 5]!;
    let s = sumBytes(b, ip + 8, 32) + pseudoProto + l4len;
    s += sumBytes(b, q, coverage === 0 ? l4len : coverage);
    const c = zeroCheck ? 0 : csumFinish(s);
    b[q + 6] = c >> 8;
    b[q + 7] = c & 0xff;
    return b;
  }

  it("kernel pseudo-header uses IPPROTO_UDP (17): such a checksum verifies", () => {
    const { out } = decodeOne(1, lite(17, 8));
    expect(out.proto[0]).toBe(136);
    expect(out.sport[0]).toBe(546);
    expect(out.l4flags[0]! & (L4_CSUM_BAD | L4_UDP_LEN_BAD)).toBe(0);
  });

  it("an RFC 3828 checksum (proto 136 in the pseudo-header) fails like in nf_checksum_partial", () => {
    const { out } = decodeOne(1, lite(136, 8));
    expect(out.l4flags[0]! & L4_CSUM_BAD).toBe(L4_CSUM_BAD);
  });

  it("coverage 4 (< 8) is invalid; checksum 0 is invalid regardless of the sysctl", () => {
    expect(decodeOne(1, lite(17, 4)).out.l4flags[0]! & L4_UDP_LEN_BAD).toBe(L4_UDP_LEN_BAD);
    const z = decodeOne(1, lite(17, 8, true), undefined, { verifyChecksums: false }).out.l4flags[0]!;
    expect(z & L4_UDP_LEN_BAD).toBe(L4_UDP_LEN_BAD);
  });
});
