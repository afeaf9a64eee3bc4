/**
 * Builds decoded PacketBatch rows directly (no capture, no decoder) for conntrack unit tests.
 * Addresses are strings ("10.0.0.1", "fd00::1"); time is float seconds.
 */
import {
  L4_CSUM_BAD,
  L4_HDR_OK,
  L4_ICMP_INNER_OK,
  L4_TUPLE_OK,
  NFPROTO_IPV4,
  NFPROTO_IPV6,
  PacketBatch,
  PK_IP,
  TH_ACK,
  TH_FIN,
  TH_RST,
  TH_SYN,
} from "../../engine/decode/packet-batch.js";

export { TH_ACK, TH_FIN, TH_RST, TH_SYN };

/** Parses an IPv4 or IPv6 address into 4 big-endian words (IPv4 in word 0). */
export function addrWords(a: string): [number, number, number, number] {
  if (!a.includes(":")) {
    const p = a.split(".").map(Number);
    if (p.length !== 4 || p.some((x) => !(x >= 0 && x <= 255))) throw new Error(`bad IPv4 ${a}`);
    return [((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0, 0, 0, 0];
  }
  // Embedded dotted IPv4 tail (::ffff:1.2.3.4) -> two hex groups.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (dotted) {
    const v4 = addrWords(dotted[2]!)[0];
    a = `${dotted[1]}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head, tail] = a.includes("::") ? a.split("::") : [a, undefined];
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups =
    tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill("0"), ...t];
  if (groups.length !== 8) throw new Error(`bad IPv6 ${a}`);
  const g = groups.map((x) => Number.parseInt(x, 16));
  return [0, 1, 2, 3].map((k) => ((g[2 * k]! << 16) | g[2 * k + 1]!) >>> 0) as [
    number,
    number,
    number,
    number,
  ];
}

export interface PacketSpec {
  t: number;
  src: string;
  dst: string;
  proto: number;
  sport?: number;
  dport?: number;
  tcpFlags?: number;
  seq?: number;
  ack?: number;
  win?: number;
  payload?: number;
  csumBad?: boolean;
  /** Clear L4_TUPLE_OK/L4_HDR_OK (unparsable L4 header). */
  broken?: boolean;
  inner?: { src: string; dst: string; proto: number; sport?: number; dport?: number };
}

/** Appends rows to a PacketBatch (grows by replacing the batch when full). */
export class Packets {
  batch: PacketBatch;
  constructor(capacity = 1024) {
    this.batch = new PacketBatch(capacity);
  }

  add(s: PacketSpec): number {
    const b = this.batch;
    if (b.count >= b.capacity) throw new Error("Packets: batch full");
    const i = b.count++;
    b.clearRow(i);
    const v6 = s.src.includes(":");
    b.kind[i] = PK_IP;
    b.l3[i] = v6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
    b.proto[i] = s.proto;
    const sec = Math.floor(s.t);
    b.tsSec[i] = sec;
    b.tsNsec[i] = Math.round((s.t - sec) * 1e9);
    b.packetNo[i] = i + 1;
    b.src.set(addrWords(s.src), i * 4);
    b.dst.set(addrWords(s.dst), i * 4);
    b.sport[i] = s.sport ?? 0;
    b.dport[i] = s.dport ?? 0;
    let flags = s.broken ? 0 : L4_TUPLE_OK | L4_HDR_OK;
    if (s.csumBad) flags |= L4_CSUM_BAD;
    b.tcpFlags[i] = s.tcpFlags ?? 0;
    b.tcpDoff[i] = s.proto === 6 ? 5 : 0;
    b.seq[i] = s.seq ?? 0;
    b.ack[i] = s.ack ?? 0;
    b.win[i] = s.win ?? 65535;
    b.payload[i] = s.payload ?? 0;
    b.l4len[i] = (s.proto === 6 ? 20 : 8) + (s.payload ?? 0);
    if (s.inner) {
      flags |= L4_ICMP_INNER_OK;
      b.il3[i] = b.l3[i]!;
      b.iproto[i] = s.inner.proto;
      b.isrc.set(addrWords(s.inner.src), i * 4);
      b.idst.set(addrWords(s.inner.dst), i * 4);
      b.isport[i] = s.inner.sport ?? 0;
      b.idport[i] = s.inner.dport ?? 0;
    }
    b.l4flags[i] = flags;
    return i;
  }

  udp(
    t: number,
    src: string,
    sport: number,
    dst: string,
    dport: number,
    extra: Partial<PacketSpec> = {},
  ): number {
    return this.add({ t, src, dst, proto: 17, sport, dport, payload: 10, ...extra });
  }

  tcp(
    t: number,
    src: string,
    sport: number,
    dst: string,
    dport: number,
    tcpFlags: number,
    extra: Partial<PacketSpec> = {},
  ): number {
    return this.add({ t, src, dst, proto: 6, sport, dport, tcpFlags, ...extra });
  }

  /** ICMP/ICMPv6 query (echo etc.): sport = id, dport = type << 8 | code. */
  icmp(
    t: number,
    src: string,
    dst: string,
    type: number,
    id: number,
    extra: Partial<PacketSpec> = {},
  ): number {
    const proto = src.includes(":") ? 58 : 1;
    return this.add({ t, src, dst, proto, sport: id, dport: type << 8, ...extra });
  }

  /** ICMP/ICMPv6 error quoting `inner` (ports as in the quoted header). */
  icmpError(
    t: number,
    src: string,
    dst: string,
    type: number,
    code: number,
    inner: NonNullable<PacketSpec["inner"]>,
    extra: Partial<PacketSpec> = {},
  ): number {
    const proto = src.includes(":") ? 58 : 1;
    return this.add({ t, src, dst, proto, sport: 0, dport: (type << 8) | code, inner, ...extra });
  }
}
