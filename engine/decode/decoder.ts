/**
 * Record -> PacketBatch row: link layer, ip_rcv/ipv6_rcv sanity checks, nf_defrag, then the fields
 * nf_ct_get_tuple and the L4 trackers read. Tunnels are tracked by their outer headers only (what the
 * conntrack of a forwarding host sees). Hot path: no allocation; state lives in fields and typed arrays.
 */
import type { RecordBatch } from "../capture/record-batch.js";
import { csumFinish, sctpCrc32c, sumBytes, sumWord } from "./checksum.js";
import { Defrag, type DefragOptions, FRAG_DONE, FRAG_PASS } from "./defrag.js";
import { copyRecordColumns, FAST_SLOTS, type FastWindow, fastWindowFor } from "./fast-path.js";
import { icmpIsError, icmpv6IsError } from "./icmp-error.js";
import { be16, be32, L3_V4, L3_V6, LinkLayer } from "./link.js";
import {
  L3_ROUTE_MARTIAN,
  L4_CSUM_BAD,
  L4_CSUM_UNKNOWN,
  L4_HDR_OK,
  L4_ICMP_INNER_OK,
  L4_REASSEMBLED,
  L4_TRUNCATED,
  L4_TUPLE_OK,
  L4_UDP_LEN_BAD,
  NFPROTO_IPV4,
  NFPROTO_IPV6,
  PacketBatch,
  PK_DEFER,
  PK_IP,
  SCTP_MAX_CHUNKS,
  TCPOPT_SACK,
  TCPOPT_SACK_PERM,
  TCPOPT_WSCALE,
} from "./packet-batch.js";
import {
  DecodeStats,
  SKIP_BAD_IP_CHECKSUM,
  SKIP_BAD_IP_HEADER,
  SKIP_BAD_IP_LENGTH,
  SKIP_BAD_IPV6_ADDRESS,
  SKIP_BAD_IPV6_HOPOPTS,
  SKIP_IPV6_JUMBO,
  SKIP_TRUNCATED_FRAGMENT,
  SKIP_TRUNCATED_IP,
  SKIP_TRUNCATED_L4,
  SKIP_UNSUPPORTED_LINKTYPE,
} from "./stats.js";

export interface DecodeOptions {
  /** Verify IPv4 header and L4 checksums (default true); off: rows carry L4_CSUM_UNKNOWN. */
  verifyChecksums: boolean;
  /** Reassembly limits and timeouts (defaults: the kernel's). */
  defrag?: Partial<DefragOptions>;
  /**
   * Do not reassemble: a fragment becomes a PK_DEFER row (record index in x0) and is not counted, so a
   * stateless decoder (a decode worker) can decode any batch; the caller decodes those records again, in
   * capture order, with decodeOne() on a defragmenting Decoder (engine/decode/parallel.ts).
   */
  deferFragments?: boolean;
  /**
   * Decode the common shapes in capture chunks with the WebAssembly fast path (fast-path.ts; default true).
   * Rows and counters are the same either way; off, every record takes the JavaScript decoder.
   */
  fastPath?: boolean;
}

// Results of the layer functions: >= 0 is a SKIP_* code.
const EMIT = -2; // row filled
const HELD = -1; // fragment queued or dropped by the defragmenter (counted there)
const DEFER = -3; // fragment left to the caller (deferFragments); packets/ipv4/ipv6 already undone
const SLOW = -4; // fast(): IPv6 not of its shape, nothing written; take the general path

const IPPROTO_ICMP = 1;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_GRE = 47;
const IPPROTO_ICMPV6 = 58;
const IPPROTO_SCTP = 132;
const IPPROTO_UDPLITE = 136;

const TCP_MAX_WSCALE = 14;

/** IPv6 extension headers ipv6_skip_exthdr walks over (ipv6_ext_hdr), NoNext included. */
function isExtHdr(nh: number): boolean {
  return nh === 0 || nh === 43 || nh === 44 || nh === 60 || nh === 51 || nh === 59;
}

/** An ICMP or ICMPv6 error message (proto is one of the two). */
function icmpError(proto: number, type: number): boolean {
  return proto === IPPROTO_ICMP ? icmpIsError(type) : icmpv6IsError(type);
}

/**
 * ip_fast_csum over the IPv4 header verifies (sums to 0xffff). The usual 20-byte header is summed inline as
 * five little-endian 32-bit reads: a byte-swapped one's-complement sum, and 0xffff is its own swap.
 */
function ip4HeaderSumOk(b: Uint8Array, v: DataView, p: number, hl: number): boolean {
  if (hl !== 20) return csumFinish(sumBytes(b, p, hl)) === 0;
  const w0 = v.getUint32(p, true);
  const w1 = v.getUint32(p + 4, true);
  const w2 = v.getUint32(p + 8, true);
  const w3 = v.getUint32(p + 12, true);
  const w4 = v.getUint32(p + 16, true);
  let s =
    (w0 & 0xffff) +
    (w0 >>> 16) +
    (w1 & 0xffff) +
    (w1 >>> 16) +
    (w2 & 0xffff) +
    (w2 >>> 16) +
    (w3 & 0xffff) +
    (w3 >>> 16) +
    (w4 & 0xffff) +
    (w4 >>> 16); // < 10 * 0xffff
  s = (s & 0xffff) + (s >>> 16);
  return (s & 0xffff) + (s >>> 16) === 0xffff;
}

/** TCP, SCTP and GRE columns of a row that has none (rare paths: tuple fails, header absent). */
function zeroProtoColumns(out: PacketBatch, row: number): void {
  out.tcpFlags[row] = out.tcpDoff[row] = out.tcpOpt[row] = out.wscale[row] = 0;
  out.seq[row] = out.ack[row] = out.sackEdge[row] = out.payload[row] = 0;
  out.win[row] = 0;
  out.x0[row] = out.x1[row] = 0;
  out.nchunks[row] = 0;
}

