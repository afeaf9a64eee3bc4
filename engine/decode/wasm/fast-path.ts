/**
 * AssemblyScript, compiled by `npm run build` (asc) to fast-path.wasm; not part of the TypeScript build.
 *
 * Decoder.fast() of engine/decode/decoder.ts for untagged Ethernet records (and ICMPv4 errors over IPv4,
 * which fast() leaves to the general path: their row is fast()'s ICMP row plus Decoder.inner()'s quoted
 * tuple), in WebAssembly, over the capture
 * chunk's own memory: the records are decoded where the reader put them and each row is written into a
 * PacketBatch-layout scratch batch after the chunk (engine/decode/fast-path.ts lays it out and copies the
 * rows out). A record of any other shape goes to a list the JavaScript decoder takes, so this file only has
 * to agree with fast() on the shapes it accepts: every row it writes is the row fast() writes, and the
 * decoder tests compare the two on corpus and mutated packets.
 *
 * No static data and no allocation: the module imports the chunk's memory, and a data segment would be
 * written over the chunk's first bytes when an instance is created.
 */

// Window layout (offsets from the window base; engine/decode/fast-path.ts lays out and checks the same).
const FIRST = 128; // f64: earliest capture time seen (in/out, like DecodeStats.firstTime)
const LAST = 136; // f64: latest
const COUNTS = 144; // u32 x NCOUNTS, zeroed by each call
const ICMP_ERR = 256; // u8 x 256: icmp_is_err by type
const ICMPV6_ERR = 512; // u8 x 256: the ICMPv6 error types
const INPUT = 768;
/** Records a call decodes at most: the window's slots. */
export const SLOTS: u32 = 2048;
// The input columns: a RecordBatch of SLOTS records (record-batch.ts's order: f64 tsSec, packetNo,
// fileOffset; u32 offset, caplen, origlen, tsNsec; u16 linkType), of which packetNo and fileOffset unused.
const IN_SEC: u32 = INPUT;
const IN_OFF: u32 = IN_SEC + 24 * SLOTS;
const IN_CAP: u32 = IN_OFF + 4 * SLOTS;
const IN_ORIG: u32 = IN_CAP + 4 * SLOTS;
const IN_NSEC: u32 = IN_ORIG + 4 * SLOTS;
const IN_LT: u32 = IN_NSEC + 4 * SLOTS;
/** u32 x SLOTS: the slots of the records left to the JavaScript decoder, in order. */
export const SLOW: u32 = (IN_LT + 2 * SLOTS + 3) & ~3;
/** The scratch batch: a PacketBatch of capacity SLOTS. */
export const SCRATCH: u32 = (SLOW + 4 * SLOTS + 7) & ~7;

// The scratch columns this module writes: their offsets in the window. packet-batch.ts's COLUMNS layout
// at capacity SLOTS puts column k at (the bytes a row of the columns before it take) x SLOTS; the constant
// offsets let every store address a column as window + row + constant, with no column table to read
// (a register and a load less per column: 25 -> 21.6 ns a record over one window in cache).
const K_SRC: u32 = SCRATCH + 20 * SLOTS;
const K_DST: u32 = SCRATCH + 36 * SLOTS;
const K_SEQ: u32 = SCRATCH + 84 * SLOTS;
const K_ACK: u32 = SCRATCH + 88 * SLOTS;
const K_SACKEDGE: u32 = SCRATCH + 92 * SLOTS;
const K_L4LEN: u32 = SCRATCH + 96 * SLOTS;
const K_PAYLOAD: u32 = SCRATCH + 100 * SLOTS;
const K_SPORT: u32 = SCRATCH + 112 * SLOTS;
const K_DPORT: u32 = SCRATCH + 114 * SLOTS;
const K_WIN: u32 = SCRATCH + 120 * SLOTS;
const K_KIND: u32 = SCRATCH + 122 * SLOTS;
const K_L3: u32 = SCRATCH + 123 * SLOTS;
const K_PROTO: u32 = SCRATCH + 124 * SLOTS;
const K_L4FLAGS: u32 = SCRATCH + 127 * SLOTS;
const K_L3FLAGS: u32 = SCRATCH + 128 * SLOTS;
const K_TCPFLAGS: u32 = SCRATCH + 129 * SLOTS;
const K_TCPDOFF: u32 = SCRATCH + 130 * SLOTS;
const K_TCPOPT: u32 = SCRATCH + 131 * SLOTS;
const K_WSCALE: u32 = SCRATCH + 132 * SLOTS;
// The quoted packet's tuple of an ICMPv4 error (written for those rows only).
const K_ISRC: u32 = SCRATCH + 52 * SLOTS;
const K_IDST: u32 = SCRATCH + 68 * SLOTS;
const K_ISPORT: u32 = SCRATCH + 116 * SLOTS;
const K_IDPORT: u32 = SCRATCH + 118 * SLOTS;
const K_IL3: u32 = SCRATCH + 125 * SLOTS;
const K_IPROTO: u32 = SCRATCH + 126 * SLOTS;

