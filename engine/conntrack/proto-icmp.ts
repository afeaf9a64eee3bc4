/**
 * ICMP tracker (net/netfilter/nf_conntrack_proto_icmp.c, 6.x) plus the ICMP tables the core needs for
 * nf_ct_invert_tuple. Error types (3, 4, 5, 11, 12) never reach this handler: the core's
 * nf_conntrack_icmpv4_error path handles them.
 *
 * Per-entry words: none (ICMP keeps no private state; the tuple holds type/code/id).
 */

import type { PacketBatch } from "../decode/packet-batch.js";
import { NFPROTO_IPV4 } from "../decode/packet-batch.js";
import { type CtStore, T_PORTS } from "./ct-store.js";
import { type CtContext, type Dir, type L4Tracker, V_ACCEPT, V_INVALID, type Verdict } from "./l4proto.js";

/** ICMP types by name (include/uapi/linux/icmp.h). */
export const ICMP_ECHOREPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETERPROB = 12;
export const ICMP_TIMESTAMP = 13;
export const ICMP_TIMESTAMPREPLY = 14;
export const ICMP_INFO_REQUEST = 15;
export const ICMP_INFO_REPLY = 16;
export const ICMP_ADDRESS = 17;
export const ICMP_ADDRESSREPLY = 18;
/** NR_ICMP_TYPES: types above it are rejected by nf_conntrack_icmpv4_error. */
export const NR_ICMP_TYPES = 18;

/** invmap[]: request <-> reply pairs; any type not listed is not invertible. */
export const ICMP_INVMAP: Readonly<Record<number, number>> = {
  [ICMP_ECHO]: ICMP_ECHOREPLY,
  [ICMP_ECHOREPLY]: ICMP_ECHO,
  [ICMP_TIMESTAMP]: ICMP_TIMESTAMPREPLY,
  [ICMP_TIMESTAMPREPLY]: ICMP_TIMESTAMP,
  [ICMP_INFO_REQUEST]: ICMP_INFO_REPLY,
  [ICMP_INFO_REPLY]: ICMP_INFO_REQUEST,
  [ICMP_ADDRESS]: ICMP_ADDRESSREPLY,
  [ICMP_ADDRESSREPLY]: ICMP_ADDRESS,
};

/** valid_new[] in nf_conntrack_icmp_packet: the only types that may create an entry. */
export const ICMP_VALID_NEW: readonly number[] = [ICMP_ECHO, ICMP_TIMESTAMP, ICMP_INFO_REQUEST, ICMP_ADDRESS];

export { ICMP_ERROR_TYPES, icmpIsError } from "../decode/icmp-error.js";

// Lookup tables built once from the data above (indexed by type, 256 entries: no bounds branches).
const invTable = new Int16Array(256).fill(-1);
for (const [t, r] of Object.entries(ICMP_INVMAP)) invTable[Number(t)] = r;
const validNewTable = new Uint8Array(256);
for (const t of ICMP_VALID_NEW) validNewTable[t] = 1;

/** nf_conntrack_invert_icmp_tuple: the reply type, or -1 when the type cannot be inverted. */
export function icmpInvertType(type: number): number {
  return invTable[type & 0xff]!;
}

export function icmpInvertible(type: number): boolean {
  return invTable[type & 0xff]! >= 0;
}

export function icmpValidNew(type: number): boolean {
  return validNewTable[type & 0xff] === 1;
}

/** ORIGINAL tuple's ICMP type (tuple dst.u.icmp.type = high byte of the dport half-word). */
export function origIcmpType(store: CtStore, ct: number): number {
  return (store.tuple[store.tupleOff(ct * 2) + T_PORTS]! >>> 8) & 0xff;
}

/** nf_conntrack_icmp_packet */
function icmpPacket(
  ctx: CtContext,
  ct: number,
  pkt: PacketBatch,
  i: number,
  _dir: Dir,
  _ctinfo: number,
): Verdict {
  // ICMP (protocol 1) inside IPv6 gets a tuple and an entry, then is rejected here.
  if (pkt.l3[i] !== NFPROTO_IPV4) return V_INVALID;
  // Checked on every packet, against the ORIGINAL tuple: only request types may create (an echo reply
  // without state is invertible, so an entry was allocated, but it is freed here as invalid).
  if (validNewTable[origIcmpType(ctx.store, ct)] !== 1) return V_INVALID;
  // Not deleted after the reply: duplicates and conntrackd traffic; never ASSURED.
  ctx.refresh(ct, ctx.settings.icmpTimeout);
  return V_ACCEPT;
}

export const icmpTracker: L4Tracker = {
  protonum: 1,
  packet: icmpPacket,
  canEarlyDrop: (_store: CtStore, _ct: number): boolean => false,
  stateName: (_store: CtStore, _ct: number): string | null => null,
};