export class Decoder {
  readonly stats: DecodeStats;
  private readonly verify: boolean;
  private readonly deferFragments: boolean;
  private readonly fastPath: boolean;
  /** Rows the WebAssembly fast path decoded (the rest of stats.rows took the JavaScript decoder). */
  fastRows = 0;
  /** After decodeInPlace(): the next record index to decode. */
  next = 0;
  /** decodeInPlace()'s batch where the fast path cannot run. */
  private ownRows: PacketBatch | null = null;
  private readonly defrag: Defrag;
  /** Link-layer parser; its l3off / loopback describe the record being decoded. */
  private readonly link = new LinkLayer();
  /** Capture time of the record being decoded (seconds). */
  private t = 0;
  /** Scratch result of tupleL4(). */
  private tSport = 0;
  private tDport = 0;
  /**
   * Big-endian views for multi-byte reads (one load instead of two or four byte loads): of the capture
   * chunk being decoded (replaced when the reader hands out another buffer) and of the defragmenter's output.
   */
  private chunk: Uint8Array | null = null;
  private chunkView: DataView = new DataView(new ArrayBuffer(0));
  private readonly fragView: DataView;

  constructor(opts?: Partial<DecodeOptions>) {
    this.verify = opts?.verifyChecksums ?? true;
    this.deferFragments = opts?.deferFragments ?? false;
    this.fastPath = opts?.fastPath ?? true;
    this.defrag = new Defrag(opts?.defrag);
    const fo = this.defrag.out;
    this.fragView = new DataView(fo.buffer, fo.byteOffset, fo.byteLength);
    this.stats = new DecodeStats(this.defrag.stats);
  }

  /**
   * Decodes records [from, rec.count) into out rows starting at out.count; stops when out is full; returns
   * the next record index to decode. Rows that would be PK_NONE are only counted.
   */
  decode(rec: RecordBatch, from: number, out: PacketBatch): number {
    const fw = this.fastPath ? fastWindowFor(rec.data) : null;
    if (fw === null) return this.decodeRange(rec, from, rec.count, out);
    const count = rec.count;
    let i = from;
    while (i < count && out.count < out.capacity) {
      // A window: at most one row a record, so n records always fit.
      const n = Math.min(FAST_SLOTS, count - i, out.capacity - out.count);
      this.decodeWindow(fw, rec, i, n, out);
      i += n;
    }
    return i;
  }

  /**
   * decode() without copying the rows out: decodes records [from, ...) of at most one window (FAST_SLOTS
   * records) into a batch the decoder owns and returns it; `next` is then the next record index. Over a
   * capture chunk the batch is the fast path's own window, so the rows it decodes are never copied (the
   * in-process replay and inspect consume rows this way); elsewhere the JavaScript decoder fills a batch of
   * this decoder's. The batch is valid until the next call: a reader's readBatch does not touch it, but
   * over a capture chunk it belongs to the chunk's memory, so another Decoder's decode() or decodeInPlace()
   * over the same reader's chunks replaces it too.
   */
  decodeInPlace(rec: RecordBatch, from: number): PacketBatch {
    const fw = this.fastPath ? fastWindowFor(rec.data) : null;
    const n = Math.min(FAST_SLOTS, rec.count - from);
    if (fw === null) {
      if (this.ownRows === null) this.ownRows = new PacketBatch(FAST_SLOTS);
      const own = this.ownRows;
      own.count = 0;
      this.next = this.decodeRange(rec, from, from + n, own);
      return own;
    }
    const out = fw.scratch;
    out.count = 0;
    this.next = from + n;
    if (n > 0) this.decodeWindow(fw, rec, from, n, out);
    return out;
  }

  /**
   * Records [from, from + n) through the fast path's window into out's rows from out.count (n rows fit):
   * the module's rows (copied out unless out is the window's own batch), then the JavaScript decoder's
   * rows over the placeholders of the records the module left, in record order; a record that makes no
   * row leaves a hole the rows after it close. A window the module left entirely (another link type, say)
   * is one JavaScript run.
   */
  private decodeWindow(fw: FastWindow, rec: RecordBatch, from: number, n: number, out: PacketBatch): void {
    const nslow = fw.run(rec, from, n, this.stats, this.verify);
    this.fastRows += n - nslow;
    if (nslow === n) {
      this.decodeRange(rec, from, from + n, out);
      return;
    }
    const row0 = out.count;
    if (out === fw.scratch) copyRecordColumns(rec, from, n, out, row0);
    else fw.copyOut(rec, from, n, out, row0);
    const slow = fw.slow;
    let holes = 0;
    let next = 0; // the slot after the last slow record
    for (let j = 0; j < nslow; j++) {
      const slot = slow[j]!;
      if (holes > 0 && slot > next) out.moveRows(row0 + next, slot - next, row0 + next - holes);
      const at = row0 + slot - holes;
      out.count = at;
      this.decodeRange(rec, from + slot, from + slot + 1, out);
      if (out.count === at) holes++;
      next = slot + 1;
    }
    if (holes > 0 && n > next) out.moveRows(row0 + next, n - next, row0 + next - holes);
    out.count = row0 + n - holes;
  }

