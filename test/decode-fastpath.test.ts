/**
 * The decoder's straight-line path (untagged Ethernet + common IPv4/IPv6 + TCP/UDP/ICMP shapes) must give
 * the rows and counters of the general path, and its WebAssembly twin (engine/decode/fast-path.ts, which
 * runs on records in a capture chunk) those of the JavaScript one. The same IP datagrams (real ones from the corpus, plus
 * one-byte mutations and snaplen cuts of them) are decoded behind an untagged Ethernet header (fast path
 * where the shape fits) and behind an 802.1Q tag (always the general path; conntrack never sees the tag).
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CaptureError, openCapture, RecordBatch } from "../engine/capture/index.js";
import { fastPathUnavailable } from "../engine/decode/fast-path.js";
import { L3_V4, L3_V6, LinkLayer } from "../engine/decode/link.js";
import { capturesDir, decodeFrames, type Frame, haveCorpus, rowKey } from "./decode-helpers.js";

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

function decodeAll(
  frames: Frame[],
  verify: boolean,
  inChunk = false,
): { rows: string[]; stats: string; fastRows: number } {
  const { out, stats, dec } = decodeFrames(frames, { verifyChecksums: verify }, true, inChunk);
  const rows: string[] = [];
  for (let i = 0; i < out.count; i++) rows.push(rowKey(out, i));
  return { rows, stats: JSON.stringify(stats.toJSON()), fastRows: dec.fastRows };
}

describe.skipIf(!haveCorpus)("decode: untagged Ethernet (fast path) = VLAN-tagged (general path)", () => {
  let wasmRows = 0;
  for (const file of FILES) {
    for (const verify of [true, false]) {
      it(`${file}, checksums ${verify ? "verified" : "off"}`, async () => {
        const ds = variants(await datagrams(file));
        expect(ds.length).toBeGreaterThan(0);
        const untagged = ds.map((d) => frame(d, false));
        const fast = decodeAll(untagged, verify);
        const general = decodeAll(
          ds.map((d) => frame(d, true)),
          verify,
        );
        expect(fast.stats).toBe(general.stats);
        expect(fast.rows).toEqual(general.rows);
        // In a capture chunk the WebAssembly fast path decodes what it can: the same rows and counters.
        expect(fast.fastRows).toBe(0);
        const wasm = decodeAll(untagged, verify, true);
        expect(wasm.stats).toBe(fast.stats);
        expect(wasm.rows).toEqual(fast.rows);
        wasmRows += wasm.fastRows;
      });
    }
  }
  it("the WebAssembly fast path took part", () => {
    expect(fastPathUnavailable()).toBeNull();
    expect(wasmRows).toBeGreaterThan(1000);
  });
});
