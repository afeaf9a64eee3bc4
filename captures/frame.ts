/**
 * Builds Ethernet + IPv4/IPv6 + TCP/UDP/ICMP/ICMPv6 frames straight into the capture writer's chunk, with a
 * correct IPv4 header checksum and correct L4 checksums (pseudo-header included) so a real kernel with
 * nf_conntrack_checksum=1 accepts every packet. Payload bytes come from a fixed random pool whose 16-bit
 * prefix sums make the payload part of a checksum O(1), so headers-only captures cost no payload work.
 * Nothing is allocated per packet: the emitter's fields describe the packet being built.
 */
import type { CaptureWriter } from "./capture-writer.js";
import type { Sfc32 } from "./prng.js";

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PSH = 0x08;
export const TH_ACK = 0x10;

/** TCP option layouts the generator writes. */
export const OPT_NONE = 0; // no options (doff 5)
export const OPT_SYN_LINUX = 1; // MSS, SACK_PERM, TS, NOP, WS=7 (20 bytes, Linux order)
export const OPT_SYN_MSS = 2; // MSS only (4 bytes)
export const OPT_TS = 3; // NOP, NOP, TS (12 bytes, Linux data segments)
export const OPT_SYN_WS = 4; // MSS, NOP, WS=8, NOP, NOP, SACK_PERM (12 bytes, Windows order)
const OPT_LEN = [0, 20, 4, 12, 12];

/** Largest payload the pool serves (bigger than any MSS the generator uses). */
export const MAX_PAYLOAD = 2048;
const POOL_SIZE = 65536;

/** Random payload bytes plus prefix sums of their big-endian 16-bit words. */
export class PayloadPool {
  readonly bytes: Uint8Array;
  private readonly prefix: Float64Array;

  constructor(rng: Sfc32) {
    this.bytes = new Uint8Array(POOL_SIZE + MAX_PAYLOAD);
    for (let i = 0; i < this.bytes.length; i += 4) {
      const r = rng.u32();
      this.bytes[i] = r >>> 24;
      this.bytes[i + 1] = (r >>> 16) & 0xff;
      this.bytes[i + 2] = (r >>> 8) & 0xff;
      this.bytes[i + 3] = r & 0xff;
    }
    const words = this.bytes.length >> 1;
    this.prefix = new Float64Array(words + 1);
    for (let w = 0; w < words; w++) {
      this.prefix[w + 1] = this.prefix[w] + ((this.bytes[2 * w] << 8) | this.bytes[2 * w + 1]);
    }
  }

  /** A random even offset at which `len` (<= MAX_PAYLOAD) bytes can be taken. */
  offset(rng: Sfc32): number {
    return rng.int(POOL_SIZE >> 1) << 1;
  }

  /** Unfolded ones'-complement sum of bytes [off, off+len) as 16-bit big-endian words (off even). */
  sum(off: number, len: number): number {
    const w0 = off >> 1;
    const whole = len >> 1;
    let s = this.prefix[w0 + whole] - this.prefix[w0];
    if (len & 1) s += this.bytes[off + len - 1] << 8;
    return s;
  }
}

/** Unfolded 16-bit big-endian word sum of b[from, to). */
function sumBytes(b: Uint8Array, from: number, to: number): number {
  let s = 0;
  let i = from;
  for (; i + 1 < to; i += 2) s += (b[i] << 8) | b[i + 1];
  if (i < to) s += b[i] << 8;
  return s;
}

/** Folds a sum to 16 bits and complements it (RFC 1071). */
function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 65536) + Math.floor(s / 65536);
  return ~s & 0xffff;
}

function put16(b: Uint8Array, p: number, v: number): void {
  b[p] = (v >>> 8) & 0xff;
  b[p + 1] = v & 0xff;
}

function put32(b: Uint8Array, p: number, v: number): void {
  b[p] = (v >>> 24) & 0xff;
  b[p + 1] = (v >>> 16) & 0xff;
  b[p + 2] = (v >>> 8) & 0xff;
  b[p + 3] = v & 0xff;
}

/** An address as the generator stores it: 16 bytes, IPv4 in the first 4. */
export type Addr = Uint8Array;

const L4_NONE = 0;
const L4_TCP = 1;
const L4_UDP = 2;
const L4_ECHO = 3;
const L4_ICMP_ERR = 4;

export interface EmitterOptions {
  /** Cut every frame right after its headers (caplen = L2+L3+L4 headers, origlen = full frame). */
  headersOnly: boolean;
  /** Cut every frame at this many bytes (pcap snaplen). */
  snaplen: number;
}