  /** decode() by the JavaScript decoder alone, of records [from, end). */
  private decodeRange(rec: RecordBatch, from: number, end: number, out: PacketBatch): number {
    const data = rec.data;
    const v = this.view(data);
    const link = this.link;
    const st = this.stats;
    const count = end;
    const capacity = out.capacity;
    const l4 = st.l4;
    // Record and row columns in locals (one load per call, not per packet).
    const recOffset = rec.offset;
    const recCaplen = rec.caplen;
    const recOriglen = rec.origlen;
    const recTsSec = rec.tsSec;
    const recTsNsec = rec.tsNsec;
    const recLinkType = rec.linkType;
    const recPacketNo = rec.packetNo;
    const outTsSec = out.tsSec;
    const outTsNsec = out.tsNsec;
    const outPacketNo = out.packetNo;
    const outProto = out.proto;
    const outL4flags = out.l4flags;
    const outL3flags = out.l3flags;
    // Per-record counters live in locals and are stored once per call.
    let row = out.count;
    let firstTime = st.firstTime;
    let lastTime = st.lastTime;
    let ipv4 = 0;
    let ipv6 = 0;
    let truncated = 0;
    let martian = 0;
    let deferred = 0;
    let i = from;
    for (; i < count; i++) {
      if (row >= capacity) break;
      const p0 = recOffset[i]!;
      const cap = recCaplen[i]!;
      const ol = recOriglen[i]!;
      const orig = ol > cap ? ol : cap;
      const tSec = recTsSec[i]!;
      const tNsec = recTsNsec[i]!;
      const t = tSec + tNsec / 1e9;
      this.t = t;
      if (!(t >= firstTime)) firstTime = t;
      if (!(t <= lastTime)) lastTime = t;
      const end = p0 + cap;
      let r = SLOW;
      const lt = recLinkType[i]!;
      if (lt === 1 && p0 + 14 <= end) {
        // Untagged Ethernet + IPv4/IPv6, the common cases, without the link-layer walk (the IPv4 path
        // does not read link.loopback; fast() leaves the IPv6 rows that would to the general path).
        const et = v.getUint16(p0 + 12);
        if (et === 0x0800) {
          ipv4++;
          r = this.fast(data, v, p0 + 14, end, orig - 14, out, row, false);
        } else if (et === 0x86dd) {
          r = this.fast(data, v, p0 + 14, end, orig - 14, out, row, true);
          if (r !== SLOW) ipv6++;
        }
      }
      if (r === SLOW) {
        r = link.parse(data, p0, end, lt);
        if (r === L3_V4) {
          ipv4++;
          const p = link.l3off;
          r = this.ipv4(data, p, end, orig - (p - p0), out, row, false);
        } else if (r === L3_V6) {
          ipv6++;
          const p = link.l3off;
          r = this.ipv6(data, p, end, orig - (p - p0), out, row, false);
        }
      }
      if (r === EMIT) {
        // The layer functions wrote every column the row's kind makes valid (see PacketBatch).
        outTsSec[row] = tSec;
        outTsNsec[row] = tNsec;
        outPacketNo[row] = recPacketNo[i]!;
        const proto = outProto[row]!;
        const fl = outL4flags[row]!;
        l4[proto] = l4[proto]! + 1;
        if ((fl & (L4_CSUM_BAD | L4_TRUNCATED)) !== 0) {
          if (fl & L4_CSUM_BAD) st.badChecksum[proto] = st.badChecksum[proto]! + 1;
          if (fl & L4_TRUNCATED) truncated++;
        }
        if (outL3flags[row]! & L3_ROUTE_MARTIAN) martian++;
        row++;
      } else if (r === DEFER) {
        // A placeholder for the in-order defragmenter, not a decoded row (not counted in rows).
        out.kind[row] = PK_DEFER;
        out.x0[row] = i;
        out.tsSec[row] = tSec;
        out.tsNsec[row] = tNsec;
        out.packetNo[row] = rec.packetNo[i]!;
        row++;
        deferred++;
      } else if (r >= 0) {
        st.skipped[r] = st.skipped[r]! + 1;
        if (r === SKIP_UNSUPPORTED_LINKTYPE) {
          st.unsupportedLinkTypes.set(lt, (st.unsupportedLinkTypes.get(lt) ?? 0) + 1);
        }
      }
    }
    st.packets += i - from;
    st.rows += row - out.count - deferred;
    st.ipv4 += ipv4;
    st.ipv6 += ipv6;
    st.truncated += truncated;
    st.martian += martian;
    st.firstTime = firstTime;
    st.lastTime = lastTime;
    out.count = row;
    return i;
  }

  /**
   * Decodes record i alone into out's row `row` (which must be < out.capacity); true when a row was filled
   * (false: skipped or a fragment held by the defragmenter). For PK_DEFER rows, in capture order.
   */
  decodeOne(rec: RecordBatch, i: number, out: PacketBatch, row: number): boolean {
    const count = rec.count;
    const n = out.count;
    rec.count = i + 1;
    out.count = row;
    out.clearRow(row); // the PK_DEFER marker's x0 must not survive into the reassembled row
    this.decode(rec, i, out);
    const filled = out.count > row;
    rec.count = count;
    out.count = n;
    return filled;
  }

  /** Ends the capture: fragment queues still open are counted as incomplete. */
  finish(): void {
    this.defrag.finish();
  }

  /** DataView over b: the current chunk's, the reassembly buffer's, or a new one when b changes. */
  private view(b: Uint8Array): DataView {
    if (b === this.chunk) return this.chunkView;
    if (b === this.defrag.out) return this.fragView;
    this.chunk = b;
    this.chunkView = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return this.chunkView;
  }

  // ---- IPv4 -------------------------------------------------------------------------------------------

  /** ip_rcv_core checks, nf_defrag_ipv4, ipv4_get_l4proto. wire = bytes of the frame from p on the wire. */
  private ipv4(
    b: Uint8Array,
    p: number,
    end: number,
    wire: number,
    out: PacketBatch,
    row: number,
    reasm: boolean,
  ): number {
    if (wire < 20) return SKIP_BAD_IP_HEADER;
    if (end - p < 20) return SKIP_TRUNCATED_IP;
    const b0 = b[p]!;
    if (b0 >>> 4 !== 4 || (b0 & 15) < 5) return SKIP_BAD_IP_HEADER;
    const hl = (b0 & 15) << 2;
    if (wire < hl) return SKIP_BAD_IP_HEADER;
    if (end - p < hl) return SKIP_TRUNCATED_IP;
    const v = this.view(b);
    if (!reasm && this.verify && !ip4HeaderSumOk(b, v, p, hl)) return SKIP_BAD_IP_CHECKSUM;
    const tot = v.getUint16(p + 2);
    if (tot > wire || tot < hl) return SKIP_BAD_IP_LENGTH;
    const dEnd = p + tot;
    const capEnd = Math.min(end, dEnd);
    const proto = b[p + 9]!;
    const src = v.getUint32(p + 12);
    const dst = v.getUint32(p + 16);
    if (!reasm && (be16(b, p + 6) & 0x3fff) !== 0) {
      if (this.deferFragments) {
        this.stats.packets--;
        this.stats.ipv4--;
        return DEFER;
      }
      this.stats.fragments++;
      if (capEnd < dEnd) return SKIP_TRUNCATED_FRAGMENT;
      const d = this.defrag;
      d.kSrc[0] = src;
      d.kSrc[1] = d.kSrc[2] = d.kSrc[3] = 0;
      d.kDst[0] = dst;
      d.kDst[1] = d.kDst[2] = d.kDst[3] = 0;
      d.kId = be16(b, p + 4);
      d.kProto = proto;
      if (d.addV4(b, p, hl, tot, this.t) !== FRAG_DONE) return HELD;
      return this.ipv4(d.out, d.outStart, d.outStart + d.outLen, d.outLen, out, row, true);
    }
    out.kind[row] = PK_IP;
    out.l3[row] = NFPROTO_IPV4;
    out.proto[row] = proto;
    const a = row * 4;
    const srcs = out.src;
    const dsts = out.dst;
    srcs[a] = src;
    srcs[a + 1] = srcs[a + 2] = srcs[a + 3] = 0;
    dsts[a] = dst;
    dsts[a + 1] = dsts[a + 2] = dsts[a + 3] = 0;
    out.l3flags[row] = this.martian4(src, dst) ? L3_ROUTE_MARTIAN : 0;
    let fl = reasm ? L4_REASSEMBLED : 0;
    if (capEnd < dEnd) fl |= L4_TRUNCATED;
    return this.l4(b, v, p + hl, capEnd, dEnd, proto, fl, out, row);
  }

