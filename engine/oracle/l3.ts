/**
 * Raw IP bytes of a captured frame for injection into a TUN device: link-layer stripping, snaplen padding,
 * and the Internet checksums the kernel verifies (IPv4 header in ip_rcv; TCP/UDP/UDPLite/ICMP/ICMPv6 in
 * nf_conntrack_in when nf_conntrack_checksum=1). Runs once per packet when preparing a kernel run, not on
 * ctreplay's replay path.
 */

import { be16, L3_V4, L3_V6, LinkLayer, SKIP_UNSUPPORTED_LINKTYPE } from "../decode/index.js";

export type L3Kind = "ip4" | "ip6" | "non-ip" | "unsupported-linktype";

export interface L3Frame {
  kind: L3Kind;
  /** Offset of the IP header within the frame (valid for ip4/ip6). */
  offset: number;
}

const link = new LinkLayer();

/** Where the IP header starts in a frame of the given LINKTYPE_*: the decoder's own link layer. */
export function locateL3(linkType: number, b: Uint8Array): L3Frame {
  const r = link.parse(b, 0, b.length, linkType);
  if (r === L3_V4) return { kind: "ip4", offset: link.l3off };
  if (r === L3_V6) return { kind: "ip6", offset: link.l3off };
  return { kind: r === SKIP_UNSUPPORTED_LINKTYPE ? "unsupported-linktype" : "non-ip", offset: 0 };
}

/** Length the IP header says the datagram has (0 when unreadable). */
export function ipLength(p: Uint8Array): number {
  const v = (p[0] ?? 0) >> 4;
  if (v === 4 && p.length >= 4) return be16(p, 2);
  if (v === 6 && p.length >= 6) return 40 + be16(p, 4);
  return 0;
}

/** A snaplen-truncated datagram padded with zeros to its IP length (the oracle's `--truncated pad`). */
export function padToIpLength(p: Uint8Array): Uint8Array {
  const want = ipLength(p);
  if (want <= p.length) return p;
  const out = new Uint8Array(want);
  out.set(p);
  return out;
}

/** Ones' complement sum of b[from, to) added to `sum` (not folded). */
function sum16(b: Uint8Array, from: number, to: number, sumIn = 0): number {
  let sum = sumIn;
  let i = from;
  for (; i + 1 < to; i += 2) sum += ((b[i] as number) << 8) | (b[i + 1] as number);
  if (i < to) sum += (b[i] as number) << 8;
  return sum;
}

function fold(sumIn: number): number {
  let sum = sumIn;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** A checksummed range is valid when its folded sum is 0xffff (or 0: the sum is 0 mod 0xffff). */
function sumOk(sum: number): boolean {
  const f = fold(sum);
  return f === 0xffff || f === 0;
}

const V6_EXT = new Set([0, 43, 60, 51, 135, 139, 140]);
/** Checksum field offset within the L4 header: TCP, UDP, ICMP, ICMPv6, UDPLite. */
const CSUM_OFF: Record<number, number> = { 6: 16, 17: 6, 1: 2, 58: 2, 136: 6 };

interface L4Info {
  v: 4 | 6;
  proto: number;
  off: number;
  end: number;
  fragment: boolean;
}

function l4Info(p: Uint8Array): L4Info | null {
  const v = (p[0] ?? 0) >> 4;
  if (v === 4) {
    if (p.length < 20) return null;
    const ihl = ((p[0] as number) & 15) * 4;
    const tot = be16(p, 2);
    const end = tot ? Math.min(tot, p.length) : p.length;
    if (ihl < 20 || end < ihl) return null;
    return { v: 4, proto: p[9] as number, off: ihl, end, fragment: (be16(p, 6) & 0x3fff) !== 0 };
  }
  if (v === 6) {
    if (p.length < 40) return null;
    const plen = be16(p, 4);
    const end = plen ? Math.min(40 + plen, p.length) : p.length;
    let nh = p[6] as number;
    let off = 40;
    let fragment = false;
    while (V6_EXT.has(nh) || nh === 44) {
      if (off + 8 > end) return null;
      if (nh === 44) {
        if ((be16(p, off + 2) & 0xfff9) !== 0) fragment = true; // atomic fragments (offset 0, M=0) are not
        nh = p[off] as number;
        off += 8;
        continue;
      }
      const hl = nh === 51 ? ((p[off + 1] as number) + 2) * 4 : ((p[off + 1] as number) + 1) * 8;
      nh = p[off] as number;
      off += hl;
    }
    if (off > end) return null;
    return { v: 6, proto: nh, off, end, fragment };
  }
  return null;
}

function pseudoSum(p: Uint8Array, i: L4Info): number {
  const len = i.end - i.off;
  if (i.v === 4) return sum16(p, 12, 20) + i.proto + len;
  return sum16(p, 8, 40) + Math.floor(len / 0x10000) + (len & 0xffff) + i.proto;
}

export type CsumStatus = "ok" | "bad" | "fixed" | "skip";

/**
 * Verifies (and with fix=true recomputes, in place) the IPv4 header checksum and the L4 checksum the kernel
 * checks. Non-first fragments and protocols without a checksum the kernel verifies are "skip".
 * Returns the status and the L4 protocol (for per-protocol counts).
 */
export function checkOrFixChecksums(p: Uint8Array, fix: boolean): { status: CsumStatus; proto: number } {
  const i = l4Info(p);
  if (!i) return { status: "skip", proto: -1 };
  let status: CsumStatus = "ok";
  if (i.v === 4 && !sumOk(sum16(p, 0, i.off))) {
    if (fix) {
      p[10] = 0;
      p[11] = 0;
      const c = ~fold(sum16(p, 0, i.off)) & 0xffff;
      p[10] = c >> 8;
      p[11] = c & 0xff;
      status = "fixed";
    } else status = "bad";
  }
  const co = CSUM_OFF[i.proto];
  if (i.fragment || co === undefined) return { status: status === "ok" ? "skip" : status, proto: i.proto };
  if (i.end - i.off < co + 2) return { status, proto: i.proto };
  // UDP over IPv4 may carry no checksum (0): valid.
  if (i.proto === 17 && i.v === 4 && p[i.off + co] === 0 && p[i.off + co + 1] === 0)
    return { status, proto: i.proto };
  const base = i.proto === 1 ? 0 : pseudoSum(p, i); // ICMPv4 has no pseudo header
  if (sumOk(sum16(p, i.off, i.end, base))) return { status, proto: i.proto };
  if (!fix) return { status: "bad", proto: i.proto };
  p[i.off + co] = 0;
  p[i.off + co + 1] = 0;
  let c = ~fold(sum16(p, i.off, i.end, base)) & 0xffff;
  if (c === 0 && i.proto === 17) c = 0xffff;
  p[i.off + co] = c >> 8;
  p[i.off + co + 1] = c & 0xff;
  return { status: "fixed", proto: i.proto };
}
