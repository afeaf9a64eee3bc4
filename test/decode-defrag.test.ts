/**
 * nf_defrag model: real fragmented captures (expected values from tshark's reassembly) and fragments cut
 * from real packets (vlan-icmp-echo#5 for IPv4, sll2-linux#3 for IPv6) to exercise ordering, duplicates,
 * overlaps, timeouts and the memory bounds.
 */
import { describe, expect, it } from "vitest";
import { csumFinish, sumBytes } from "../engine/decode/checksum.js";
import {
  L4_CSUM_BAD,
  L4_HDR_OK,
  L4_REASSEMBLED,
  L4_TUPLE_OK,
  NFPROTO_IPV6,
} from "../engine/decode/packet-batch.js";
import { FRAMES } from "./decode-frames.js";
import { decodeFrames, type Frame, haveCorpus, hex, ip4, readFrames, words } from "./decode-helpers.js";

/** IPv4 packet of vlan-icmp-echo#5 (after Ethernet + 802.1Q): ICMP echo request, 80 bytes of ICMP. */
const V4 = hex(FRAMES["vlan-icmp-echo#5"]).slice(18);
/** IPv6 packet of sll2-linux#3 (after SLL2): ICMPv6 echo request, 64 bytes of ICMPv6. */
const V6 = hex(FRAMES["sll2-linux#3"]).slice(20);

/** IPv4 fragment [off, off+len) of `ip`'s payload, MF as given, id as given, header checksum recomputed. */
function frag4(ip: Uint8Array, off: number, len: number, mf: boolean, id = 0x1234): Uint8Array {
  const hl = (ip[0]! & 15) * 4;
  const f = new Uint8Array(hl + len);
  f.set(ip.subarray(0, hl), 0);
  f.set(ip.subarray(hl + off, hl + off + len), hl);
  const tot = hl + len;
  f[2] = tot >> 8;
  f[3] = tot & 0xff;
  f[4] = id >> 8;
  f[5] = id & 0xff;
  const fo = (off >> 3) | (mf ? 0x2000 : 0);
  f[6] = fo >> 8;
  f[7] = fo & 0xff;
  f[10] = f[11] = 0;
  const c = csumFinish(sumBytes(f, 0, hl));
  f[10] = c >> 8;
  f[11] = c & 0xff;
  return f;
}

/** IPv6 fragment: fixed header + Fragment header (next = original next header) + payload slice. */
function frag6(ip: Uint8Array, off: number, len: number, mf: boolean, id = 0xabcdef01): Uint8Array {
  const f = new Uint8Array(40 + 8 + len);
  f.set(ip.subarray(0, 40), 0);
  f[6] = 44;
  const pl = 8 + len;
  f[4] = pl >> 8;
  f[5] = pl & 0xff;
  f[40] = ip[6]!;
  const fo = off | (mf ? 1 : 0);
  f[42] = fo >> 8;
  f[43] = fo & 0xff;
  f[44] = id >>> 24;
  f[45] = (id >>> 16) & 0xff;
  f[46] = (id >>> 8) & 0xff;
  f[47] = id & 0xff;
  f.set(ip.subarray(40 + off, 40 + off + len), 48);
  return f;
}

const v4 = (bytes: Uint8Array, t = 1000): Frame => ({ linkType: 228, bytes, t });
const v6 = (bytes: Uint8Array, t = 1000): Frame => ({ linkType: 229, bytes, t });

