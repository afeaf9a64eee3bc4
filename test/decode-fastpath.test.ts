/**
 * The decoder's straight-line path (untagged Ethernet + common IPv4/IPv6 + TCP/UDP/ICMP shapes) must give
 * the rows and counters of the general path. The same IP datagrams (real ones from the corpus, plus
 * one-byte mutations and snaplen cuts of them) are decoded behind an untagged Ethernet header (fast path
 * where the shape fits) and behind an 802.1Q tag (always the general path; conntrack never sees the tag).
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CaptureError, openCapture, RecordBatch } from "../engine/capture/index.js";
import { L3_V4, L3_V6, LinkLayer } from "../engine/decode/link.js";
import { L4_ICMP_INNER_OK, type PacketBatch } from "../engine/decode/packet-batch.js";
import { capturesDir, decodeFrames, type Frame, haveCorpus } from "./decode-helpers.js";

const FILES = [
  "tcp-http-nanosecond.pcap",
  "tcp-syn-scan.pcap",
  "raw-ip-tcp-sack-options.pcap",
  "snaplen68-truncated-tcp.pcap",
  "ipv4-options-syn.pcap",
  "ipv4-frag-tcp-http.pcap",
  "ip46-frag-udp-dns.pcap",
  "ipv6-ext-headers.pcap",
  "icmpv6-nd-echo-errors.pcap",
  "quic-icmp-unreach-v4v6.pcapng",
  "vlan-icmp-echo.pcap",
  "mixed-tcpreplay-vlan-mpls-ipv6.pcap",
  "null-loopback-tcp.pcap",
  "sctp-ipv4.pcap",
];
const PER_FILE = 400;

interface Datagram {
  ip: Uint8Array;
  /** Bytes of the datagram on the wire (origlen minus the link header). */
  wire: number;
  ts: [number, number];
}

async function datagrams(file: string): Promise<Datagram[]> {
  const r = await openCapture(path.join(capturesDir, file));
  if (r instanceof CaptureError) throw new Error(r.toString());
  const link = new LinkLayer();
  const rec = new RecordBatch(PER_FILE);
  const out: Datagram[] = [];
  try {
    await r.readBatch(rec);
    for (let i = 0; i < rec.count; i++) {
      const o = rec.offset[i]!;
      const end = o + rec.caplen[i]!;
      const k = link.parse(rec.data, o, end, rec.linkType[i]!);
      if (k !== L3_V4 && k !== L3_V6) continue;
      const l3 = link.l3off;
      out.push({
        ip: rec.data.slice(l3, end),
        wire: Math.max(rec.origlen[i]!, rec.caplen[i]!) - (l3 - o),
        ts: [rec.tsSec[i]!, rec.tsNsec[i]!],
      });
    }
  } finally {
    await r.close();
  }
  return out;
}

/** The datagram behind an Ethernet header (non-zero MACs: not a loopback capture), optionally VLAN-tagged. */
function frame(d: Datagram, tagged: boolean): Frame {
  const hdr = tagged ? 18 : 14;
  const b = new Uint8Array(hdr + d.ip.length);
  b.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
  const type = d.ip[0]! >>> 4 === 6 ? 0x86dd : 0x0800;
  if (tagged) b.set([0x81, 0x00, 0x00, 0x05, type >>> 8, type & 0xff], 12);
  else b.set([type >>> 8, type & 0xff], 12);
  b.set(d.ip, hdr);
  return { linkType: 1, bytes: b, orig: hdr + d.wire, ts: d.ts };
}

/** The datagrams, then one-byte mutations and snaplen cuts of each (deterministic). */
function variants(ds: Datagram[]): Datagram[] {
  let seed = 0x2545f491;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const all = [...ds];
  for (const d of ds) {
    for (let m = 0; m < 3; m++) {
      const ip = d.ip.slice();
      // Mostly the IP and L4 headers (version, lengths, flags, protocol, ports, TCP offset, ICMP type).
      const at = rnd(Math.min(ip.length, 72));
      ip[at] = rnd(256);
      all.push({ ...d, ip });
    }
    if (d.ip.length > 20) all.push({ ...d, ip: d.ip.slice(0, 20 + rnd(d.ip.length - 20)) });
  }
  return all;
}

function w4(a: Uint32Array, i: number): string {
  return `${a[i * 4]},${a[i * 4 + 1]},${a[i * 4 + 2]},${a[i * 4 + 3]}`;
}

/** The columns valid for row i (PacketBatch's row contract). */
function rowKey(o: PacketBatch, i: number): string {
  let k = `${o.tsSec[i]}.${o.tsNsec[i]}#${o.packetNo[i]} k${o.kind[i]} l3${o.l3[i]} p${o.proto[i]} ${w4(o.src, i)}>${w4(o.dst, i)} ${o.sport[i]}>${o.dport[i]} len${o.l4len[i]} f${o.l4flags[i]} l3f${o.l3flags[i]}`;
  const p = o.proto[i];
  if (p === 6)
    k += ` tcp ${o.tcpFlags[i]} ${o.tcpDoff[i]} ${o.seq[i]} ${o.ack[i]} ${o.win[i]} ${o.tcpOpt[i]} ${o.wscale[i]} ${o.sackEdge[i]} ${o.payload[i]}`;
  if (p === 17 || p === 136) k += ` udp ${o.payload[i]}`;
  if (p === 132) k += ` sctp ${o.x0[i]} ${o.x1[i]} ${o.nchunks[i]}`;
  if (p === 47) k += ` gre ${o.x0[i]} ${o.x1[i]}`;
  if (o.l4flags[i]! & L4_ICMP_INNER_OK)
    k += ` inner ${o.il3[i]} ${o.iproto[i]} ${w4(o.isrc, i)}>${w4(o.idst, i)} ${o.isport[i]}>${o.idport[i]}`;
  return k;
}

function decodeAll(frames: Frame[], verify: boolean): { rows: string[]; stats: string } {
  const { out, stats } = decodeFrames(frames, { verifyChecksums: verify });
  const rows: string[] = [];
  for (let i = 0; i < out.count; i++) rows.push(rowKey(out, i));
  return { rows, stats: JSON.stringify(stats.toJSON()) };
}

describe.skipIf(!haveCorpus)("decode: untagged Ethernet (fast path) = VLAN-tagged (general path)", () => {
  for (const file of FILES) {
    for (const verify of [true, false]) {
      it(`${file}, checksums ${verify ? "verified" : "off"}`, async () => {
        const ds = variants(await datagrams(file));
        expect(ds.length).toBeGreaterThan(0);
        const fast = decodeAll(
          ds.map((d) => frame(d, false)),
          verify,
        );
        const general = decodeAll(
          ds.map((d) => frame(d, true)),
          verify,
        );
        expect(fast.stats).toBe(general.stats);
        expect(fast.rows).toEqual(general.rows);
      });
    }
  }
});