export class FrameEmitter {
  readonly writer: CaptureWriter;
  readonly pool: PayloadPool;
  readonly headersOnly: boolean;
  readonly snaplen: number;
  packets = 0;
  ipv6Packets = 0;
  /** Timestamp of the last packet written (µs). */
  lastTsUs = 0;
  /** Scratch for a datagram rebuilt in full (the packet an ICMP error quotes). */
  readonly scratch = new Uint8Array(70000);

  // The packet being built.
  private kind = L4_NONE;
  private v6 = false;
  private src: Addr = new Uint8Array(16);
  private dst: Addr = new Uint8Array(16);
  private sport = 0;
  private dport = 0;
  private seq = 0;
  private ack = 0;
  private flags = 0;
  private win = 0;
  private opt = OPT_NONE;
  private tsval = 0;
  private tsecr = 0;
  private payLen = 0;
  private payOff = 0;
  private ipId = 0;
  private icmpType = 0;
  private icmpCode = 0;
  private quote: Uint8Array = this.scratch;
  private quoteLen = 0;
  /** Explicit payload bytes (e.g. a DNS message) instead of the random pool, or null. */
  private explicit: Uint8Array | null = null;

  constructor(writer: CaptureWriter, pool: PayloadPool, opts: EmitterOptions) {
    this.writer = writer;
    this.pool = pool;
    this.headersOnly = opts.headersOnly;
    this.snaplen = opts.snaplen;
  }

  tcp(
    tsUs: number,
    v6: boolean,
    src: Addr,
    dst: Addr,
    sport: number,
    dport: number,
    seq: number,
    ack: number,
    flags: number,
    win: number,
    opt: number,
    tsval: number,
    tsecr: number,
    payLen: number,
    payOff: number,
    ipId: number,
  ): void {
    this.kind = L4_TCP;
    this.v6 = v6;
    this.src = src;
    this.dst = dst;
    this.sport = sport;
    this.dport = dport;
    this.seq = seq >>> 0;
    this.ack = ack >>> 0;
    this.flags = flags;
    this.win = win;
    this.opt = opt;
    this.tsval = tsval >>> 0;
    this.tsecr = tsecr >>> 0;
    this.payLen = payLen;
    this.payOff = payOff;
    this.ipId = ipId;
    this.emit(tsUs);
  }

  udp(
    tsUs: number,
    v6: boolean,
    src: Addr,
    dst: Addr,
    sport: number,
    dport: number,
    payLen: number,
    payOff: number,
    ipId: number,
  ): void {
    this.setUdp(v6, src, dst, sport, dport, payLen, payOff, ipId);
    this.emit(tsUs);
  }

  /** A UDP datagram whose payload is `bytes[0, len)` (a DNS message) instead of pool bytes. */
  udpBytes(
    tsUs: number,
    v6: boolean,
    src: Addr,
    dst: Addr,
    sport: number,
    dport: number,
    bytes: Uint8Array,
    len: number,
    ipId: number,
  ): void {
    this.setUdp(v6, src, dst, sport, dport, len, 0, ipId);
    this.explicit = bytes;
    this.emit(tsUs);
    this.explicit = null;
  }

  /** Echo request/reply: ICMP 8/0 or ICMPv6 128/129 (type given by the caller). */
  icmpEcho(
    tsUs: number,
    v6: boolean,
    src: Addr,
    dst: Addr,
    type: number,
    id: number,
    seq: number,
    payLen: number,
    payOff: number,
    ipId: number,
  ): void {
    this.kind = L4_ECHO;
    this.v6 = v6;
    this.src = src;
    this.dst = dst;
    this.icmpType = type;
    this.icmpCode = 0;
    this.sport = id;
    this.dport = seq;
    this.payLen = payLen;
    this.payOff = payOff;
    this.ipId = ipId;
    this.emit(tsUs);
  }

  /**
   * Builds the UDP datagram (IP header on) that a later ICMP error will quote, in full, into `scratch`;
   * returns its length. Deterministic: the same arguments give the same bytes as the emitted packet.
   */
  buildUdpQuote(
    v6: boolean,
    src: Addr,
    dst: Addr,
    sport: number,
    dport: number,
    payLen: number,
    payOff: number,
    ipId: number,
  ): number {
    this.setUdp(v6, src, dst, sport, dport, payLen, payOff, ipId);
    return this.build(this.scratch, 0, 1 << 30);
  }

