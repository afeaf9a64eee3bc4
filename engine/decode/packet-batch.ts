/**
 * Decoded packets, column-wise, in ONE backing ArrayBuffer (or SharedArrayBuffer), so a batch can be
 * transferred or shared with a shard worker without cloning (the sharding stage sends `buffer`).
 * This is the contract between decode (writer) and conntrack (reader). Nothing is allocated per packet:
 * the decoder fills row i in place, writing exactly the columns that are valid for the row:
 *   - every row: tsSec, tsNsec, packetNo, kind, l3, proto, src, dst, sport, dport, l4len, l4flags, l3flags
 *     (sport/dport 0 without L4_TUPLE_OK);
 *   - proto TCP: tcpFlags, tcpDoff, seq, ack, win, tcpOpt, wscale, sackEdge, payload (0 where the header
 *     does not have them); UDP/UDPLite: payload;
 *   - SCTP: x0, x1, nchunks, and chunks/chunkFlags[0, min(nchunks, SCTP_MAX_CHUNKS)); GRE: x0, x1;
 *   - L4_ICMP_INNER_OK: il3, iproto, isrc, idst, isport, idport.
 * Other columns of a row are unspecified (they may hold an earlier row's values): readers look at a column
 * only when the row's proto / flags make it valid. Rows are only ever emitted as PK_IP.
 *
 * Addresses are four big-endian 32-bit words each (IPv4 uses word 0, words 1..3 are zero), exactly as the
 * kernel's zero-padded nf_conntrack_tuple.src.u3/dst.u3.
 */

/** What conntrack should do with a row. */
export const PK_NONE = 0; // never reaches nf_conntrack_in (non-IP, dropped by ip_rcv, fragment held by defrag)
export const PK_IP = 1; // an IPv4/IPv6 datagram as nf_conntrack_in sees it (after nf_defrag)
/**
 * An IP fragment left for the caller to reassemble (Decoder option deferFragments): x0 = the record's index
 * in its RecordBatch; nothing else is filled and nothing about the record is counted. Never reaches
 * conntrack: the parallel decode pipeline re-decodes it in capture order with a defragmenting Decoder.
 */
export const PK_DEFER = 2;

/** l3 values: NFPROTO_* like the kernel's tuple.src.l3num. */
export const NFPROTO_IPV4 = 2;
export const NFPROTO_IPV6 = 10;

/** l4flags bits. */
export const L4_TUPLE_OK = 1 << 0; // nf_ct_get_tuple would succeed (ports/ids readable; IPv4 non-first frag and IPv6 NoNext fail)
export const L4_HDR_OK = 1 << 1; // the protocol's full fixed header is present (TCP doff sane and within the datagram, UDP len sane, ICMP 8 bytes)
export const L4_CSUM_BAD = 1 << 2; // L4 checksum verified and wrong
export const L4_CSUM_UNKNOWN = 1 << 3; // checksum not verifiable (capture truncated by snaplen, or verification off)
export const L4_TRUNCATED = 1 << 4; // captured bytes end before the IP datagram does (snaplen)
export const L4_REASSEMBLED = 1 << 5; // datagram was rebuilt from fragments by the defragmenter
export const L4_ICMP_INNER_OK = 1 << 6; // ICMP/ICMPv6 error: the quoted packet's tuple parsed (inner columns valid)
export const L4_UDP_LEN_BAD = 1 << 7; // UDP length / UDPLite coverage inconsistent with the datagram, or UDPLite checksum 0 (udp_error / udplite_error: invalid regardless of nf_conntrack_checksum)

/** l3flags bits (added after the first contract; 0 for rows written before). */
export const L3_ROUTE_MARTIAN = 1 << 0; // ip_route_input would drop it after PRE_ROUTING (martian source/destination): the ct is created but never confirmed

/** TCP flag bits as on the wire (th->flags byte 13). */
export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PSH = 0x08;
export const TH_ACK = 0x10;
export const TH_URG = 0x20;
export const TH_ECE = 0x40;
export const TH_CWR = 0x80;

/** tcpOpt bits. */
export const TCPOPT_WSCALE = 1 << 0; // window-scale option present (value in wscale)
export const TCPOPT_SACK_PERM = 1 << 1; // SACK-permitted option present
export const TCPOPT_SACK = 1 << 2; // SACK blocks present (highest right edge in sackEdge)

const F64 = 8;
const U32 = 4;
const U16 = 2;
const U8 = 1;

