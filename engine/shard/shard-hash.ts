/**
 * Direction-independent shard selection: both directions of a connection (and ICMP errors quoting it)
 * must reach the same shard, because each shard is a complete conntrack table.
 *
 * The two endpoints (address words + port) are hashed separately and combined with addition, which is
 * commutative, then finalised with a murmur3 fmix32. ICMP/ICMPv6 use only the echo id as the "port" of both
 * endpoints, since the request and reply carry different type/code in the tuple's dst.u. ICMP errors are
 * sharded by the quoted (inner) tuple, which is the tuple of the connection they relate to.
 */
import { fmix32 } from "../conntrack/murmur3.js";
import { L4_ICMP_INNER_OK, type PacketBatch } from "../decode/packet-batch.js";

const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;

/**
 * One endpoint (4 address words, then the port) in 32 bits: a sum of the words times odd constants, then
 * fmix32. A third of the cost of five murmur3 rounds per endpoint, which was ~10 % of the main thread's
 * read+decode+shard time; the sum only has to spread flows over a few shards, and fmix32 is a bijection.
 */
function endpoint(a: Uint32Array, o: number, port: number): number {
  const h =
    Math.imul(a[o]!, 0x9e3779b1) +
    Math.imul(a[o + 1]!, 0x85ebca77) +
    Math.imul(a[o + 2]!, 0xc2b2ae3d) +
    Math.imul(a[o + 3]!, 0x27d4eb2f) +
    Math.imul(port + 0x165667b1, 0x61c88647);
  return fmix32(h | 0);
}

function isIcmpError(proto: number, dport: number): boolean {
  const type = dport >>> 8;
  if (proto === IPPROTO_ICMP) return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
  if (proto === IPPROTO_ICMPV6) return type < 128;
  return false;
}

/** Symmetric 32-bit hash of row i's tuple (the quoted tuple for ICMP errors). */
export function symmetricTupleHash(pkt: PacketBatch, i: number): number {
  const o = i * 4;
  const proto = pkt.proto[i]!;
  if (isIcmpError(proto, pkt.dport[i]!) && (pkt.l4flags[i]! & L4_ICMP_INNER_OK) !== 0) {
    const iproto = pkt.iproto[i]!;
    const sp = pkt.isport[i]!;
    const dp = iproto === IPPROTO_ICMP || iproto === IPPROTO_ICMPV6 ? sp : pkt.idport[i]!;
    return fmix32(((endpoint(pkt.isrc, o, sp) + endpoint(pkt.idst, o, dp)) >>> 0) ^ iproto);
  }
  const sp = pkt.sport[i]!;
  const dp = proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6 ? sp : pkt.dport[i]!;
  return fmix32(((endpoint(pkt.src, o, sp) + endpoint(pkt.dst, o, dp)) >>> 0) ^ proto);
}

/** Shard index in [0, shards) with reciprocal_scale, as the kernel reduces hashes to buckets. */
export function shardOf(pkt: PacketBatch, i: number, shards: number): number {
  if (shards <= 1) return 0;
  return Math.floor((symmetricTupleHash(pkt, i) * shards) / 4294967296);
}
