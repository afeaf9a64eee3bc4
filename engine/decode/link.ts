/**
 * Link layer -> network header for the LINKTYPE_* framings ctreplay reads: Ethernet (VLAN/QinQ, PPPoE
 * session, MPLS), raw IP, BSD loopback, Linux cooked v1/v2. Shared by the decoder and the kernel oracle's
 * input preparation so both see the same packets. Hot path: no allocation, results live in fields.
 */
import { SKIP_NON_IP, SKIP_TRUNCATED_L2, SKIP_UNSUPPORTED_LINKTYPE } from "./stats.js";

/** parse() results besides the SKIP_* codes (>= 0): an IPv4 / IPv6 header starts at l3off. */
export const L3_V4 = -4;
export const L3_V6 = -6;

export function be16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}

export function be32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

export class LinkLayer {
  /** Offset of the network header (after L3_V4 / L3_V6). */
  l3off = 0;
  /** The frame came from a loopback device (ip6_rcv_core's ::1 / scope checks pass). */
  loopback = false;

  /** Returns L3_V4 / L3_V6 (network header at l3off) or a SKIP_* code. */
  parse(b: Uint8Array, p0: number, end: number, linkType: number): number {
    this.loopback = false;
    switch (linkType) {
      case 1: // ETHERNET
        if (p0 + 14 > end) return SKIP_TRUNCATED_L2;
        // Linux lo captured as Ethernet: both MAC addresses zero.
        this.loopback = be32(b, p0) === 0 && be32(b, p0 + 4) === 0 && be32(b, p0 + 8) === 0;
        return this.ether(b, p0 + 14, end, be16(b, p0 + 12));
      case 101: // RAW
      case 12: // DLT_RAW (OpenBSD / some BSDs)
      case 14: // DLT_RAW (BSD/OS)
        return this.versionNibble(b, p0, end);
      case 228: // IPV4
        this.l3off = p0;
        return L3_V4;
      case 229: // IPV6
        this.l3off = p0;
        return L3_V6;
      case 113: // LINUX_SLL: protocol at 14, 16-byte header
        if (p0 + 16 > end) return SKIP_TRUNCATED_L2;
        this.loopback = be16(b, p0 + 2) === 772; // ARPHRD_LOOPBACK
        return this.ether(b, p0 + 16, end, be16(b, p0 + 14));
      case 276: // LINUX_SLL2: protocol at 0, 20-byte header
        if (p0 + 20 > end) return SKIP_TRUNCATED_L2;
        this.loopback = be16(b, p0 + 8) === 772; // ARPHRD_LOOPBACK
        return this.ether(b, p0 + 20, end, be16(b, p0));
      case 0: // NULL: AF in the capturing host's byte order
      case 108: {
        // LOOP: AF in network order (accepted in both orders like NULL)
        if (p0 + 4 > end) return SKIP_TRUNCATED_L2;
        let af = (b[p0]! | (b[p0 + 1]! << 8) | (b[p0 + 2]! << 16) | (b[p0 + 3]! << 24)) >>> 0;
        if (af > 0xffff) af = be32(b, p0);
        this.l3off = p0 + 4;
        this.loopback = true; // BSD lo0 / OpenBSD loopback captures
        if (af === 2) return L3_V4;
        if (af === 24 || af === 28 || af === 30) return L3_V6;
        return SKIP_NON_IP;
      }
      default:
        return SKIP_UNSUPPORTED_LINKTYPE;
    }
  }

  private versionNibble(b: Uint8Array, p: number, end: number): number {
    if (p >= end) return SKIP_TRUNCATED_L2;
    this.l3off = p;
    const v = b[p]! >>> 4;
    if (v === 4) return L3_V4;
    if (v === 6) return L3_V6;
    return SKIP_NON_IP;
  }

  /** Ethertype dispatch: VLAN tag stacks (802.1Q/802.1ad/QinQ), PPPoE session, MPLS label stacks. */
  private ether(b: Uint8Array, start: number, end: number, ethertype: number): number {
    let p = start;
    let type = ethertype;
    for (let tags = 0; tags < 16; tags++) {
      if (type === 0x0800) {
        this.l3off = p;
        return L3_V4;
      }
      if (type === 0x86dd) {
        this.l3off = p;
        return L3_V6;
      }
      if (type === 0x8100 || type === 0x88a8 || type === 0x9100 || type === 0x9200 || type === 0x9300) {
        if (p + 4 > end) return SKIP_TRUNCATED_L2;
        type = be16(b, p + 2);
        p += 4;
        continue;
      }
      if (type === 0x8864) {
        // PPPoE session: ver/type, code, session id, length, then the PPP protocol field.
        if (p + 8 > end) return SKIP_TRUNCATED_L2;
        const ppp = be16(b, p + 6);
        this.l3off = p + 8;
        if (ppp === 0x0021) return L3_V4;
        if (ppp === 0x0057) return L3_V6;
        return SKIP_NON_IP; // LCP, IPCP, IPV6CP, ...
      }
      if (type === 0x8847 || type === 0x8848) {
        // MPLS: labels until bottom-of-stack, then guess the payload by its version nibble.
        for (let labels = 0; labels < 16; labels++) {
          if (p + 4 > end) return SKIP_TRUNCATED_L2;
          const bos = b[p + 2]! & 1;
          p += 4;
          if (bos) return this.versionNibble(b, p, end);
        }
        return SKIP_NON_IP;
      }
      return SKIP_NON_IP; // ARP, LLDP, 802.3 length field, PPPoE discovery (0x8863), ...
    }
    return SKIP_NON_IP;
  }
}