/**
 * The window offset of scratch column c, in fast-path.ts's FAST_COLUMNS then INNER_COLUMNS order (which
 * checks them).
 */
export function columnOffset(c: i32): u32 {
  switch (c) {
    case 0:
      return K_KIND;
    case 1:
      return K_L3;
    case 2:
      return K_PROTO;
    case 3:
      return K_SRC;
    case 4:
      return K_DST;
    case 5:
      return K_SPORT;
    case 6:
      return K_DPORT;
    case 7:
      return K_L4LEN;
    case 8:
      return K_L4FLAGS;
    case 9:
      return K_L3FLAGS;
    case 10:
      return K_TCPFLAGS;
    case 11:
      return K_TCPDOFF;
    case 12:
      return K_SEQ;
    case 13:
      return K_ACK;
    case 14:
      return K_WIN;
    case 15:
      return K_TCPOPT;
    case 16:
      return K_WSCALE;
    case 17:
      return K_SACKEDGE;
    case 18:
      return K_PAYLOAD;
    case 19:
      return K_IL3;
    case 20:
      return K_IPROTO;
    case 21:
      return K_ISRC;
    case 22:
      return K_IDST;
    case 23:
      return K_ISPORT;
    case 24:
      return K_IDPORT;
    default:
      return 0;
  }
}

// Counters, in fast-path.ts's order.
const N_IPV4 = 0;
const N_IPV6 = 1;
const N_TRUNCATED = 2;
const N_MARTIAN = 3;
const N_L4_ICMP = 4;
const N_L4_TCP = 5;
const N_L4_UDP = 6;
const N_L4_ICMPV6 = 7;
const N_BAD_ICMP = 8;
const N_BAD_TCP = 9;
const N_BAD_UDP = 10;
const N_BAD_ICMPV6 = 11;
const N_INNER = 12; // rows with an ICMP error's quoted tuple (the inner columns): copyOut copies those then
const NCOUNTS = 13;

// packet-batch.ts values.
const PK_IP: u8 = 1;
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;
const L4_TUPLE_OK: u32 = 1;
const L4_HDR_OK: u32 = 2;
const L4_CSUM_BAD: u32 = 4;
const L4_CSUM_UNKNOWN: u32 = 8;
const L4_TRUNCATED: u32 = 16;
const L4_ICMP_INNER_OK: u32 = 64;
const L4_UDP_LEN_BAD: u32 = 128;
const L3_ROUTE_MARTIAN: u8 = 1;
const TCPOPT_WSCALE: u32 = 1;
const TCPOPT_SACK_PERM: u32 = 2;
const TCPOPT_SACK: u32 = 4;
const TCP_MAX_WSCALE: u32 = 14;

function be16(p: usize): u32 {
  return <u32>bswap<u16>(load<u16>(p));
}