  /**
   * ipv4()/ipv6() + l4() in one straight line for the dominant shapes: an IPv4 20-byte header, not a
   * fragment, or an IPv6 header without extension headers whose addresses ip6_rcv_core passes whatever the
   * device (no multicast source; destination not multicast, not ::/8); carrying TCP with a sane data
   * offset, UDP, or a non-error ICMP/ICMPv6 message, fixed L4 header captured. Anything else: IPv4 goes to ipv4() from scratch, IPv6 returns
   * SLOW having written nothing, so rows are those of the general path.
   */
  private fast(
    b: Uint8Array,
    v: DataView,
    p: number,
    end: number,
    wire: number,
    out: PacketBatch,
    row: number,
    ip6: boolean,
  ): number {
    let proto: number;
    let q: number;
    let dEnd: number;
    if (!ip6) {
      if (wire < 20 || end - p < 20 || b[p] !== 0x45) return this.ipv4(b, p, end, wire, out, row, false);
      const tot = v.getUint16(p + 2);
      if (tot > wire || tot < 20 || (v.getUint16(p + 6) & 0x3fff) !== 0) {
        return this.ipv4(b, p, end, wire, out, row, false);
      }
      proto = b[p + 9]!;
      q = p + 20;
      dEnd = p + tot;
    } else {
      if (wire < 40 || end - p < 40 || b[p]! >>> 4 !== 6) return SLOW;
      const plen = v.getUint16(p + 4);
      const d0 = b[p + 24]!;
      if (40 + plen > wire || b[p + 8] === 0xff || d0 === 0xff || d0 === 0) return SLOW;
      proto = b[p + 6]!;
      q = p + 40;
      dEnd = q + plen;
    }
    const capEnd = end < dEnd ? end : dEnd;
    const l4len = dEnd - q;
    const avail = capEnd - q;
    let doff = 0;
    if (proto === IPPROTO_TCP) {
      if (l4len < 20 || avail < 20) return ip6 ? SLOW : this.ipv4(b, p, end, wire, out, row, false);
      doff = b[q + 12]! >>> 4;
      if (doff < 5 || doff << 2 > l4len) return ip6 ? SLOW : this.ipv4(b, p, end, wire, out, row, false);
    } else if (proto === IPPROTO_UDP || proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
      if (l4len < 8 || avail < 8) return ip6 ? SLOW : this.ipv4(b, p, end, wire, out, row, false);
      // ICMP errors carry a quoted packet for inner(): general path.
      if (proto !== IPPROTO_UDP && icmpError(proto, b[q]!)) {
        return ip6 ? SLOW : this.ipv4(b, p, end, wire, out, row, false);
      }
    } else {
      return ip6 ? SLOW : this.ipv4(b, p, end, wire, out, row, false);
    }
    const a = row * 4;
    const srcs = out.src;
    const dsts = out.dst;
    let addrSum: number;
    if (!ip6) {
      // ipv4() checks the header sum before the length: same outcome, the row is now certain.
      if (this.verify && !ip4HeaderSumOk(b, v, p, 20)) return SKIP_BAD_IP_CHECKSUM;
      const src = v.getUint32(p + 12);
      const dst = v.getUint32(p + 16);
      srcs[a] = src;
      srcs[a + 1] = srcs[a + 2] = srcs[a + 3] = 0;
      dsts[a] = dst;
      dsts[a + 1] = dsts[a + 2] = dsts[a + 3] = 0;
      out.l3[row] = NFPROTO_IPV4;
      out.l3flags[row] = this.martian4(src, dst) ? L3_ROUTE_MARTIAN : 0;
      addrSum = sumWord(src) + sumWord(dst);
    } else {
      addrSum = 0;
      for (let k = 0; k < 4; k++) {
        const s = v.getUint32(p + 8 + 4 * k);
        const d = v.getUint32(p + 24 + 4 * k);
        srcs[a + k] = s;
        dsts[a + k] = d;
        addrSum += sumWord(s) + sumWord(d);
      }
      out.l3[row] = NFPROTO_IPV6;
      out.l3flags[row] = 0;
    }
    out.kind[row] = PK_IP;
    out.proto[row] = proto;
    out.l4len[row] = l4len;
    const trunc = capEnd < dEnd;
    let fl = trunc ? L4_TRUNCATED | L4_TUPLE_OK | L4_HDR_OK : L4_TUPLE_OK | L4_HDR_OK;
    let sum = true; // verify the L4 checksum
    let pseudo = true; // with the pseudo-header
    if (proto === IPPROTO_TCP) {
      out.sport[row] = v.getUint16(q);
      out.dport[row] = v.getUint16(q + 2);
      out.tcpDoff[row] = doff;
      out.tcpFlags[row] = b[q + 13]!;
      out.seq[row] = v.getUint32(q + 4);
      out.ack[row] = v.getUint32(q + 8);
      out.win[row] = v.getUint16(q + 14);
      out.payload[row] = l4len - (doff << 2);
      const oEnd = q + (doff << 2);
      const oLen = (oEnd < capEnd ? oEnd : capEnd) - (q + 20);
      if (oLen === 0 || (oLen === 12 && v.getUint32(q + 20) === 0x0101080a)) {
        // No options, or NOP, NOP, timestamps: nothing tcpOptions() records.
        out.tcpOpt[row] = 0;
        out.wscale[row] = 0;
        out.sackEdge[row] = 0;
      } else {
        this.tcpOptions(b, v, q + 20, q + 20 + oLen, out, row);
      }
    } else if (proto === IPPROTO_UDP) {
      out.sport[row] = v.getUint16(q);
      out.dport[row] = v.getUint16(q + 2);
      out.payload[row] = l4len - 8;
      const ulen = v.getUint16(q + 4);
      if (ulen > l4len || ulen < 8) {
        fl |= L4_UDP_LEN_BAD;
        sum = false;
      } else sum = v.getUint16(q + 6) !== 0;
    } else {
      // icmp_pkt_to_tuple / icmpv6_pkt_to_tuple (see tupleL4); ICMPv4 sums no pseudo-header.
      out.sport[row] = v.getUint16(q + 4);
      out.dport[row] = v.getUint16(q);
      pseudo = proto === IPPROTO_ICMPV6;
    }
    if (sum) {
      if (!this.verify || trunc) fl |= L4_CSUM_UNKNOWN;
      else {
        const s = sumBytes(b, q, l4len) + (pseudo ? proto + l4len + addrSum : 0);
        if (csumFinish(s) !== 0) fl |= L4_CSUM_BAD;
      }
    }
    out.l4flags[row] = fl;
    return EMIT;
  }

