/**
 * Independent readers for the generator tests: pcap via pcap-parser, a minimal pcapng EPB walker, and a
 * frame dissector that recomputes every checksum itself (nothing shared with captures/frame.ts).
 */
import { createRequire } from "node:module";
import { Readable } from "node:stream";

interface PcapParserPacket {
  header: {
    timestampSeconds: number;
    timestampMicroseconds: number;
    capturedLength: number;
    originalLength: number;
  };
  data: Buffer;
}
interface PcapParserModule {
  parse(input: Readable): {
    on(ev: "globalHeader", cb: (h: { snapshotLength: number; linkLayerType: number }) => void): void;
    on(ev: "packet", cb: (p: PcapParserPacket) => void): void;
    on(ev: "end", cb: () => void): void;
    on(ev: "error", cb: (e: Error) => void): void;
  };
}
const pcapp = createRequire(import.meta.url)("pcap-parser") as PcapParserModule;

export interface Rec {
  tsUs: number;
  caplen: number;
  origlen: number;
  data: Uint8Array;
}

export function parsePcap(bytes: Uint8Array): Promise<{ linkType: number; snaplen: number; recs: Rec[] }> {
  return new Promise((resolve, reject) => {
    const recs: Rec[] = [];
    let linkType = -1;
    let snaplen = -1;
    const p = pcapp.parse(Readable.from([Buffer.from(bytes)]));
    p.on("globalHeader", (h) => {
      linkType = h.linkLayerType;
      snaplen = h.snapshotLength;
    });
    p.on("packet", (pkt) =>
      recs.push({
        tsUs: pkt.header.timestampSeconds * 1e6 + pkt.header.timestampMicroseconds,
        caplen: pkt.header.capturedLength,
        origlen: pkt.header.originalLength,
        data: new Uint8Array(pkt.data),
      }),
    );
    p.on("error", reject);
    p.on("end", () => resolve({ linkType, snaplen, recs }));
  });
}

/** Little-endian pcapng with one interface: returns the EPBs (timestamps in the IDB's units). */
export function parsePcapng(bytes: Uint8Array): { linkType: number; tsresol: number; recs: Rec[] } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const recs: Rec[] = [];
  let linkType = -1;
  let tsresol = 6;
  let p = 0;
  while (p < bytes.length) {
    const type = v.getUint32(p, true);
    const len = v.getUint32(p + 4, true);
    if (len < 12 || p + len > bytes.length || v.getUint32(p + len - 4, true) !== len) {
      throw new Error(`bad block at ${p}`);
    }
    if (type === 1) {
      linkType = v.getUint16(p + 8, true);
      let o = p + 16;
      while (o < p + len - 4) {
        const code = v.getUint16(o, true);
        const olen = v.getUint16(o + 2, true);
        if (code === 0) break;
        if (code === 9) tsresol = bytes[o + 4];
        o += 4 + ((olen + 3) & ~3);
      }
    } else if (type === 6) {
      const hi = v.getUint32(p + 12, true);
      const lo = v.getUint32(p + 16, true);
      const caplen = v.getUint32(p + 20, true);
      recs.push({
        tsUs: hi * 4294967296 + lo,
        caplen,
        origlen: v.getUint32(p + 24, true),
        data: bytes.subarray(p + 28, p + 28 + caplen),
      });
    }
    p += len;
  }
  return { linkType, tsresol, recs };
}