function be32(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

/** The one's-complement sum of the little-endian 16-bit words of [p, p + n) (odd last byte low), folded. */
function sumLE(p: usize, n: usize): u32 {
  const e = p + n;
  let acc = i32x4.splat(0);
  // 32-bit lanes of pairwise 16-bit sums cannot overflow below 512 KiB (n is at most 65535 + 40 here).
  while (p + 16 <= e) {
    acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_u(v128.load(p)));
    p += 16;
  }
  // The last 0-15 bytes: one 16-byte load (past the record it stays inside the chunk's memory) with the
  // bytes beyond the end masked off, an odd last byte the low byte of its word; no loop whose trip count
  // follows the payload lengths.
  const tail = i8x16.gt_u(
    i8x16.splat(<i8>(e - p)),
    i8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
  );
  acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_u(v128.and(v128.load(p), tail)));
  let s: u64 =
    <u64>i32x4.extract_lane(acc, 0) +
    <u64>i32x4.extract_lane(acc, 1) +
    <u64>i32x4.extract_lane(acc, 2) +
    <u64>i32x4.extract_lane(acc, 3);
  s = (s & 0xffffffff) + (s >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return <u32>((s & 0xffff) + (s >> 16));
}

/** ip4HeaderSumOk for a 20-byte header: five 32-bit words, folded (the sum of 16-bit halves is < 2^20). */
function ip4HeaderSumOk(p: usize): bool {
  const w0 = load<u32>(p);
  const w1 = load<u32>(p, 4);
  const w2 = load<u32>(p, 8);
  const w3 = load<u32>(p, 12);
  const w4 = load<u32>(p, 16);
  let s =
    (w0 & 0xffff) +
    (w0 >> 16) +
    (w1 & 0xffff) +
    (w1 >> 16) +
    (w2 & 0xffff) +
    (w2 >> 16) +
    (w3 & 0xffff) +
    (w3 >> 16) +
    (w4 & 0xffff) +
    (w4 >> 16);
  s = (s & 0xffff) + (s >> 16);
  return (s & 0xffff) + (s >> 16) === 0xffff;
}

/** csumFinish(sum) === 0 (checksum.ts): the sum folds to 0xffff. */
function sumVerifies(sum: u32): bool {
  // Two folds bring any 32-bit sum to 16 bits (the first leaves at most 0x1fffe).
  let s = (sum & 0xffff) + (sum >> 16);
  s = (s & 0xffff) + (s >> 16);
  return s === 0xffff;
}

function sumWord(w: u32): u32 {
  return (w >> 16) + (w & 0xffff);
}

/** Decoder.martian4 (ip_route_input_slow's martian checks). */
function martian4(src: u32, dst: u32): bool {
  if (src >> 28 === 0xe || src === 0xffffffff) return true;
  if (dst === 0xffffffff || (src === 0 && dst === 0)) return false;
  return src >> 24 === 0 || dst >> 24 === 0;
}

/** Adds one to counter k (the rare ones; the frequent ones are globals, stored once per call). */
function count(win: usize, k: i32): void {
  const a = win + COUNTS + ((<usize>k) << 2);
  store<u32>(a, load<u32>(a) + 1);
}

let first: f64 = 0;
let last: f64 = 0;
let nIpv4: u32 = 0;
let nIpv6: u32 = 0;
let nTruncated: u32 = 0;
let nIcmp: u32 = 0;
let nTcp: u32 = 0;
let nUdp: u32 = 0;
let nIcmpv6: u32 = 0;
let nInner: u32 = 0;

/**
 * Decodes records [0, n) of the window at `win` (record bytes at `data` + offset) into the scratch rows of
 * the same slots: every untagged Ethernet record of a shape fast() accepts. The slots of the others go to
 * the slow list, in order, for the JavaScript decoder; returns how many there are.
 */