describe("defrag: synthetic fragments of real packets", () => {
  const whole = decodeFrames([v4(V4)]).out;

  it("IPv4 out of order: one reassembled row equal to the unfragmented packet, time of the last fragment", () => {
    const { out, stats } = decodeFrames([
      v4(frag4(V4, 48, 32, false), 1000),
      v4(frag4(V4, 0, 24, true), 1001),
      v4(frag4(V4, 24, 24, true), 1002.5),
    ]);
    expect(out.count).toBe(1);
    expect(out.l4flags[0]! & L4_REASSEMBLED).toBe(L4_REASSEMBLED);
    expect(out.l4flags[0]! & L4_CSUM_BAD).toBe(0);
    expect([out.proto[0], out.sport[0], out.dport[0], out.l4len[0]]).toEqual([
      whole.proto[0],
      whole.sport[0],
      whole.dport[0],
      whole.l4len[0],
    ]);
    expect(words(out.src, 0)).toEqual(ip4("192.168.123.2"));
    expect([out.tsSec[0], out.tsNsec[0], out.packetNo[0]]).toEqual([1002, 500_000_000, 3]);
    expect(stats.fragments).toBe(3);
    expect(stats.frag.reassembled).toBe(1);
    expect(stats.ipv4).toBe(3);
  });

  it("IPv4 duplicate fragment is dropped and the queue still completes", () => {
    const { out, stats } = decodeFrames([
      v4(frag4(V4, 0, 40, true)),
      v4(frag4(V4, 8, 16, true)), // inside [0, 40): IPFRAG_DUP
      v4(frag4(V4, 40, 40, false)),
    ]);
    expect(out.count).toBe(1);
    expect(stats.frag.duplicates).toBe(1);
    expect(stats.frag.bad).toBe(0);
  });

  it("IPv4 partial overlap kills the queue (RFC 5722 behaviour of inet_frag_queue_insert)", () => {
    const { out, stats } = decodeFrames([
      v4(frag4(V4, 0, 40, true)),
      v4(frag4(V4, 32, 16, true)), // overlaps [0, 40) partially
      v4(frag4(V4, 40, 40, false)), // opens a new queue that never completes
    ]);
    expect(out.count).toBe(0);
    expect(stats.frag.bad).toBe(1);
    expect(stats.frag.incomplete).toBe(1);
  });

  it("IPv4 inconsistent last fragment (second, different end) kills the queue", () => {
    const { stats } = decodeFrames([v4(frag4(V4, 40, 40, false)), v4(frag4(V4, 40, 32, false))]);
    expect(stats.frag.bad).toBe(1);
  });

  it("ipfrag_time: an IPv4 queue dies 30 s after creation (capture time)", () => {
    const late = decodeFrames([v4(frag4(V4, 0, 40, true), 1000), v4(frag4(V4, 40, 40, false), 1030)]);
    expect(late.out.count).toBe(0);
    expect(late.stats.frag.timeouts).toBe(1);
    expect(late.stats.frag.incomplete).toBe(1);
    const inTime = decodeFrames([v4(frag4(V4, 0, 40, true), 1000), v4(frag4(V4, 40, 40, false), 1029.9)]);
    expect(inTime.out.count).toBe(1);
  });

  it("the IPv4 timer is armed once at creation: a fragment at +20 s does not extend it (live kernel: IpReasmTimeout)", () => {
    const { out, stats } = decodeFrames([
      v4(frag4(V4, 0, 24, true), 1000),
      v4(frag4(V4, 24, 24, true), 1020),
      v4(frag4(V4, 48, 32, false), 1035),
    ]);
    expect(out.count).toBe(0);
    expect(stats.frag.timeouts).toBe(1);
  });

  it("nf_conntrack_frag6_timeout: an IPv6 queue lives 60 s", () => {
    const ok = decodeFrames([v6(frag6(V6, 0, 32, true), 1000), v6(frag6(V6, 32, 32, false), 1059)]);
    expect(ok.out.count).toBe(1);
    expect(ok.out.l3[0]).toBe(NFPROTO_IPV6);
    expect(ok.out.proto[0]).toBe(58);
    expect(ok.out.sport[0]).toBe(9);
    expect(ok.out.l4len[0]).toBe(64);
    expect(ok.out.l4flags[0]! & (L4_REASSEMBLED | L4_CSUM_BAD)).toBe(L4_REASSEMBLED);
    const late = decodeFrames([v6(frag6(V6, 0, 32, true), 1000), v6(frag6(V6, 32, 32, false), 1060)]);
    expect(late.out.count).toBe(0);
    expect(late.stats.frag.timeouts).toBe(1);
  });

  it("IPv6 non-last fragment not a multiple of 8: queue killed, the fragment goes on to conntrack (-EPROTO)", () => {
    const first = decodeFrames([v6(frag6(V6, 0, 30, true))]);
    expect(first.out.count).toBe(1);
    expect(first.out.l4flags[0]! & (L4_TUPLE_OK | L4_HDR_OK)).toBe(L4_TUPLE_OK | L4_HDR_OK);
    expect(first.stats.frag.passed).toBe(1);
    const later = decodeFrames([v6(frag6(V6, 16, 30, true))]);
    expect(later.out.count).toBe(1);
    expect(later.out.l4flags[0]! & L4_TUPLE_OK).toBe(0); // non-zero offset: ipv6_get_l4proto fails
  });

  it("IPv6 partial overlap kills the queue too", () => {
    const { out, stats } = decodeFrames([
      v6(frag6(V6, 0, 32, true)),
      v6(frag6(V6, 16, 32, true)),
      v6(frag6(V6, 32, 32, false)),
    ]);
    expect(out.count).toBe(0);
    expect(stats.frag.bad).toBe(1);
    expect(stats.frag.incomplete).toBe(1);
  });

  it("IPv6 inconsistent last fragment drops the fragment but keeps the queue (goto err)", () => {
    const { out, stats } = decodeFrames([
      v6(frag6(V6, 32, 32, false)),
      v6(frag6(V6, 32, 24, false)), // different end: dropped
      v6(frag6(V6, 0, 32, true)),
    ]);
    expect(stats.frag.dropped).toBe(1);
    expect(out.count).toBe(1);
  });

  it("ipfrag_max_dist 64: 63 other fragments from the same source in between are fine, 64 empty the queue", () => {
    const run = (others: number) => {
      const frames: Frame[] = [v4(frag4(V4, 0, 40, true, 1))];
      for (let k = 0; k < others; k++) frames.push(v4(frag4(V4, 0, 8, true, 1000 + k)));
      frames.push(v4(frag4(V4, 40, 40, false, 1)));
      return decodeFrames(frames);
    };
    const ok = run(63);
    expect(ok.out.count).toBe(1);
    expect(ok.stats.frag.reinit).toBe(0);
    const far = run(64);
    expect(far.out.count).toBe(0);
    expect(far.stats.frag.reinit).toBe(1);
    expect(far.stats.frag.incomplete).toBe(65);
    // Disabled (ipfrag_max_dist = 0): completes whatever came in between.
    const frames: Frame[] = [v4(frag4(V4, 0, 40, true, 1))];
    for (let k = 0; k < 200; k++) frames.push(v4(frag4(V4, 0, 8, true, 1000 + k)));
    frames.push(v4(frag4(V4, 40, 40, false, 1)));
    expect(decodeFrames(frames, { defrag: { maxDist: 0 } }).out.count).toBe(1);
  });

  it("a fragment cut by snaplen cannot be queued", () => {
    const fr = frag4(V4, 0, 40, true);
    const { stats } = decodeFrames([{ linkType: 228, bytes: fr.subarray(0, 30), orig: fr.length }]);
    expect(stats.skippedByReason()).toEqual({ "truncated-fragment": 1 });
  });

  it("memory bound: above highThresh new queues are refused; queues stay bounded", () => {
    const frames: Frame[] = [];
    for (let id = 0; id < 200; id++) frames.push(v4(frag4(V4, 0, 40, true, id)));
    const { dec, stats } = decodeFrames(
      frames,
      { defrag: { highThresh: 16 * 2048, poolBytes: 64 * 2048 } },
      false,
    );
    expect(stats.frag.refused).toBeGreaterThan(0);
    const d = (dec as unknown as { defrag: { memUsed: number; openSets: number } }).defrag;
    expect(d.memUsed).toBeLessThanOrEqual(17 * 2048);
    expect(d.openSets + stats.frag.refused).toBe(200);
  });

  it("pool exhausted while a queue grows: the oldest other queue is evicted", () => {
    const frames: Frame[] = [];
    // 64 blocks of 2 KiB; threshold high so queues are not refused: 64 open queues fill the pool.
    for (let id = 0; id < 64; id++) frames.push(v4(frag4(V4, 0, 8, true, id), 1000 + id / 100));
    frames.push(v4(frag4(V4, 8, 8, true, 63), 1001));
    const { stats } = decodeFrames(frames, { defrag: { highThresh: 1 << 30, poolBytes: 64 * 2048 } });
    expect(stats.frag.evicted).toBe(1);
    expect(stats.frag.incomplete).toBe(63);
  });
});

