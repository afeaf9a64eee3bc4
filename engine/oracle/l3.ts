/**
 * Raw IP bytes of a captured frame for injection into a TUN device: link-layer stripping, snaplen padding,
 * and the Internet checksums the kernel verifies (IPv4 header in ip_rcv; TCP/UDP/UDPLite/ICMP/ICMPv6 in
 * nf_conntrack_in when nf_conntrack_checksum=1). Runs once per packet when preparing a kernel run, not on
 * ctreplay's replay path.
 */

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const ETH_P_MPLS_UC = 0x8847;
const ETH_P_MPLS_MC = 0x8848;
const ETH_P_PPP_SES = 0x8864;
const VLAN_TYPES = new Set([0x8100, 0x88a8, 0x9100, 0x9200]);

export type L3Kind = "ip4" | "ip6" | "non-ip" | "unsupported-linktype";

export interface L3Frame {
  kind: L3Kind;
  /** Offset of the IP header within the frame (valid for ip4/ip6). */
  offset: number;
}

function be16(b: Uint8Array, o: number): number {
  return ((b[o] as number) << 8) | (b[o + 1] as number);
}

function byVersion(b: Uint8Array, off: number): L3Frame {
  if (off >= b.length) return { kind: "non-ip", offset: off };
  const v = (b[off] as number) >> 4;
  return { kind: v === 4 ? "ip4" : v === 6 ? "ip6" : "non-ip", offset: off };
}

/** After an EtherType at `off - 2`: VLAN tags, MPLS label stacks, PPPoE session -> IP. */
function fromEthertype(b: Uint8Array, etypeIn: number, offIn: number): L3Frame {
  let etype = etypeIn;
  let off = offIn;
  for (;;) {
    if (VLAN_TYPES.has(etype) && off + 4 <= b.length) {
      etype = be16(b, off + 2);
      off += 4;
      continue;
    }
    if (etype === ETH_P_MPLS_UC || etype === ETH_P_MPLS_MC) {
      // label stack until the bottom-of-stack bit; the payload's version nibble tells IPv4/IPv6
      while (off + 4 <= b.length) {
        const bos = ((b[off + 2] as number) & 1) === 1;
        off += 4;
        if (bos) return byVersion(b, off);
      }
      return { kind: "non-ip", offset: off };
    }
    if (etype === ETH_P_PPP_SES && off + 8 <= b.length) {
      const ppp = be16(b, off + 6);
      off += 8;
      if (ppp === 0x0021) return { kind: "ip4", offset: off };
      if (ppp === 0x0057) return { kind: "ip6", offset: off };
      return { kind: "non-ip", offset: off };
    }
    break;
  }
  if (etype === ETH_P_IP) return { kind: "ip4", offset: off };
  if (etype === ETH_P_IPV6) return { kind: "ip6", offset: off };
  return { kind: "non-ip", offset: off };
}

/** Where the IP header starts in a frame of the given LINKTYPE_*. */
export function locateL3(linkType: number, b: Uint8Array): L3Frame {
  switch (linkType) {
    case 1: // EN10MB
      if (b.length < 14) return { kind: "non-ip", offset: 0 };
      if (be16(b, 12) <= 1500) return { kind: "non-ip", offset: 14 }; // 802.3 length: LLC, not IP
      return fromEthertype(b, be16(b, 12), 14);
    case 101:
    case 12:
    case 14:
      return byVersion(b, 0);
    case 228:
      return { kind: "ip4", offset: 0 };
    case 229:
      return { kind: "ip6", offset: 0 };
    case 0:
    case 108: {
      // BSD loopback: AF in host (0, either order in practice) or network (108) byte order
      if (b.length < 4) return { kind: "non-ip", offset: 0 };
      const le =
        (b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16) | ((b[3] as number) << 24);
      const bev =
        ((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number);
      const af = linkType === 108 ? bev : le >>> 0 < 256 ? le : bev;
      if (af === 2) return { kind: "ip4", offset: 4 };
      if (af === 10 || af === 24 || af === 28 || af === 30) return { kind: "ip6", offset: 4 };
      return { kind: "non-ip", offset: 4 };
    }
    case 113: // LINUX_SLL: protocol at 14, 16-byte header
      if (b.length < 16) return { kind: "non-ip", offset: 0 };
      return fromEthertype(b, be16(b, 14), 16);
    case 276: // LINUX_SLL2: protocol at 0, 20-byte header
      if (b.length < 20) return { kind: "non-ip", offset: 0 };
      return fromEthertype(b, be16(b, 0), 20);
    default:
      return { kind: "unsupported-linktype", offset: 0 };
  }
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