/** Column layout: name, element size, elements per row. Order = order in the buffer (largest alignment first). */
const COLUMNS = [
  ["tsSec", F64, 1],
  ["packetNo", F64, 1],
  ["tsNsec", U32, 1],
  ["src", U32, 4],
  ["dst", U32, 4],
  ["isrc", U32, 4],
  ["idst", U32, 4],
  ["seq", U32, 1],
  ["ack", U32, 1],
  ["sackEdge", U32, 1],
  ["l4len", U32, 1],
  ["payload", U32, 1],
  ["x0", U32, 1],
  ["x1", U32, 1],
  ["sport", U16, 1],
  ["dport", U16, 1],
  ["isport", U16, 1],
  ["idport", U16, 1],
  ["win", U16, 1],
  ["kind", U8, 1],
  ["l3", U8, 1],
  ["proto", U8, 1],
  ["il3", U8, 1],
  ["iproto", U8, 1],
  ["l4flags", U8, 1],
  ["l3flags", U8, 1],
  ["tcpFlags", U8, 1],
  ["tcpDoff", U8, 1],
  ["tcpOpt", U8, 1],
  ["wscale", U8, 1],
  ["nchunks", U8, 1],
  ["chunks", U8, 8],
  ["chunkFlags", U8, 8],
] as const;

export const SCTP_MAX_CHUNKS = 8;

/** A column's name. */
export type PacketColumn = (typeof COLUMNS)[number][0];
/** What copyRows needs of a column (every column is a typed array). */
interface ColumnView {
  set(src: ArrayLike<number>, offset: number): void;
  subarray(begin: number, end: number): ArrayLike<number>;
}
const ELEMENTS_PER_ROW = new Map<string, number>(COLUMNS.map(([name, , per]) => [name, per]));

function rowBytes(): number {
  let n = 0;
  for (const [, size, per] of COLUMNS) n += size * per;
  return n;
}

/** Bytes needed for a batch of `capacity` rows. */
export function packetBatchBytes(capacity: number): number {
  // capacity is rounded up to a multiple of 8 so every column starts aligned.
  const cap = (capacity + 7) & ~7;
  return cap * rowBytes();
}

export class PacketBatch {
  readonly capacity: number;
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  /** Rows in use; also stored in `buffer`'s owner message when transferred. */
  count = 0;

  /** Capture timestamp: whole epoch seconds + ns. */
  readonly tsSec!: Float64Array;
  readonly tsNsec!: Uint32Array;
  /** 1-based capture packet number of the record that completed this row (for error messages). */
  readonly packetNo!: Float64Array;
  /** PK_NONE / PK_IP. */
  readonly kind!: Uint8Array;
  /** NFPROTO_IPV4 / NFPROTO_IPV6 (0 when kind is PK_NONE). */
  readonly l3!: Uint8Array;
  /** L4 protocol number after IPv6 extension-header skipping (ipv6_skip_exthdr). */
  readonly proto!: Uint8Array;
  /** Tuple addresses, 4 words per row (index i*4). */
  readonly src!: Uint32Array;
  readonly dst!: Uint32Array;
  /**
   * Tuple "ports" as the kernel fills tuple.src.u / tuple.dst.u:
   * TCP/UDP/UDPLite/SCTP: ports. ICMP/ICMPv6: sport = echo id, dport = type << 8 | code.
   * GRE v1 (PPTP): sport = 0 (no keymap without the PPTP helper), dport = call id. GRE v0 and generic: 0, 0.
   */
  readonly sport!: Uint16Array;
  readonly dport!: Uint16Array;
  /** Bytes from the L4 header to the end of the IP datagram (skb->len - dataoff), by IP lengths, not caplen. */
  readonly l4len!: Uint32Array;
  /** L4_* bits. */
  readonly l4flags!: Uint8Array;
  /** L3_* bits (routing facts the conntrack confirm step depends on). */
  readonly l3flags!: Uint8Array;

  /** ICMP/ICMPv6 error: the quoted packet's tuple (valid when L4_ICMP_INNER_OK). Ports encoded as above. */
  readonly il3!: Uint8Array;
  readonly iproto!: Uint8Array;
  readonly isrc!: Uint32Array;
  readonly idst!: Uint32Array;
  readonly isport!: Uint16Array;
  readonly idport!: Uint16Array;