  /**
   * ip_route_input_slow's martian checks for a host that delivers everything locally with route_localnet=1
   * (the kernel-oracle's setup; 127/8 then passes): multicast or limited-broadcast source; then, unless to
   * 255.255.255.255 or 0.0.0.0 -> 0.0.0.0, a 0/8 source or destination. Multicast destinations are assumed
   * joined.
   */
  private martian4(src: number, dst: number): boolean {
    if (src >>> 28 === 0xe || src === 0xffffffff) return true;
    if (dst === 0xffffffff || (src === 0 && dst === 0)) return false;
    return src >>> 24 === 0 || dst >>> 24 === 0;
  }

  // ---- IPv6 -------------------------------------------------------------------------------------------

  /** ipv6_rcv checks, nf_ct_frag6_gather, ipv6_skip_exthdr (ipv6_get_l4proto). */
  private ipv6(
    b: Uint8Array,
    p: number,
    end: number,
    wire: number,
    out: PacketBatch,
    row: number,
    reasm: boolean,
  ): number {
    if (wire < 40) return SKIP_BAD_IP_HEADER;
    if (end - p < 40) return SKIP_TRUNCATED_IP;
    if (b[p]! >>> 4 !== 6) return SKIP_BAD_IP_HEADER;
    const plen = be16(b, p + 4);
    let nh = b[p + 6]!;
    if (plen === 0 && nh === 0) return SKIP_IPV6_JUMBO;
    if (!reasm) {
      // ip6_rcv_core address checks (a non-loopback device unless the link type says loopback).
      const d0 = b[p + 24]!;
      if (b[p + 8] === 0xff) return SKIP_BAD_IPV6_ADDRESS; // multicast source
      if (d0 === 0xff && ((b[p + 25]! & 15) === 0 || (!this.link.loopback && (b[p + 25]! & 15) === 1))) {
        return SKIP_BAD_IPV6_ADDRESS; // multicast scope 0, or interface-local from the wire
      }
      if (
        !this.link.loopback &&
        d0 === 0 &&
        be32(b, p + 24) === 0 &&
        be32(b, p + 28) === 0 &&
        be32(b, p + 32) === 0
      ) {
        if (be32(b, p + 36) === 1) return SKIP_BAD_IPV6_ADDRESS; // ::1 destination on a real interface
      }
    }
    if (40 + plen > wire) return SKIP_BAD_IP_LENGTH;
    const dEnd = p + 40 + plen;
    if (nh === 0 && !reasm && !this.hopOptsOk(b, p + 40, Math.min(end, dEnd), dEnd)) {
      return SKIP_BAD_IPV6_HOPOPTS;
    }
    const capEnd = Math.min(end, dEnd);
    const a = row * 4;
    const v = this.view(b);
    const srcs = out.src;
    const dsts = out.dst;
    srcs[a] = v.getUint32(p + 8);
    srcs[a + 1] = v.getUint32(p + 12);
    srcs[a + 2] = v.getUint32(p + 16);
    srcs[a + 3] = v.getUint32(p + 20);
    dsts[a] = v.getUint32(p + 24);
    dsts[a + 1] = v.getUint32(p + 28);
    dsts[a + 2] = v.getUint32(p + 32);
    dsts[a + 3] = v.getUint32(p + 36);
    let q = p + 40;
    let nhPos = p + 6;
    let tupleOk = true;
    while (isExtHdr(nh)) {
      if (nh === 59) {
        tupleOk = false; // NoNextHeader: ipv6_skip_exthdr returns -1
        break;
      }
      if (q + 2 > dEnd) {
        tupleOk = false;
        break;
      }
      if (q + 2 > capEnd) return SKIP_TRUNCATED_L4;
      let hdrlen: number;
      if (nh === 44) {
        if (q + 8 > capEnd)
          return q + 8 > dEnd ? this.v6NoTuple(out, row, nh, capEnd, dEnd, reasm) : SKIP_TRUNCATED_L4;
        const fo = be16(b, q + 2);
        if ((fo & 0xfff9) !== 0) {
          // A real fragment (offset or M set): nf_defrag_ipv6 queues it. Atomic fragments (offset 0, M 0)
          // pass, and ipv6_skip_exthdr steps over their header.
          if (reasm) {
            tupleOk = false; // a fragment header inside a reassembled datagram: not produced by reasm()
            break;
          }
          if (this.deferFragments) {
            this.stats.packets--;
            this.stats.ipv6--;
            return DEFER;
          }
          this.stats.fragments++;
          if (capEnd < dEnd) return SKIP_TRUNCATED_FRAGMENT;
          const d = this.defrag;
          for (let k = 0; k < 4; k++) {
            d.kSrc[k] = out.src[a + k]!;
            d.kDst[k] = out.dst[a + k]!;
          }
          d.kId = be32(b, q + 4);
          d.kProto = 0;
          const r = d.addV6(b, p, q, nhPos, dEnd, this.t);
          if (r === FRAG_DONE)
            return this.ipv6(d.out, d.outStart, d.outStart + d.outLen, d.outLen, out, row, true);
          if (r !== FRAG_PASS) return HELD;
          // -EPROTO: conntrack sees the fragment itself; ipv6_skip_exthdr stops at a non-zero offset.
          if ((fo & 0xfff8) !== 0) {
            tupleOk = false;
            break;
          }
        }
        hdrlen = 8;
      } else if (nh === 51) {
        hdrlen = (b[q + 1]! + 2) << 2;
      } else {
        hdrlen = (b[q + 1]! + 1) << 3;
      }
      nhPos = q;
      nh = b[q]!;
      q += hdrlen;
    }
    if (q > dEnd) tupleOk = false;
    out.kind[row] = PK_IP;
    out.l3[row] = NFPROTO_IPV6;
    out.proto[row] = nh;
    out.l3flags[row] = 0;
    let fl = reasm ? L4_REASSEMBLED : 0;
    if (capEnd < dEnd) fl |= L4_TRUNCATED;
    if (!tupleOk) {
      this.noTuple(out, row, q <= dEnd ? dEnd - q : 0, fl);
      return EMIT;
    }
    return this.l4(b, v, q, capEnd, dEnd, nh, fl, out, row);
  }

