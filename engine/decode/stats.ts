/**
 * Decode counters. Hot-path counters are numbers and Float64Arrays indexed by protocol number or reason
 * code; names are built only in toJSON().
 */
import type { DefragStats } from "./defrag.js";

/** Skip reasons (why a record never reaches nf_conntrack_in), by code. */
export const SKIP_NON_IP = 0;
export const SKIP_TRUNCATED_L2 = 1;
export const SKIP_UNSUPPORTED_LINKTYPE = 2; // counted per link type in unsupportedLinkTypes
export const SKIP_BAD_IP_HEADER = 3; // ip_rcv / ipv6_rcv: version, IHL < 5, header longer than the packet
export const SKIP_BAD_IP_LENGTH = 4; // ip_rcv / ipv6_rcv: total/payload length beyond the frame or < IHL
export const SKIP_BAD_IP_CHECKSUM = 5; // ip_rcv: ip_fast_csum failed
export const SKIP_TRUNCATED_IP = 6; // capture (snaplen) ends inside the IP header
export const SKIP_TRUNCATED_L4 = 7; // capture ends before the L4 fields the tuple/tracker need (the wire had them)
export const SKIP_TRUNCATED_FRAGMENT = 8; // a fragment cut by snaplen cannot be reassembled
export const SKIP_IPV6_JUMBO = 9; // IPv6 jumbogram (payload length 0 + hop-by-hop): not modelled
export const SKIP_BAD_IPV6_ADDRESS = 10; // ip6_rcv_core: multicast source, scope-0/1 multicast or ::1 destination
export const SKIP_BAD_IPV6_HOPOPTS = 11; // ipv6_parse_hopopts / ip6_parse_tlv rejected the hop-by-hop header

export const SKIP_REASONS = [
  "non-ip",
  "truncated-l2",
  "unsupported-linktype",
  "bad-ip-header",
  "bad-ip-length",
  "bad-ip-checksum",
  "truncated-ip-header",
  "truncated-l4",
  "truncated-fragment",
  "ipv6-jumbogram",
  "bad-ipv6-address",
  "bad-ipv6-hopopts",
] as const;

const PROTO_NAMES: Readonly<Record<number, string>> = {
  0: "hopopt",
  1: "icmp",
  2: "igmp",
  4: "ipip",
  6: "tcp",
  17: "udp",
  33: "dccp",
  41: "ipv6",
  47: "gre",
  50: "esp",
  51: "ah",
  58: "icmpv6",
  59: "ipv6-nonxt",
  103: "pim",
  112: "vrrp",
  132: "sctp",
  136: "udplite",
};

/** "tcp", "udp", ... or "other:<n>". */
export function protoName(proto: number): string {
  return PROTO_NAMES[proto] ?? `other:${proto}`;
}

function byProto(a: Float64Array): Record<string, number> {
  const o: Record<string, number> = {};
  for (let p = 0; p < 256; p++) if (a[p]! > 0) o[protoName(p)] = a[p]!;
  return o;
}

export class DecodeStats {
  /** Capture records seen. */
  packets = 0;
  /** Frames whose (outermost) network layer is IPv4 / IPv6, valid or not, fragments counted per frame. */
  ipv4 = 0;
  ipv6 = 0;
  /** Rows emitted to conntrack (datagrams after reassembly). */
  rows = 0;
  /** Emitted rows by L4 protocol number. */
  readonly l4 = new Float64Array(256);
  /** Emitted rows with L4_CSUM_BAD, by L4 protocol number. */
  readonly badChecksum = new Float64Array(256);
  /** Emitted rows whose datagram the capture cut short (L4_TRUNCATED). */
  truncated = 0;
  /** Emitted rows with L3_ROUTE_MARTIAN (tracked, never confirmed). */
  martian = 0;
  /** Frames that were IPv4/IPv6 fragments (before reassembly). */
  fragments = 0;
  /** Skipped records by SKIP_* code. */
  readonly skipped = new Float64Array(SKIP_REASONS.length);
  /** SKIP_UNSUPPORTED_LINKTYPE per link type. */
  readonly unsupportedLinkTypes = new Map<number, number>();
  /** Capture time span (seconds, float), NaN until a record is seen. */
  firstTime = Number.NaN;
  lastTime = Number.NaN;

  constructor(readonly frag: DefragStats) {}

  /** Skipped counts by reason name ("unsupported-linktype:<n>" per link type). */
  skippedByReason(): Record<string, number> {
    const o: Record<string, number> = {};
    for (let r = 0; r < SKIP_REASONS.length; r++) {
      if (r === SKIP_UNSUPPORTED_LINKTYPE) continue;
      if (this.skipped[r]! > 0) o[SKIP_REASONS[r]!] = this.skipped[r]!;
    }
    for (const [lt, n] of this.unsupportedLinkTypes) o[`unsupported-linktype:${lt}`] = n;
    return o;
  }

  l4ByName(): Record<string, number> {
    return byProto(this.l4);
  }

  badChecksumByName(): Record<string, number> {
    return byProto(this.badChecksum);
  }

  toJSON(): Record<string, unknown> {
    return {
      packets: this.packets,
      ipv4: this.ipv4,
      ipv6: this.ipv6,
      rows: this.rows,
      l4: this.l4ByName(),
      fragments: this.fragments,
      reassembled: this.frag.reassembled,
      fragSets: {
        timeouts: this.frag.timeouts,
        incomplete: this.frag.incomplete,
        evicted: this.frag.evicted,
        refused: this.frag.refused,
        bad: this.frag.bad,
        reinit: this.frag.reinit,
      },
      fragDuplicates: this.frag.duplicates,
      badChecksum: this.badChecksumByName(),
      truncated: this.truncated,
      martian: this.martian,
      skipped: this.skippedByReason(),
      firstTime: Number.isNaN(this.firstTime) ? null : this.firstTime,
      lastTime: Number.isNaN(this.lastTime) ? null : this.lastTime,
    };
  }
}
