/**
 * AssemblyScript, compiled by `npm run build` (asc) to fast-path.wasm; not part of the TypeScript build.
 *
 * Decoder.fast() of engine/decode/decoder.ts for untagged Ethernet records, in WebAssembly, over the capture
 * chunk's own memory: the records are decoded where the reader put them and each row is written into a
 * PacketBatch-layout scratch batch after the chunk (engine/decode/fast-path.ts lays it out and copies the
 * rows out). A record of any other shape goes to a list the JavaScript decoder takes, so this file only has
 * to agree with fast() on the shapes it accepts: every row it writes is the row fast() writes, and the
 * decoder tests compare the two on corpus and mutated packets.
 *
 * No static data and no allocation: the module imports the chunk's memory, and a data segment would be
 * written over the chunk's first bytes when an instance is created.
 */

// Window header (offsets from the window base; engine/decode/fast-path.ts writes and reads the same).
const COLS = 0; // u32 x NCOLS: byte address of each scratch column, in the order below
const FIRST = 128; // f64: earliest capture time seen (in/out, like DecodeStats.firstTime)
const LAST = 136; // f64: latest
const COUNTS = 144; // u32 x NCOUNTS, zeroed by each call
const ICMP_ERR = 256; // u8 x 256: icmp_is_err by type
const ICMPV6_ERR = 512; // u8 x 256: the ICMPv6 error types
const INPUT = 768; // u32 x SLOTS each: offset, caplen, origlen, tsNsec; then f64 tsSec; then u16 linkType
// After the inputs, u32 x SLOTS: the slots of the records left to the JavaScript decoder, in order.

// Scratch columns, in fast-path.ts's FAST_COLUMNS order.
const C_KIND = 0;
const C_L3 = 1;
const C_PROTO = 2;
const C_SRC = 3;
const C_DST = 4;
const C_SPORT = 5;
const C_DPORT = 6;
const C_L4LEN = 7;
const C_L4FLAGS = 8;
const C_L3FLAGS = 9;
const C_TCPFLAGS = 10;
const C_TCPDOFF = 11;
const C_SEQ = 12;
const C_ACK = 13;
const C_WIN = 14;
const C_TCPOPT = 15;
const C_WSCALE = 16;
const C_SACKEDGE = 17;
const C_PAYLOAD = 18;

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
const NCOUNTS = 12;

// packet-batch.ts values.
const PK_IP: u8 = 1;
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;
const L4_TUPLE_OK: u32 = 1;
const L4_HDR_OK: u32 = 2;
const L4_CSUM_BAD: u32 = 4;
const L4_CSUM_UNKNOWN: u32 = 8;
const L4_TRUNCATED: u32 = 16;
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
  let s: u64 =
    <u64>i32x4.extract_lane(acc, 0) +
    <u64>i32x4.extract_lane(acc, 1) +
    <u64>i32x4.extract_lane(acc, 2) +
    <u64>i32x4.extract_lane(acc, 3);
  while (p + 2 <= e) {
    s += <u64>load<u16>(p);
    p += 2;
  }
  if (p < e) s += <u64>load<u8>(p);
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

/** The address of scratch column c (the header's COLS table). */
function column(win: usize, c: i32): usize {
  return <usize>load<u32>(win + COLS + ((<usize>c) << 2));
}

/** Adds one to counter k (the rare ones; the frequent ones are globals, stored once per call). */
function count(win: usize, k: i32): void {
  const a = win + COUNTS + ((<usize>k) << 2);
  store<u32>(a, load<u32>(a) + 1);
}

// Scratch column addresses and the window's input columns, set by decode() for record().
let kindC: usize = 0;
let l3C: usize = 0;
let protoC: usize = 0;
let srcC: usize = 0;
let dstC: usize = 0;
let sportC: usize = 0;
let dportC: usize = 0;
let l4lenC: usize = 0;
let l4flagsC: usize = 0;
let l3flagsC: usize = 0;
let tcpFlagsC: usize = 0;
let tcpDoffC: usize = 0;
let seqC: usize = 0;
let ackC: usize = 0;
let winC: usize = 0;
let tcpOptC: usize = 0;
let wscaleC: usize = 0;
let sackEdgeC: usize = 0;
let payloadC: usize = 0;
let inOff: usize = 0;
let inCap: usize = 0;
let inOrig: usize = 0;
let inNsec: usize = 0;
let inSec: usize = 0;
let inLt: usize = 0;
let first: f64 = 0;
let last: f64 = 0;
let nIpv4: u32 = 0;
let nIpv6: u32 = 0;
let nTruncated: u32 = 0;
let nIcmp: u32 = 0;
let nTcp: u32 = 0;
let nUdp: u32 = 0;
let nIcmpv6: u32 = 0;