  /**
   * ipv6_parse_hopopts + ip6_parse_tlv (hop-by-hop): padding runs of at most 7 bytes with zero PadN
   * payload (RFC 4942), options within the header, at most 8 non-padding options (max_hbh_opts_number),
   * Router Alert of length 2, unknown options acted on by their two high type bits (00 = skip, else drop).
   * An option area the capture does not hold is assumed valid.
   */
  private hopOptsOk(b: Uint8Array, h: number, capEnd: number, dEnd: number): boolean {
    if (h + 8 > dEnd) return false;
    if (h + 2 > capEnd) return true;
    const hEnd = h + ((b[h + 1]! + 1) << 3);
    if (hEnd > dEnd) return false;
    if (hEnd > capEnd) return true;
    let off = h + 2;
    let padlen = 0;
    let opts = 0;
    while (off < hEnd) {
      const type = b[off]!;
      if (type === 0) {
        // Pad1
        if (++padlen > 7) return false;
        off++;
        continue;
      }
      if (off + 2 > hEnd) return false;
      const optlen = b[off + 1]! + 2;
      if (off + optlen > hEnd) return false;
      if (type === 1) {
        // PadN
        padlen += optlen;
        if (padlen > 7) return false;
        for (let i = 2; i < optlen; i++) if (b[off + i] !== 0) return false;
      } else {
        padlen = 0;
        if (++opts > 8) return false;
        if (type === 5) {
          if (optlen !== 4) return false; // ipv6_hop_ra: length 2
        } else if (type !== 0xc2 && type !== 0x07 && type !== 0x31 && type >>> 6 !== 0) {
          return false; // ip6_tlvopt_unknown: discard
        }
      }
      off += optlen;
    }
    return true;
  }

  /** IPv6 row whose tuple cannot be parsed (kernel: invalid). */
  private v6NoTuple(
    out: PacketBatch,
    row: number,
    nh: number,
    capEnd: number,
    dEnd: number,
    reasm: boolean,
  ): number {
    out.kind[row] = PK_IP;
    out.l3[row] = NFPROTO_IPV6;
    out.proto[row] = nh;
    out.l3flags[row] = 0;
    this.noTuple(out, row, 0, (reasm ? L4_REASSEMBLED : 0) | (capEnd < dEnd ? L4_TRUNCATED : 0));
    return EMIT;
  }

  /** Rest of a row whose tuple cannot be parsed (L4_TUPLE_OK clear): zero ports and protocol columns. */
  private noTuple(out: PacketBatch, row: number, l4len: number, fl: number): void {
    out.l4len[row] = l4len;
    out.l4flags[row] = fl;
    out.sport[row] = 0;
    out.dport[row] = 0;
    zeroProtoColumns(out, row);
  }

  // ---- L4 ---------------------------------------------------------------------------------------------

  /**
   * nf_ct_get_tuple's L4 part into tSport/tDport. Returns 1 ok, 0 the datagram does not have the bytes
   * (kernel: tuple fails), -1 the datagram has them but the capture does not.
   */
  private tupleL4(b: Uint8Array, q: number, capEnd: number, dEnd: number, proto: number): number {
    this.tSport = 0;
    this.tDport = 0;
    switch (proto) {
      case IPPROTO_TCP:
      case IPPROTO_UDP:
      case IPPROTO_UDPLITE:
      case IPPROTO_SCTP:
        if (dEnd - q < 4) return 0;
        if (capEnd - q < 4) return -1;
        this.tSport = be16(b, q);
        this.tDport = be16(b, q + 2);
        return 1;
      case IPPROTO_ICMP:
      case IPPROTO_ICMPV6:
        // icmp_pkt_to_tuple / icmpv6_pkt_to_tuple: the 8-byte header, id even for non-echo types.
        if (dEnd - q < 8) return 0;
        if (capEnd - q < 8) return -1;
        this.tSport = be16(b, q + 4);
        this.tDport = (b[q]! << 8) | b[q + 1]!;
        return 1;
      case IPPROTO_GRE: {
        // gre_pkt_to_tuple: unreadable or version 0 -> portless; v1: PPP only, dst key = call id.
        if (dEnd - q < 4) return 1;
        if (capEnd - q < 4) return -1;
        if ((b[q + 1]! & 7) !== 1) return 1;
        if (dEnd - q < 8) return 1;
        if (capEnd - q < 8) return -1;
        if (be16(b, q + 2) !== 0x880b) return 0;
        this.tDport = be16(b, q + 6);
        return 1;
      }
      default:
        // Generic (incl. DCCP on 6.16+, ESP, AH-less, IPIP, 6in4): addresses + protonum.
        return 1;
    }
  }