export function decode(win: usize, data: usize, n: i32, verify: bool): i32 {
  for (let k = 0; k < NCOUNTS; k++) store<u32>(win + COUNTS + ((<usize>k) << 2), 0);
  first = load<f64>(win + FIRST);
  last = load<f64>(win + LAST);
  nIpv4 = nIpv6 = nTruncated = nIcmp = nTcp = nUdp = nIcmpv6 = nInner = 0;
  let nslow = 0;
  // Each record's EtherType and L4 protocol byte are loaded one record ahead, so that the branches on them
  // (the capture's mix of IPv4 / IPv6 and TCP / UDP / ICMP, which no predictor gets right) resolve as soon
  // as they issue, and a misprediction discards less work (read + decode of bench5m-headers, interleaved
  // runs: 2.3 ns a record less).
  let et = Fast.etherType(win, data, 0);
  let l4 = Fast.l4Byte(win, data, 0, et);
  for (let i = 0; i < n; i++) {
    const j = <usize>select<i32>(i + 1, i, i + 1 < n);
    const etNext = Fast.etherType(win, data, j);
    const l4Next = Fast.l4Byte(win, data, j, etNext);
    const ok = Fast.record(win, <usize>i, data, verify, et, l4);
    et = etNext;
    l4 = l4Next;
    if (!ok) {
      store<u32>(win + ((<usize>nslow) << 2), <u32>i, SLOW);
      nslow++;
    }
  }
  store<f64>(win + FIRST, first);
  store<f64>(win + LAST, last);
  store<u32>(win + COUNTS + 4 * N_IPV4, nIpv4);
  store<u32>(win + COUNTS + 4 * N_IPV6, nIpv6);
  store<u32>(win + COUNTS + 4 * N_TRUNCATED, nTruncated);
  store<u32>(win + COUNTS + 4 * N_L4_ICMP, nIcmp);
  store<u32>(win + COUNTS + 4 * N_L4_TCP, nTcp);
  store<u32>(win + COUNTS + 4 * N_L4_UDP, nUdp);
  store<u32>(win + COUNTS + 4 * N_L4_ICMPV6, nIcmpv6);
  store<u32>(win + COUNTS + 4 * N_INNER, nInner);
  return nslow;
}

/** A class only so that record() can be @inline (a decorator on a function is not TypeScript syntax). */
// biome-ignore lint/complexity/noStaticOnlyClass: AssemblyScript inlines decorated methods, not functions here.
class Fast {
  /**
   * The EtherType of the record in slot r, and its IPv4 protocol or IPv6 next header byte, whatever its link
   * type and length (record() uses them only where they are those): loads inside the chunk's memory.
   */
  @inline
  static etherType(win: usize, data: usize, r: usize): u32 {
    return be16(data + <usize>load<u32>(win + (r << 2), IN_OFF) + 12);
  }

  @inline
  static l4Byte(win: usize, data: usize, r: usize, et: u32): u32 {
    const p = data + <usize>load<u32>(win + (r << 2), IN_OFF) + 14;
    return <u32>load<u8>(p + select<usize>(6, 9, et === 0x86dd));
  }

  /** Whether the IPv4 packet an ICMPv4 error at q quotes is GRE (readable or not, it goes to JavaScript). */
  @inline
  static quotesGre(q: usize, dEnd: usize, end: usize): bool {
    return q + 8 + 20 <= dEnd && q + 8 + 20 <= end && load<u8>(q + 8 + 9) === 47;
  }