  /** ICMP/ICMPv6 error quoting `quote[0, quoteLen)` (an IP datagram as the sender saw it). */
  icmpError(
    tsUs: number,
    v6: boolean,
    src: Addr,
    dst: Addr,
    type: number,
    code: number,
    quote: Uint8Array,
    quoteLen: number,
    ipId: number,
  ): void {
    this.kind = L4_ICMP_ERR;
    this.v6 = v6;
    this.src = src;
    this.dst = dst;
    this.icmpType = type;
    this.icmpCode = code;
    this.quote = quote;
    // RFC 1812 / RFC 4443: quote as much as fits in 576 (IPv4) or 1280 (IPv6) bytes.
    this.quoteLen = Math.min(quoteLen, v6 ? 1280 - 48 : 576 - 28);
    this.ipId = ipId;
    this.emit(tsUs);
  }

  private setUdp(
    v6: boolean,
    src: Addr,
    dst: Addr,
    sport: number,
    dport: number,
    payLen: number,
    payOff: number,
    ipId: number,
  ): void {
    this.kind = L4_UDP;
    this.v6 = v6;
    this.src = src;
    this.dst = dst;
    this.sport = sport;
    this.dport = dport;
    this.payLen = payLen;
    this.payOff = payOff;
    this.ipId = ipId;
  }

  private l4HeaderLen(): number {
    switch (this.kind) {
      case L4_TCP:
        return 20 + OPT_LEN[this.opt];
      case L4_UDP:
      case L4_ECHO:
        return 8;
      default:
        // ICMP error: the quoted IP header + 8 bytes of its L4 header count as headers (conntrack needs them).
        return 8 + Math.min(this.quoteLen, (this.v6 ? 40 : (this.quote[0] & 0x0f) * 4) + 8);
    }
  }

  private l4Len(): number {
    if (this.kind === L4_ICMP_ERR) return 8 + this.quoteLen;
    return (this.kind === L4_TCP ? 20 + OPT_LEN[this.opt] : 8) + this.payLen;
  }

  private emit(tsUs: number): void {
    const ipHdr = this.v6 ? 40 : 20;
    const origlen = 14 + ipHdr + this.l4Len();
    let caplen = this.headersOnly ? 14 + ipHdr + this.l4HeaderLen() : origlen;
    if (caplen > this.snaplen) caplen = this.snaplen;
    const w = this.writer;
    const p = w.beginRecord(tsUs, caplen, origlen);
    const b = w.buf;
    // Ethernet: locally administered MACs derived from the addresses' last 4 bytes.
    const sa = this.v6 ? 12 : 0;
    b[p] = 0x02;
    b[p + 1] = 0;
    b[p + 6] = 0x02;
    b[p + 7] = 0;
    for (let i = 0; i < 4; i++) {
      b[p + 2 + i] = this.dst[sa + i];
      b[p + 8 + i] = this.src[sa + i];
    }
    put16(b, p + 12, this.v6 ? 0x86dd : 0x0800);
    this.build(b, p + 14, caplen - 14);
    w.endRecord(caplen);
    this.lastTsUs = tsUs;
    this.packets++;
    if (this.v6) this.ipv6Packets++;
  }