  /**
   * L4 header fields and checks for an outer datagram: L4 starts at q, captured to capEnd, ends at dEnd;
   * flags = the L4_* bits set so far. Writes l4len, l4flags, ports and the protocol's columns.
   */
  private l4(
    b: Uint8Array,
    v: DataView,
    q: number,
    capEnd: number,
    dEnd: number,
    proto: number,
    flags: number,
    out: PacketBatch,
    row: number,
  ): number {
    const l4len = dEnd - q;
    const avail = capEnd - q;
    let fl = flags;
    const trunc = (fl & L4_TRUNCATED) !== 0;
    // TCP and UDP first, with nf_ct_get_tuple's port read inlined (tupleL4 below for the others).
    if (proto === IPPROTO_TCP) {
      if (l4len < 4) {
        this.noTuple(out, row, l4len, fl); // tuple fails: conntrack counts invalid
        return EMIT;
      }
      if (avail < 4 || (l4len >= 20 && avail < 20)) return SKIP_TRUNCATED_L4;
      out.l4len[row] = l4len;
      out.sport[row] = v.getUint16(q);
      out.dport[row] = v.getUint16(q + 2);
      fl |= L4_TUPLE_OK;
      if (l4len >= 20) {
        const doff = b[q + 12]! >>> 4;
        out.tcpDoff[row] = doff;
        out.tcpFlags[row] = b[q + 13]!;
        out.seq[row] = v.getUint32(q + 4);
        out.ack[row] = v.getUint32(q + 8);
        out.win[row] = v.getUint16(q + 14);
        // tcp_error: doff*4 < sizeof(tcphdr) || tcplen < doff*4 -> invalid
        if (doff >= 5 && doff << 2 <= l4len) {
          fl |= L4_HDR_OK;
          out.payload[row] = l4len - (doff << 2);
          const oEnd = q + (doff << 2);
          this.tcpOptions(b, v, q + 20, oEnd < capEnd ? oEnd : capEnd, out, row);
        } else {
          out.payload[row] = 0;
          out.tcpOpt[row] = 0;
          out.wscale[row] = 0;
          out.sackEdge[row] = 0;
        }
      } else {
        zeroProtoColumns(out, row);
      }
      out.l4flags[row] = this.l4Checksum(b, q, l4len, proto, fl, trunc, out, row, true);
      return EMIT;
    }
    if (proto === IPPROTO_UDP || proto === IPPROTO_UDPLITE) {
      if (l4len < 4) {
        this.noTuple(out, row, l4len, fl);
        return EMIT;
      }
      if (avail < 4 || (l4len >= 8 && avail < 8)) return SKIP_TRUNCATED_L4;
      out.l4len[row] = l4len;
      out.sport[row] = v.getUint16(q);
      out.dport[row] = v.getUint16(q + 2);
      fl |= L4_TUPLE_OK;
      if (l4len >= 8) {
        fl |= L4_HDR_OK;
        out.payload[row] = l4len - 8;
        const ulen = v.getUint16(q + 4);
        const check = v.getUint16(q + 6);
        if (proto === IPPROTO_UDP) {
          // udp_error: len > remaining or < 8 -> invalid; checksum 0 -> not checked (both families).
          if (ulen > l4len || ulen < 8) fl |= L4_UDP_LEN_BAD;
          else if (check !== 0) fl = this.l4Checksum(b, q, l4len, proto, fl, trunc, out, row, true);
        } else {
          // udplite_error: coverage 0 = whole datagram; < 8 or > length invalid; checksum mandatory.
          let cov = ulen;
          if (cov === 0) cov = l4len;
          if (cov < 8 || cov > l4len) fl |= L4_UDP_LEN_BAD;
          else if (check === 0)
            fl |= L4_UDP_LEN_BAD | L4_CSUM_BAD; // "checksum missing": invalid whatever the sysctl
          else if (!this.verify) fl |= L4_CSUM_UNKNOWN;
          else if (capEnd - q < cov) fl |= L4_CSUM_UNKNOWN;
          // nf_checksum_partial(..., IPPROTO_UDP, ...): the kernel puts 17, not 136, in the pseudo-header.
          else if (csumFinish(sumBytes(b, q, cov) + this.pseudo(out, row, IPPROTO_UDP, l4len)) !== 0)
            fl |= L4_CSUM_BAD;
        }
      } else {
        out.payload[row] = 0;
      }
      out.l4flags[row] = fl;
      return EMIT;
    }
    const tr = this.tupleL4(b, q, capEnd, dEnd, proto);
    if (tr < 0) return SKIP_TRUNCATED_L4;
    if (tr === 0) {
      this.noTuple(out, row, l4len, fl); // tuple fails: conntrack counts invalid
      return EMIT;
    }
    fl |= L4_TUPLE_OK;
    out.l4len[row] = l4len;
    out.sport[row] = this.tSport;
    out.dport[row] = this.tDport;
    switch (proto) {
      case IPPROTO_ICMP:
      case IPPROTO_ICMPV6: {
        fl |= L4_HDR_OK;
        fl = this.l4Checksum(b, q, l4len, proto, fl, trunc, out, row, proto === IPPROTO_ICMPV6);
        if (icmpError(proto, b[q]!) && this.inner(b, q + 8, capEnd, dEnd, out.l3[row]!, out, row))
          fl |= L4_ICMP_INNER_OK;
        break;
      }
      case IPPROTO_SCTP:
        if (l4len >= 12 && avail < 12) return SKIP_TRUNCATED_L4;
        out.x0[row] = 0;
        out.x1[row] = 0;
        out.nchunks[row] = 0;
        fl = this.sctp(b, q, capEnd, dEnd, fl, trunc, out, row);
        break;
      case IPPROTO_GRE:
        out.x0[row] = 0;
        out.x1[row] = 0;
        if (l4len >= 4) {
          const ver = b[q + 1]! & 7;
          out.x0[row] = ver;
          out.x1[row] = be16(b, q + 2);
          if (ver === 0 || l4len >= 8) fl |= L4_HDR_OK;
        }
        break;
      default:
        fl |= L4_HDR_OK;
    }
    out.l4flags[row] = fl;
    return EMIT;
  }

  /** Pseudo-header sum (TCP/UDP/UDPLite/ICMPv6) from the row's addresses. */
  private pseudo(out: PacketBatch, row: number, proto: number, l4len: number): number {
    const a = row * 4;
    let s = proto + (l4len >>> 16) + (l4len & 0xffff);
    if (out.l3[row] === NFPROTO_IPV4) return s + sumWord(out.src[a]!) + sumWord(out.dst[a]!);
    for (let k = 0; k < 4; k++) s += sumWord(out.src[a + k]!) + sumWord(out.dst[a + k]!);
    return s;
  }

  /** nf_checksum over the whole L4 datagram (with pseudo-header when asked). */
  private l4Checksum(
    b: Uint8Array,
    q: number,
    l4len: number,
    proto: number,
    fl: number,
    trunc: boolean,
    out: PacketBatch,
    row: number,
    withPseudo: boolean,
  ): number {
    if (!this.verify || trunc) return fl | L4_CSUM_UNKNOWN;
    let s = sumBytes(b, q, l4len);
    if (withPseudo) s += this.pseudo(out, row, proto, l4len);
    return csumFinish(s) !== 0 ? fl | L4_CSUM_BAD : fl;
  }