  /**
   * Decoder.inner() for an IPv4 packet quoted at ip by an ICMPv4 error in row r (nf_ct_get_tuplepr on the
   * quoted header, as nf_conntrack_inet_error calls it): true when its tuple is readable, with the inner
   * columns written. Never GRE (quotesGre).
   */
  static inner(win: usize, r: usize, ip: usize, capEnd: usize, dEnd: usize): bool {
    if (ip + 20 > dEnd || ip + 20 > capEnd) return false;
    const ihl = (<usize>(load<u8>(ip) & 15)) << 2;
    if (ihl < 20) return false;
    if ((be16(ip + 6) & 0x1fff) !== 0) return false; // a non-first fragment
    const proto = <u32>load<u8>(ip + 9);
    const q = ip + ihl;
    if (q > dEnd) return false;
    let sport: u32 = 0;
    let dport: u32 = 0;
    if (proto === 6 || proto === 17 || proto === 136 || proto === 132) {
      if (<i32>(dEnd - q) < 4 || <i32>(capEnd - q) < 4) return false;
      sport = be16(q);
      dport = be16(q + 2);
    } else if (proto === 1 || proto === 58) {
      if (<i32>(dEnd - q) < 8 || <i32>(capEnd - q) < 8) return false;
      sport = be16(q + 4);
      dport = be16(q);
    }
    const a = r << 4;
    store<u32>(win + a, be32(ip + 12), K_ISRC);
    store<u32>(win + a, 0, K_ISRC + 4);
    store<u64>(win + a, 0, K_ISRC + 8);
    store<u32>(win + a, be32(ip + 16), K_IDST);
    store<u32>(win + a, 0, K_IDST + 4);
    store<u64>(win + a, 0, K_IDST + 8);
    store<u8>(win + r, NFPROTO_IPV4, K_IL3);
    store<u8>(win + r, <u8>proto, K_IPROTO);
    store<u16>(win + (r << 1), <u16>sport, K_ISPORT);
    store<u16>(win + (r << 1), <u16>dport, K_IDPORT);
    return true;
  }

  /** Decoder.fast() for the record in slot r: false (nothing counted) when it is not of fast()'s shapes. */
  @inline
  static record(win: usize, r: usize, data: usize, verify: bool, et: u32, l4: u32): bool {
    if (load<u16>(win + (r << 1), IN_LT) !== 1) return false;
    const cap = <i32>load<u32>(win + (r << 2), IN_CAP);
    if (cap < 14) return false;
    const ol = <i32>load<u32>(win + (r << 2), IN_ORIG);
    const orig = ol > cap ? ol : cap;
    const p0 = data + <usize>load<u32>(win + (r << 2), IN_OFF);
    const end = p0 + <usize>cap;
    const wire = orig - 14;
    const p = p0 + 14;
    let ip6 = false;
    let proto: u32 = 0;
    let q: usize = 0;
    let dEnd: usize = 0;
    if (et === 0x0800) {
      // fast(): a 20-byte header, lengths sane, not a fragment.
      if (wire < 20 || <i32>(end - p) < 20 || load<u8>(p) !== 0x45) return false;
      const tot = <i32>be16(p + 2);
      if (tot > wire || tot < 20 || (be16(p + 6) & 0x3fff) !== 0) return false;
      proto = l4;
      q = p + 20;
      dEnd = p + <usize>tot;
    } else if (et === 0x86dd) {
      // fast(): no extension header, addresses ip6_rcv_core passes on any device.
      if (wire < 40 || <i32>(end - p) < 40 || load<u8>(p) >> 4 !== 6) return false;
      const plen = <i32>be16(p + 4);
      const d0 = load<u8>(p + 24);
      if (40 + plen > wire || load<u8>(p + 8) === 0xff || d0 === 0xff || d0 === 0) return false;
      ip6 = true;
      proto = l4;
      q = p + 40;
      dEnd = q + <usize>plen;
    } else return false;
    const capEnd = end < dEnd ? end : dEnd;
    const l4len = <i32>(dEnd - q);
    const avail = <i32>(capEnd - q);
    let doff: i32 = 0;
    if (proto === 6) {
      if (l4len < 20 || avail < 20) return false;
      doff = load<u8>(q + 12) >> 4;
      if (doff < 5 || doff << 2 > l4len) return false;
    } else if (proto === 17) {
      if (l4len < 8 || avail < 8) return false;
    } else if (proto === 1) {
      if (l4len < 8 || avail < 8) return false;
      // An ICMPv4 error over IPv4 is taken (its quoted tuple below) unless it quotes GRE, whose tuple is
      // left to the JavaScript decoder; over IPv6, or as ICMPv6, errors are all left to it.
      if (load<u8>(win + ICMP_ERR + <usize>load<u8>(q)) !== 0 && (ip6 || Fast.quotesGre(q, dEnd, end)))
        return false;
    } else if (proto === 58) {
      if (l4len < 8 || avail < 8 || load<u8>(win + ICMPV6_ERR + <usize>load<u8>(q)) !== 0) return false;
    } else return false;