function onesSum(b: Uint8Array, from: number, to: number, init = 0): number {
  let s = init;
  for (let i = from; i < to; i += 2) s += (b[i] << 8) | (i + 1 < to ? b[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

export interface Dissected {
  v6: boolean;
  proto: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** TCP */
  flags: number;
  seq: number;
  ack: number;
  doff: number;
  /** Bytes after the L4 header by the IP length. */
  payload: number;
  /** ICMP */
  type: number;
  code: number;
  /** ICMP error: the quoted datagram's bytes as captured. */
  quote: Uint8Array | null;
  /** null = verified correct; "unverifiable" when the capture cut the datagram; else what is wrong. */
  csumError: string | null;
  /** Length of Ethernet + IP + L4 headers. */
  headerLen: number;
  /** 14 + IP total length. */
  frameLen: number;
}

function addr(b: Uint8Array, off: number, v6: boolean): string {
  if (!v6) return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((b[off + i] << 8) | b[off + i + 1]).toString(16));
  return parts.join(":");
}

/** Dissects an IP datagram starting at `ip` (no extension headers: the generator writes none). */
export function dissectIp(b: Uint8Array, ip: number): Dissected {
  const v6 = b[ip] >> 4 === 6;
  const d: Dissected = {
    v6,
    proto: 0,
    src: "",
    dst: "",
    sport: 0,
    dport: 0,
    flags: 0,
    seq: 0,
    ack: 0,
    doff: 0,
    payload: 0,
    type: 0,
    code: 0,
    quote: null,
    csumError: null,
    headerLen: 0,
    frameLen: 0,
  };
  let l4: number;
  let l4len: number;
  let pseudo: number;
  if (v6) {
    l4len = (b[ip + 4] << 8) | b[ip + 5];
    d.proto = b[ip + 6];
    d.src = addr(b, ip + 8, true);
    d.dst = addr(b, ip + 24, true);
    l4 = ip + 40;
    pseudo = onesSum(b, ip + 8, ip + 40, l4len + d.proto);
  } else {
    const ihl = (b[ip] & 15) * 4;
    if (b[ip] >> 4 !== 4 || ihl < 20) throw new Error("not IPv4/IPv6");
    if (onesSum(b, ip, ip + ihl) !== 0xffff) d.csumError = "ipv4 header checksum";
    l4len = ((b[ip + 2] << 8) | b[ip + 3]) - ihl;
    d.proto = b[ip + 9];
    d.src = addr(b, ip + 12, false);
    d.dst = addr(b, ip + 16, false);
    l4 = ip + ihl;
    pseudo = onesSum(b, ip + 12, ip + 20, l4len + d.proto);
  }
  d.frameLen = l4 + l4len;
  let hdr = 8;
  if (d.proto === 6) {
    d.sport = (b[l4] << 8) | b[l4 + 1];
    d.dport = (b[l4 + 2] << 8) | b[l4 + 3];
    d.seq = ((b[l4 + 4] << 24) | (b[l4 + 5] << 16) | (b[l4 + 6] << 8) | b[l4 + 7]) >>> 0;
    d.ack = ((b[l4 + 8] << 24) | (b[l4 + 9] << 16) | (b[l4 + 10] << 8) | b[l4 + 11]) >>> 0;
    d.doff = b[l4 + 12] >> 4;
    d.flags = b[l4 + 13];
    hdr = d.doff * 4;
  } else if (d.proto === 17) {
    d.sport = (b[l4] << 8) | b[l4 + 1];
    d.dport = (b[l4 + 2] << 8) | b[l4 + 3];
    if (((b[l4 + 4] << 8) | b[l4 + 5]) !== l4len) d.csumError = "udp length";
  } else {
    d.type = b[l4];
    d.code = b[l4 + 1];
    d.sport = (b[l4 + 4] << 8) | b[l4 + 5]; // echo id
    d.dport = (b[l4 + 6] << 8) | b[l4 + 7]; // echo seq
    const isError = d.proto === 1 ? d.type === 3 || d.type === 11 : d.type < 128;
    if (isError) {
      d.quote = b.subarray(l4 + 8, Math.min(b.length, l4 + l4len));
      const q = d.quote;
      hdr = 8 + (q[0] >> 4 === 6 ? 40 : (q[0] & 15) * 4) + 8;
    }
    if (d.proto === 1) pseudo = 0;
  }
  d.headerLen = l4 - ip + 14 + hdr;
  d.payload = l4len - hdr;
  if (d.csumError === null) {
    if (l4 + l4len > b.length) d.csumError = "unverifiable";
    else if (onesSum(b, l4, l4 + l4len, pseudo) !== 0xffff) d.csumError = `l4 checksum (proto ${d.proto})`;
  }
  return d;
}

/** Dissects an Ethernet frame. */
export function dissectFrame(frame: Uint8Array): Dissected {
  const et = (frame[12] << 8) | frame[13];
  if (et !== 0x0800 && et !== 0x86dd) throw new Error(`ethertype ${et.toString(16)}`);
  return dissectIp(frame, 14); // offsets are frame-absolute, so frameLen = 14 + IP total length
}

/** Direction-independent flow key. */
export function flowKey(d: Dissected): string {
  const a = `${d.src}/${d.proto === 1 || d.proto === 58 ? "" : d.sport}`;
  const b = `${d.dst}/${d.proto === 1 || d.proto === 58 ? "" : d.dport}`;
  const id = d.proto === 1 || d.proto === 58 ? `/${d.sport}` : "";
  return `${d.proto}|${a < b ? `${a}|${b}` : `${b}|${a}`}${id}`;
}