describe.skipIf(!haveCorpus)("defrag: real fragmented captures", () => {
  it("ipv4-frag-icmp-echo: 2 fragments -> one ICMP echo of 1408 bytes (tshark), then the reply", async () => {
    const frames = await readFrames("ipv4-frag-icmp-echo.pcap", [1, 2, 3]);
    const { out, stats } = decodeFrames(frames);
    expect(out.count).toBe(2);
    expect(out.l4flags[0]! & L4_REASSEMBLED).toBe(L4_REASSEMBLED);
    expect(out.l4flags[0]! & L4_CSUM_BAD).toBe(0);
    expect([out.proto[0], out.sport[0], out.dport[0], out.l4len[0]]).toEqual([1, 5058, 8 << 8, 1408]);
    expect(words(out.src, 0)).toEqual(ip4("2.1.1.2"));
    expect(out.tsNsec[0]).toBe(535197000);
    expect(out.packetNo[0]).toBe(2);
    expect([out.dport[1], out.sport[1]]).toEqual([0, 5058]);
    expect(stats.fragments).toBe(2);
  });

  it("ipv4-frag-tcp-http: the overlapping fragment kills the queue; SYN and FIN pass", async () => {
    const frames = await readFrames("ipv4-frag-tcp-http.pcap", [1, 2, 3, 4, 5, 6]);
    const { out, stats } = decodeFrames(frames);
    expect(out.count).toBe(2);
    expect(stats.frag.bad).toBe(1);
    expect(stats.frag.reassembled).toBe(0);
  });

  it("ip46-frag-udp-dns: 7 reassembled UDP datagrams with tshark's lengths and good checksums", async () => {
    const nums = Array.from({ length: 66 }, (_, i) => i + 1);
    const { out, stats } = decodeFrames(await readFrames("ip46-frag-udp-dns.pcap", nums));
    const lens: number[] = [];
    for (let i = 0; i < out.count; i++) {
      if (out.l4flags[i]! & L4_REASSEMBLED) {
        lens.push(out.l4len[i]!);
        expect(out.l4flags[i]! & L4_CSUM_BAD).toBe(0);
      }
    }
    expect(lens).toEqual([1710, 1509, 1498, 1498, 1710, 1738, 1738]);
    expect(stats.fragments).toBe(14);
    expect(stats.frag.incomplete + stats.frag.bad + stats.frag.timeouts).toBe(0);
  });

  it("ipv6-frag-udp-dns: one 3238-byte UDP datagram rebuilt, one lone last fragment left incomplete", async () => {
    const frames = await readFrames("ipv6-frag-udp-dns.pcap", [1, 2, 3, 4, 5, 6, 7, 8]);
    const { out, stats } = decodeFrames(frames);
    const i = out.count - 1;
    expect(out.l4flags[i]! & L4_REASSEMBLED).toBe(L4_REASSEMBLED);
    expect([out.proto[i], out.sport[i], out.dport[i], out.l4len[i]]).toEqual([17, 53, 51851, 3238]);
    expect(stats.frag.reassembled).toBe(1);
    expect(stats.frag.incomplete).toBe(1);
    expect(out.count).toBe(5);
  });
});