  /** tcp_options / tcp_sack: window scale (capped at 14), SACK-permitted, highest SACK right edge. */
  private tcpOptions(
    b: Uint8Array,
    v: DataView,
    start: number,
    end: number,
    out: PacketBatch,
    row: number,
  ): void {
    let p = start;
    let opt = 0;
    let edge = 0;
    out.wscale[row] = 0;
    // The usual data-segment layout NOP, NOP, timestamps (12 bytes) sets nothing.
    if (end - p === 12 && v.getUint32(p) === 0x0101080a) p = end;
    while (p < end) {
      const kind = b[p]!;
      if (kind === 0) break; // EOL
      if (kind === 1) {
        p++;
        continue;
      }
      if (p + 2 > end) break;
      const size = b[p + 1]!;
      if (size < 2 || p + size > end) break; // silly or partial option
      if (kind === 3 && size === 3) {
        opt |= TCPOPT_WSCALE;
        const ws = b[p + 2]!;
        out.wscale[row] = Math.min(ws, TCP_MAX_WSCALE);
      } else if (kind === 4 && size === 2) {
        opt |= TCPOPT_SACK_PERM;
      } else if (kind === 5 && size >= 10 && (size - 2) % 8 === 0) {
        for (let k = p + 2; k < p + size; k += 8) {
          const re = be32(b, k + 4);
          // after(re, edge): sequence-space comparison
          if ((opt & TCPOPT_SACK) === 0 || ((re - edge) | 0) > 0) edge = re;
          opt |= TCPOPT_SACK;
        }
      }
      p += size;
    }
    out.tcpOpt[row] = opt;
    out.sackEdge[row] = edge;
  }

  /** SCTP common header, chunk walk (for_each_sctp_chunk / do_basic_checks), CRC32c (sctp_error). */
  private sctp(
    b: Uint8Array,
    q: number,
    capEnd: number,
    dEnd: number,
    flags: number,
    trunc: boolean,
    out: PacketBatch,
    row: number,
  ): number {
    let fl = flags;
    const l4len = dEnd - q;
    if (l4len < 12) return fl; // sctp_error: "not enough data"
    out.x0[row] = be32(b, q + 4);
    let ok = true;
    let count = 0;
    let initSeen = false;
    const cbase = row * SCTP_MAX_CHUNKS;
    let off = q + 12;
    while (off < dEnd) {
      if (off + 4 > dEnd) break; // header unreadable: the kernel's loop just ends
      if (off + 4 > capEnd) break; // capture ends (L4_TRUNCATED already set)
      const type = b[off]!;
      const clen = be16(b, off + 2);
      if (count < SCTP_MAX_CHUNKS) {
        out.chunks[cbase + count] = type;
        out.chunkFlags[cbase + count] = b[off + 1]!;
      }
      count++;
      if (clen === 0) {
        ok = false;
        break;
      }
      if ((type === 1 || type === 2) && !initSeen) {
        initSeen = true;
        // sctp_new / INIT_ACK handling read the 16-byte sctp_inithdr after the chunk header.
        if (off + 20 > dEnd) ok = false;
        else if (off + 8 <= capEnd) out.x1[row] = be32(b, off + 4);
      }
      off += (clen + 3) & ~3;
    }
    out.nchunks[row] = Math.min(count, 255);
    if (ok) fl |= L4_HDR_OK;
    if (!this.verify || trunc) fl |= L4_CSUM_UNKNOWN;
    else {
      const wireSum = (b[q + 8]! | (b[q + 9]! << 8) | (b[q + 10]! << 16) | (b[q + 11]! << 24)) >>> 0;
      if (sctpCrc32c(b, q, l4len) !== wireSum) fl |= L4_CSUM_BAD;
    }
    return fl;
  }

  /**
   * ICMP/ICMPv6 error: nf_ct_get_tuplepr on the quoted packet at ip (same family as the outer one).
   * Fills the inner columns; returns true when the quoted tuple parses.
   */
  private inner(
    b: Uint8Array,
    ip: number,
    capEnd: number,
    dEnd: number,
    l3: number,
    out: PacketBatch,
    row: number,
  ): boolean {
    const a = row * 4;
    let q: number;
    let proto: number;
    if (l3 === NFPROTO_IPV4) {
      if (ip + 20 > dEnd || ip + 20 > capEnd) return false;
      const ihl = (b[ip]! & 15) << 2;
      if (ihl < 20) return false;
      if ((be16(b, ip + 6) & 0x1fff) !== 0) return false; // non-first fragment
      proto = b[ip + 9]!;
      const isrc = out.isrc;
      const idst = out.idst;
      isrc[a] = be32(b, ip + 12);
      isrc[a + 1] = isrc[a + 2] = isrc[a + 3] = 0;
      idst[a] = be32(b, ip + 16);
      idst[a + 1] = idst[a + 2] = idst[a + 3] = 0;
      q = ip + ihl;
      if (q > dEnd) return false;
    } else {
      if (ip + 40 > dEnd || ip + 40 > capEnd) return false;
      for (let k = 0; k < 4; k++) {
        out.isrc[a + k] = be32(b, ip + 8 + 4 * k);
        out.idst[a + k] = be32(b, ip + 24 + 4 * k);
      }
      proto = b[ip + 6]!;
      q = ip + 40;
      while (isExtHdr(proto)) {
        if (proto === 59 || q + 2 > dEnd || q + 2 > capEnd) return false;
        let hdrlen: number;
        if (proto === 44) {
          if (q + 4 > dEnd || q + 4 > capEnd) return false;
          if ((be16(b, q + 2) & 0xfff8) !== 0) return false; // non-first fragment
          hdrlen = 8;
        } else if (proto === 51) hdrlen = (b[q + 1]! + 2) << 2;
        else hdrlen = (b[q + 1]! + 1) << 3;
        proto = b[q]!;
        q += hdrlen;
      }
      if (q > dEnd) return false;
    }
    out.il3[row] = l3;
    out.iproto[row] = proto;
    if (this.tupleL4(b, q, capEnd, dEnd, proto) !== 1) return false;
    out.isport[row] = this.tSport;
    out.idport[row] = this.tDport;
    return true;
  }
}