  /** TCP: flags byte, header length in 32-bit words, seq, ack, raw window, options. */
  readonly tcpFlags!: Uint8Array;
  readonly tcpDoff!: Uint8Array;
  readonly seq!: Uint32Array;
  readonly ack!: Uint32Array;
  readonly win!: Uint16Array;
  readonly tcpOpt!: Uint8Array;
  readonly wscale!: Uint8Array;
  /** Highest SACK block right edge (valid when TCPOPT_SACK). */
  readonly sackEdge!: Uint32Array;
  /** TCP payload bytes (l4len - doff*4); UDP payload for UDP. */
  readonly payload!: Uint32Array;

  /**
   * Protocol extras. SCTP: x0 = verification tag of the common header, x1 = initiate tag of the first
   * INIT/INIT_ACK chunk (0 if none); chunks/chunkFlags = type and flags byte of each chunk in order (first
   * SCTP_MAX_CHUNKS), nchunks = total chunk count (saturating at 255).
   * GRE: x0 = version (0/1), x1 = GRE protocol type.
   */
  readonly x0!: Uint32Array;
  readonly x1!: Uint32Array;
  readonly nchunks!: Uint8Array;
  readonly chunks!: Uint8Array;
  readonly chunkFlags!: Uint8Array;

  /** `byteOffset` (a multiple of 8): where the columns start in `buffer`. */
  constructor(capacity = 8192, buffer?: ArrayBuffer | SharedArrayBuffer, byteOffset = 0) {
    const cap = (capacity + 7) & ~7;
    this.capacity = cap;
    this.buffer = buffer ?? new ArrayBuffer(packetBatchBytes(cap));
    if ((byteOffset & 7) !== 0) throw new Error("PacketBatch: byteOffset not a multiple of 8");
    if (this.buffer.byteLength - byteOffset < packetBatchBytes(cap))
      throw new Error("PacketBatch: buffer too small");
    let off = byteOffset;
    const self = this as unknown as Record<string, unknown>;
    for (const [name, size, per] of COLUMNS) {
      const len = cap * per;
      if (size === F64) self[name] = new Float64Array(this.buffer, off, len);
      else if (size === U32) self[name] = new Uint32Array(this.buffer, off, len);
      else if (size === U16) self[name] = new Uint16Array(this.buffer, off, len);
      else self[name] = new Uint8Array(this.buffer, off, len);
      off += len * size;
    }
  }

  /** Copies rows [from, from + n) of `src`, in the given columns only, to rows [to, to + n) of this batch. */
  copyRows(src: PacketBatch, from: number, n: number, to: number, columns: readonly PacketColumn[]): void {
    const dst = this as unknown as Record<PacketColumn, ColumnView>;
    const s = src as unknown as Record<PacketColumn, ColumnView>;
    for (const c of columns) {
      const per = ELEMENTS_PER_ROW.get(c)!;
      dst[c].set(s[c].subarray(from * per, (from + n) * per), to * per);
    }
  }

  /** Moves rows [from, from + n) to rows [to, to + n) of this batch, every column. */
  moveRows(from: number, n: number, to: number): void {
    const self = this as unknown as Record<PacketColumn, Uint8Array>;
    for (const [c, , per] of COLUMNS) self[c].copyWithin(to * per, from * per, (from + n) * per);
  }

  /**
   * Resets row i to an empty PK_NONE row with every column zero (for rows built by hand; the decoder writes
   * each row's valid columns directly instead).
   */
  clearRow(i: number): void {
    this.kind[i] = PK_NONE;
    this.l3[i] = 0;
    this.proto[i] = 0;
    const a = i * 4;
    this.src[a] = this.src[a + 1] = this.src[a + 2] = this.src[a + 3] = 0;
    this.dst[a] = this.dst[a + 1] = this.dst[a + 2] = this.dst[a + 3] = 0;
    this.isrc[a] = this.isrc[a + 1] = this.isrc[a + 2] = this.isrc[a + 3] = 0;
    this.idst[a] = this.idst[a + 1] = this.idst[a + 2] = this.idst[a + 3] = 0;
    this.sport[i] = this.dport[i] = this.isport[i] = this.idport[i] = 0;
    this.il3[i] = this.iproto[i] = 0;
    this.l4len[i] = 0;
    this.l4flags[i] = 0;
    this.l3flags[i] = 0;
    this.tcpFlags[i] = this.tcpDoff[i] = this.tcpOpt[i] = this.wscale[i] = 0;
    this.seq[i] = this.ack[i] = this.sackEdge[i] = this.payload[i] = 0;
    this.win[i] = 0;
    this.x0[i] = this.x1[i] = 0;
    this.nchunks[i] = 0;
  }
}