/**
 * Decodes records [0, n) of the window at `win` (record bytes at `data` + offset) into the scratch rows of
 * the same slots: every untagged Ethernet record of a shape fast() accepts. The slots of the others go to
 * the slow list, in order, for the JavaScript decoder; returns how many there are.
 */
export function decode(win: usize, slots: i32, data: usize, n: i32, verify: bool): i32 {
  const m = <usize>slots;
  inOff = win + INPUT;
  inCap = inOff + 4 * m;
  inOrig = inCap + 4 * m;
  inNsec = inOrig + 4 * m;
  inSec = inNsec + 4 * m;
  inLt = inSec + 8 * m;
  const slow = (inLt + 2 * m + 3) & ~3;
  kindC = column(win, C_KIND);
  l3C = column(win, C_L3);
  protoC = column(win, C_PROTO);
  srcC = column(win, C_SRC);
  dstC = column(win, C_DST);
  sportC = column(win, C_SPORT);
  dportC = column(win, C_DPORT);
  l4lenC = column(win, C_L4LEN);
  l4flagsC = column(win, C_L4FLAGS);
  l3flagsC = column(win, C_L3FLAGS);
  tcpFlagsC = column(win, C_TCPFLAGS);
  tcpDoffC = column(win, C_TCPDOFF);
  seqC = column(win, C_SEQ);
  ackC = column(win, C_ACK);
  winC = column(win, C_WIN);
  tcpOptC = column(win, C_TCPOPT);
  wscaleC = column(win, C_WSCALE);
  sackEdgeC = column(win, C_SACKEDGE);
  payloadC = column(win, C_PAYLOAD);
  for (let k = 0; k < NCOUNTS; k++) store<u32>(win + COUNTS + ((<usize>k) << 2), 0);
  first = load<f64>(win + FIRST);
  last = load<f64>(win + LAST);
  nIpv4 = nIpv6 = nTruncated = nIcmp = nTcp = nUdp = nIcmpv6 = 0;
  let nslow = 0;
  for (let i = 0; i < n; i++) {
    if (!Fast.record(win, <usize>i, data, verify)) {
      store<u32>(slow + ((<usize>nslow) << 2), <u32>i);
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
  return nslow;
}

/** A class only so that record() can be @inline (a decorator on a function is not TypeScript syntax). */
// biome-ignore lint/complexity/noStaticOnlyClass: AssemblyScript inlines decorated methods, not functions here.
class Fast {
  /** Decoder.fast() for the record in slot r: false (nothing counted) when it is not of fast()'s shapes. */
  @inline
  static record(win: usize, r: usize, data: usize, verify: bool): bool {
    if (load<u16>(inLt + (r << 1)) !== 1) return false;
    const cap = <i32>load<u32>(inCap + (r << 2));
    if (cap < 14) return false;
    const ol = <i32>load<u32>(inOrig + (r << 2));
    const orig = ol > cap ? ol : cap;
    const p0 = data + <usize>load<u32>(inOff + (r << 2));
    const end = p0 + <usize>cap;
    const wire = orig - 14;
    const p = p0 + 14;
    const et = be16(p0 + 12);
    let ip6 = false;
    let proto: u32 = 0;
    let q: usize = 0;
    let dEnd: usize = 0;
    if (et === 0x0800) {
      // fast(): a 20-byte header, lengths sane, not a fragment.
      if (wire < 20 || <i32>(end - p) < 20 || load<u8>(p) !== 0x45) return false;
      const tot = <i32>be16(p + 2);
      if (tot > wire || tot < 20 || (be16(p + 6) & 0x3fff) !== 0) return false;
      proto = load<u8>(p + 9);
      q = p + 20;
      dEnd = p + <usize>tot;
    } else if (et === 0x86dd) {
      // fast(): no extension header, addresses ip6_rcv_core passes on any device.
      if (wire < 40 || <i32>(end - p) < 40 || load<u8>(p) >> 4 !== 6) return false;
      const plen = <i32>be16(p + 4);
      const d0 = load<u8>(p + 24);
      if (40 + plen > wire || load<u8>(p + 8) === 0xff || d0 === 0xff || d0 === 0) return false;
      ip6 = true;
      proto = load<u8>(p + 6);
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
      if (l4len < 8 || avail < 8 || load<u8>(win + ICMP_ERR + <usize>load<u8>(q)) !== 0) return false;
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
      store<u32>(srcC + a, src);
      store<u32>(srcC + a + 4, 0);
      store<u64>(srcC + a + 8, 0);
      store<u32>(dstC + a, dst);
      store<u32>(dstC + a + 4, 0);
      store<u64>(dstC + a + 8, 0);
      store<u8>(l3C + r, NFPROTO_IPV4);
      if (martian4(src, dst)) {
        store<u8>(l3flagsC + r, L3_ROUTE_MARTIAN);
        count(win, N_MARTIAN);
      } else store<u8>(l3flagsC + r, 0);
      addrSum = sumWord(src) + sumWord(dst);
      nIpv4++;
    } else {
      for (let w: usize = 0; w < 16; w += 4) {
        const s = be32(p + 8 + w);
        const d = be32(p + 24 + w);
        store<u32>(srcC + a + w, s);
        store<u32>(dstC + a + w, d);
        addrSum += sumWord(s) + sumWord(d);
      }
      store<u8>(l3C + r, NFPROTO_IPV6);
      store<u8>(l3flagsC + r, 0);
      nIpv6++;
    }
    store<u8>(kindC + r, PK_IP);
    store<u8>(protoC + r, <u8>proto);
    store<u32>(l4lenC + (r << 2), <u32>l4len);
    const trunc = capEnd < dEnd;
    let fl: u32 = trunc ? L4_TRUNCATED | L4_TUPLE_OK | L4_HDR_OK : L4_TUPLE_OK | L4_HDR_OK;
    let sum = true;
    let pseudo = true;
    if (proto === 6) {
      store<u16>(sportC + (r << 1), <u16>be16(q));
      store<u16>(dportC + (r << 1), <u16>be16(q + 2));
      store<u8>(tcpDoffC + r, <u8>doff);
      store<u8>(tcpFlagsC + r, load<u8>(q + 13));
      store<u32>(seqC + (r << 2), be32(q + 4));
      store<u32>(ackC + (r << 2), be32(q + 8));
      store<u16>(winC + (r << 1), <u16>be16(q + 14));
      store<u32>(payloadC + (r << 2), <u32>(l4len - (doff << 2)));
      // tcp_options / tcp_sack (Decoder.tcpOptions).
      const oEnd = q + ((<usize>doff) << 2);
      const oe = oEnd < capEnd ? oEnd : capEnd;
      let opt: u32 = 0;
      let edge: u32 = 0;
      let ws: u32 = 0;
      let o = q + 20;
      if (oe - o === 12 && be32(o) === 0x0101080a) o = oe;
      while (o < oe) {
        const kind = load<u8>(o);
        if (kind === 0) break;
        if (kind === 1) {
          o++;
          continue;
        }
        if (o + 2 > oe) break;
        const size = <usize>load<u8>(o + 1);
        if (size < 2 || o + size > oe) break;
        if (kind === 3 && size === 3) {
          opt |= TCPOPT_WSCALE;
          const v = <u32>load<u8>(o + 2);
          ws = v < TCP_MAX_WSCALE ? v : TCP_MAX_WSCALE;
        } else if (kind === 4 && size === 2) {
          opt |= TCPOPT_SACK_PERM;
        } else if (kind === 5 && size >= 10 && (size - 2) % 8 === 0) {
          for (let s = o + 2; s < o + size; s += 8) {
            const re = be32(s + 4);
            if ((opt & TCPOPT_SACK) === 0 || <i32>(re - edge) > 0) edge = re;
            opt |= TCPOPT_SACK;
          }
        }
        o += size;
      }
      store<u8>(tcpOptC + r, <u8>opt);
      store<u8>(wscaleC + r, <u8>ws);
      store<u32>(sackEdgeC + (r << 2), edge);
      nTcp++;
    } else if (proto === 17) {
      store<u16>(sportC + (r << 1), <u16>be16(q));
      store<u16>(dportC + (r << 1), <u16>be16(q + 2));
      store<u32>(payloadC + (r << 2), <u32>(l4len - 8));
      const ulen = <i32>be16(q + 4);
      if (ulen > l4len || ulen < 8) {
        fl |= L4_UDP_LEN_BAD;
        sum = false;
      } else sum = be16(q + 6) !== 0;
      nUdp++;
    } else {
      // icmp_pkt_to_tuple / icmpv6_pkt_to_tuple; ICMPv4 sums no pseudo-header.
      store<u16>(sportC + (r << 1), <u16>be16(q + 4));
      store<u16>(dportC + (r << 1), <u16>be16(q));
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
    if (trunc) nTruncated++;
    store<u8>(l4flagsC + r, <u8>fl);
    const t = load<f64>(inSec + (r << 3)) + <f64>load<u32>(inNsec + (r << 2)) / 1e9;
    if (!(t >= first)) first = t;
    if (!(t <= last)) last = t;
    return true;
  }
}