  /**
   * Writes the IP datagram at b[off]: all headers always (the buffer has room), payload bytes only up to
   * `room` bytes of datagram. Checksums always cover the full datagram. Returns the datagram length.
   */
  private build(b: Uint8Array, off: number, room: number): number {
    const v6 = this.v6;
    const ipHdr = v6 ? 40 : 20;
    const l4len = this.l4Len();
    const total = ipHdr + l4len;
    let proto: number;
    if (this.kind === L4_TCP) proto = IPPROTO_TCP;
    else if (this.kind === L4_UDP) proto = IPPROTO_UDP;
    else proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
    let pseudo = 0;
    if (v6) {
      b[off] = 0x60;
      b[off + 1] = 0;
      b[off + 2] = 0;
      b[off + 3] = 0;
      put16(b, off + 4, l4len);
      b[off + 6] = proto;
      b[off + 7] = 64;
      for (let i = 0; i < 16; i++) {
        b[off + 8 + i] = this.src[i];
        b[off + 24 + i] = this.dst[i];
      }
      pseudo = sumBytes(b, off + 8, off + 40) + l4len + proto;
    } else {
      b[off] = 0x45;
      b[off + 1] = 0;
      put16(b, off + 2, total);
      put16(b, off + 4, this.ipId & 0xffff);
      put16(b, off + 6, this.kind === L4_ICMP_ERR ? 0 : 0x4000); // DF except on ICMP errors
      b[off + 8] = 64;
      b[off + 9] = proto;
      b[off + 10] = 0;
      b[off + 11] = 0;
      for (let i = 0; i < 4; i++) {
        b[off + 12 + i] = this.src[i];
        b[off + 16 + i] = this.dst[i];
      }
      put16(b, off + 10, fold(sumBytes(b, off, off + 20)));
      pseudo = sumBytes(b, off + 12, off + 20) + l4len + proto;
    }
    const l4 = off + ipHdr;
    let hdr: number;
    let csumAt: number;
    let paySum: number;
    if (this.kind === L4_TCP) {
      hdr = 20 + OPT_LEN[this.opt];
      put16(b, l4, this.sport);
      put16(b, l4 + 2, this.dport);
      put32(b, l4 + 4, this.seq);
      put32(b, l4 + 8, this.ack);
      b[l4 + 12] = (hdr >> 2) << 4;
      b[l4 + 13] = this.flags;
      put16(b, l4 + 14, this.win);
      put32(b, l4 + 16, 0); // checksum, urgent pointer
      this.writeTcpOptions(b, l4 + 20);
      csumAt = l4 + 16;
      paySum = this.pool.sum(this.payOff, this.payLen);
    } else if (this.kind === L4_UDP) {
      hdr = 8;
      put16(b, l4, this.sport);
      put16(b, l4 + 2, this.dport);
      put16(b, l4 + 4, l4len);
      put16(b, l4 + 6, 0);
      csumAt = l4 + 6;
      paySum =
        this.explicit !== null
          ? sumBytes(this.explicit, 0, this.payLen)
          : this.pool.sum(this.payOff, this.payLen);
    } else {
      hdr = 8;
      b[l4] = this.icmpType;
      b[l4 + 1] = this.icmpCode;
      put16(b, l4 + 2, 0);
      if (this.kind === L4_ECHO) {
        put16(b, l4 + 4, this.sport);
        put16(b, l4 + 6, this.dport);
        paySum = this.pool.sum(this.payOff, this.payLen);
      } else {
        put32(b, l4 + 4, 0); // unused (port unreachable)
        paySum = sumBytes(this.quote, 0, this.quoteLen);
      }
      csumAt = l4 + 2;
      if (!v6) pseudo = 0; // ICMPv4 has no pseudo-header
    }
    let c = fold(pseudo + sumBytes(b, l4, l4 + hdr) + paySum);
    if (c === 0 && this.kind === L4_UDP) c = 0xffff; // 0 means "no checksum" for UDP
    put16(b, csumAt, c);
    // Payload bytes, as far as the record has room for them.
    const payRoom = room - ipHdr - hdr;
    if (payRoom > 0) {
      if (this.kind === L4_ICMP_ERR) {
        const n = Math.min(payRoom, this.quoteLen);
        b.set(this.quote.subarray(0, n), l4 + hdr);
      } else if (this.payLen > 0) {
        const n = Math.min(payRoom, this.payLen);
        const src = this.explicit ?? this.pool.bytes;
        const from = this.explicit !== null ? 0 : this.payOff;
        b.set(src.subarray(from, from + n), l4 + hdr);
      }
    }
    return total;
  }

  private writeTcpOptions(b: Uint8Array, p: number): void {
    switch (this.opt) {
      case OPT_SYN_LINUX:
        b[p] = 2;
        b[p + 1] = 4;
        put16(b, p + 2, this.v6 ? 1440 : 1460);
        b[p + 4] = 4; // SACK_PERM
        b[p + 5] = 2;
        b[p + 6] = 8; // TS
        b[p + 7] = 10;
        put32(b, p + 8, this.tsval);
        put32(b, p + 12, this.tsecr);
        b[p + 16] = 1; // NOP
        b[p + 17] = 3; // WS
        b[p + 18] = 3;
        b[p + 19] = 7;
        break;
      case OPT_SYN_MSS:
        b[p] = 2;
        b[p + 1] = 4;
        put16(b, p + 2, this.v6 ? 1440 : 1460);
        break;
      case OPT_TS:
        b[p] = 1;
        b[p + 1] = 1;
        b[p + 2] = 8;
        b[p + 3] = 10;
        put32(b, p + 4, this.tsval);
        put32(b, p + 8, this.tsecr);
        break;
      case OPT_SYN_WS:
        b[p] = 2;
        b[p + 1] = 4;
        put16(b, p + 2, this.v6 ? 1440 : 1460);
        b[p + 4] = 1;
        b[p + 5] = 3;
        b[p + 6] = 3;
        b[p + 7] = 8;
        b[p + 8] = 1;
        b[p + 9] = 1;
        b[p + 10] = 4;
        b[p + 11] = 2;
        break;
      default:
        break;
    }
  }
}