    let addrSum: u32 = 0;
    const a = r << 4;
    if (!ip6) {
      // A bad header sum is a skip, counted by the JavaScript path.
      if (verify && !ip4HeaderSumOk(p)) return false;
      const src = be32(p + 12);
      const dst = be32(p + 16);
      store<u32>(win + a, src, K_SRC);
      store<u32>(win + a, 0, K_SRC + 4);
      store<u64>(win + a, 0, K_SRC + 8);
      store<u32>(win + a, dst, K_DST);
      store<u32>(win + a, 0, K_DST + 4);
      store<u64>(win + a, 0, K_DST + 8);
      store<u8>(win + r, NFPROTO_IPV4, K_L3);
      if (martian4(src, dst)) {
        store<u8>(win + r, L3_ROUTE_MARTIAN, K_L3FLAGS);
        count(win, N_MARTIAN);
      } else store<u8>(win + r, 0, K_L3FLAGS);
      addrSum = sumWord(src) + sumWord(dst);
      nIpv4++;
    } else {
      for (let w: usize = 0; w < 16; w += 4) {
        const s = be32(p + 8 + w);
        const d = be32(p + 24 + w);
        store<u32>(win + a + w, s, K_SRC);
        store<u32>(win + a + w, d, K_DST);
        addrSum += sumWord(s) + sumWord(d);
      }
      store<u8>(win + r, NFPROTO_IPV6, K_L3);
      store<u8>(win + r, 0, K_L3FLAGS);
      nIpv6++;
    }
    store<u8>(win + r, PK_IP, K_KIND);
    store<u8>(win + r, <u8>proto, K_PROTO);
    store<u32>(win + (r << 2), <u32>l4len, K_L4LEN);
    const trunc = capEnd < dEnd;
    let fl: u32 = trunc ? L4_TRUNCATED | L4_TUPLE_OK | L4_HDR_OK : L4_TUPLE_OK | L4_HDR_OK;
    let sum = true;
    let pseudo = true;
    if (proto === 6) {
      store<u16>(win + (r << 1), <u16>be16(q), K_SPORT);
      store<u16>(win + (r << 1), <u16>be16(q + 2), K_DPORT);
      store<u8>(win + r, <u8>doff, K_TCPDOFF);
      store<u8>(win + r, load<u8>(q + 13), K_TCPFLAGS);
      store<u32>(win + (r << 2), be32(q + 4), K_SEQ);
      store<u32>(win + (r << 2), be32(q + 8), K_ACK);
      store<u16>(win + (r << 1), <u16>be16(q + 14), K_WIN);
      store<u32>(win + (r << 2), <u32>(l4len - (doff << 2)), K_PAYLOAD);
      // tcp_options / tcp_sack (Decoder.tcpOptions) over the captured option bytes. The common layouts are
      // recognised without walking them (a walk's branches follow the mix of SYNs and data segments, and
      // mispredict): none, MSS alone, timestamps alone (NOP NOP TS: data segments of Linux and most
      // stacks), Linux's SYN (MSS SACK_PERM TS NOP WS) and Windows' (MSS NOP WS NOP NOP SACK_PERM). Read +
      // decode of bench5m-headers (a third of its TCP segments are SYNs): 54.5 -> 52.6 ns a record.
      const o = q + 20;
      const optLen = select<i32>(avail, doff << 2, avail < doff << 2) - 20;
      // Little-endian words: option byte 4k + j is bits 8j of word k.
      const w0 = load<u32>(o);
      const w1 = load<u32>(o, 4);
      const w2 = load<u32>(o, 8);
      const w4 = load<u32>(o, 16);
      const mss = (w0 & 0xffff) === 0x0402;
      const linux = (optLen === 20) & mss & (w1 === 0x0a080204) & ((w4 & 0xffffff) === 0x030301);
      const windows = (optLen === 12) & mss & ((w1 & 0xffffff) === 0x030301) & (w2 === 0x02040101);
      const bare = (optLen <= 0) | ((optLen === 4) & mss) | ((optLen === 12) & (w0 === 0x0a080101));
      const v = select<u32>(w4 >> 24, w1 >> 24, linux);
      let opt: u32 = select<u32>(TCPOPT_WSCALE | TCPOPT_SACK_PERM, 0, linux | windows);
      let ws: u32 = select<u32>(select<u32>(v, TCP_MAX_WSCALE, v < TCP_MAX_WSCALE), 0, linux | windows);
      let edge: u32 = 0;
      if (!(bare | linux | windows)) {
        const oe = o + <usize>optLen;
        let x = o;
        while (x < oe) {
          const kind = load<u8>(x);
          if (kind === 0) break;
          if (kind === 1) {
            x++;
            continue;
          }
          if (x + 2 > oe) break;
          const size = <usize>load<u8>(x + 1);
          if (size < 2 || x + size > oe) break;
          if (kind === 3 && size === 3) {
            opt |= TCPOPT_WSCALE;
            const b = <u32>load<u8>(x + 2);
            ws = b < TCP_MAX_WSCALE ? b : TCP_MAX_WSCALE;
          } else if (kind === 4 && size === 2) {
            opt |= TCPOPT_SACK_PERM;
          } else if (kind === 5 && size >= 10 && (size - 2) % 8 === 0) {
            for (let s = x + 2; s < x + size; s += 8) {
              const re = be32(s + 4);
              if ((opt & TCPOPT_SACK) === 0 || <i32>(re - edge) > 0) edge = re;
              opt |= TCPOPT_SACK;
            }
          }
          x += size;
        }
      }
      store<u8>(win + r, <u8>opt, K_TCPOPT);
      store<u8>(win + r, <u8>ws, K_WSCALE);
      store<u32>(win + (r << 2), edge, K_SACKEDGE);
      nTcp++;
    } else if (proto === 17) {
      store<u16>(win + (r << 1), <u16>be16(q), K_SPORT);
      store<u16>(win + (r << 1), <u16>be16(q + 2), K_DPORT);
      store<u32>(win + (r << 2), <u32>(l4len - 8), K_PAYLOAD);
      const ulen = <i32>be16(q + 4);
      if (ulen > l4len || ulen < 8) {
        fl |= L4_UDP_LEN_BAD;
        sum = false;
      } else sum = be16(q + 6) !== 0;
      nUdp++;
    } else {
      // icmp_pkt_to_tuple / icmpv6_pkt_to_tuple; ICMPv4 sums no pseudo-header.
      store<u16>(win + (r << 1), <u16>be16(q + 4), K_SPORT);
      store<u16>(win + (r << 1), <u16>be16(q), K_DPORT);
      pseudo = proto === 58;
      if (proto === 1) nIcmp++;
      else nIcmpv6++;
    }
    if (sum) {
      if (!verify || trunc) fl |= L4_CSUM_UNKNOWN;
      else {
        const le = sumLE(q, <usize>l4len);
        let s = ((le & 0xff) << 8) | (le >> 8);
        if (pseudo) s += proto + <u32>l4len + addrSum;
        if (!sumVerifies(s)) {
          fl |= L4_CSUM_BAD;
          count(
            win,
            proto === 6 ? N_BAD_TCP : proto === 17 ? N_BAD_UDP : proto === 1 ? N_BAD_ICMP : N_BAD_ICMPV6,
          );
        }
      }
    }
    if (proto === 1 && load<u8>(win + ICMP_ERR + <usize>load<u8>(q)) !== 0) {
      if (Fast.inner(win, r, q + 8, capEnd, dEnd)) fl |= L4_ICMP_INNER_OK;
      nInner++;
    }
    if (trunc) nTruncated++;
    store<u8>(win + r, <u8>fl, K_L4FLAGS);
    const t = load<f64>(win + (r << 3), IN_SEC) + <f64>load<u32>(win + (r << 2), IN_NSEC) / 1e9;
    if (!(t >= first)) first = t;
    if (!(t <= last)) last = t;
    return true;
  }
}
