import { describe, expect, it } from "vitest";
import { L4_ICMP_INNER_OK, PacketBatch } from "../engine/decode/packet-batch.js";
import { shardOf, symmetricTupleHash } from "../engine/shard/shard-hash.js";

function setRow(
  b: PacketBatch,
  i: number,
  proto: number,
  src: number,
  dst: number,
  sport: number,
  dport: number,
): void {
  b.clearRow(i);
  b.proto[i] = proto;
  b.src[i * 4] = src;
  b.dst[i * 4] = dst;
  b.sport[i] = sport;
  b.dport[i] = dport;
}

describe("symmetricTupleHash", () => {
  it("gives both directions of a TCP/UDP flow the same hash, different flows different hashes", () => {
    const b = new PacketBatch(16);
    setRow(b, 0, 6, 0x0a000001, 0x0a000002, 40000, 80);
    setRow(b, 1, 6, 0x0a000002, 0x0a000001, 80, 40000);
    setRow(b, 2, 6, 0x0a000001, 0x0a000002, 40001, 80);
    setRow(b, 3, 17, 0x0a000001, 0x0a000002, 40000, 80);
    expect(symmetricTupleHash(b, 0)).toBe(symmetricTupleHash(b, 1));
    expect(symmetricTupleHash(b, 0)).not.toBe(symmetricTupleHash(b, 2));
    expect(symmetricTupleHash(b, 0)).not.toBe(symmetricTupleHash(b, 3));
  });

  it("puts an ICMP echo request, its reply and an error quoting a UDP flow with their connections", () => {
    const b = new PacketBatch(16);
    setRow(b, 0, 1, 0x0a000001, 0x0a000002, 77, 8 << 8);
    setRow(b, 1, 1, 0x0a000002, 0x0a000001, 77, 0);
    expect(symmetricTupleHash(b, 0)).toBe(symmetricTupleHash(b, 1));
    // UDP flow A->B and a port-unreachable from B to A quoting A->B.
    setRow(b, 2, 17, 0x0a000001, 0x0a000002, 5353, 53);
    setRow(b, 3, 1, 0x0a000002, 0x0a000001, 0, (3 << 8) | 3);
    b.l4flags[3] = L4_ICMP_INNER_OK;
    b.iproto[3] = 17;
    b.isrc[12] = 0x0a000001;
    b.idst[12] = 0x0a000002;
    b.isport[3] = 5353;
    b.idport[3] = 53;
    expect(symmetricTupleHash(b, 3)).toBe(symmetricTupleHash(b, 2));
  });

  it("spreads flows evenly over shards", () => {
    const b = new PacketBatch(1);
    const shards = 4;
    const counts = new Array<number>(shards).fill(0);
    const n = 40000;
    for (let k = 0; k < n; k++) {
      setRow(b, 0, 6, 0x0a000000 + (k >>> 8), 0xc0a80001, 1024 + (k & 255), 443);
      counts[shardOf(b, 0, shards)]!++;
    }
    for (const c of counts) expect(Math.abs(c - n / shards)).toBeLessThan(n / shards / 20);
    expect(shardOf(b, 0, 1)).toBe(0);
  });
});
