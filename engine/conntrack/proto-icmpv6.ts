/**
 * ICMPv6 tracker (net/netfilter/nf_conntrack_proto_icmpv6.c, 6.x) plus the ICMPv6 tables the core needs:
 * the inverse map (nf_ct_invert_tuple) and the never-tracked ND/MLD types (nf_conntrack_icmpv6_error
 * marks them UNTRACKED before any lookup). Error types (< 128) never reach this handler.
 *
 * Per-entry words: none.
 */

import type { PacketBatch } from "../decode/packet-batch.js";
import { NFPROTO_IPV6 } from "../decode/packet-batch.js";
import type { CtStore } from "./ct-store.js";
import {
  type CtContext,
  type Dir,
  IPS_CONFIRMED,
  type L4Tracker,
  V_ACCEPT,
  V_INVALID,
  type Verdict,
} from "./l4proto.js";
import { origIcmpType } from "./proto-icmp.js";

/** ICMPv6 types by name (include/uapi/linux/icmpv6.h, include/net/ndisc.h). */
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_MGM_QUERY = 130;
export const ICMPV6_MGM_REPORT = 131;
export const ICMPV6_MGM_REDUCTION = 132;
export const NDISC_ROUTER_SOLICITATION = 133;
export const NDISC_ROUTER_ADVERTISEMENT = 134;
export const NDISC_NEIGHBOUR_SOLICITATION = 135;
export const NDISC_NEIGHBOUR_ADVERTISEMENT = 136;
export const ICMPV6_NI_QUERY = 139;
export const ICMPV6_NI_REPLY = 140;
export const ICMPV6_MLD2_REPORT = 143;

/** invmap[]: request <-> reply pairs; any other type is not invertible. */
export const ICMPV6_INVMAP: Readonly<Record<number, number>> = {
  [ICMPV6_ECHO_REQUEST]: ICMPV6_ECHO_REPLY,
  [ICMPV6_ECHO_REPLY]: ICMPV6_ECHO_REQUEST,
  [ICMPV6_NI_QUERY]: ICMPV6_NI_REPLY,
  [ICMPV6_NI_REPLY]: ICMPV6_NI_QUERY,
};

export { icmpv6IsError } from "../decode/icmp-error.js";

/** valid_new[] in nf_conntrack_icmpv6_packet. */
export const ICMPV6_VALID_NEW: readonly number[] = [ICMPV6_ECHO_REQUEST, ICMPV6_NI_QUERY];

/** noct_valid_new[]: MLD and neighbour discovery, never tracked (skb set UNTRACKED, no stats). */
export const ICMPV6_NOCT: readonly number[] = [
  ICMPV6_MGM_QUERY,
  ICMPV6_MGM_REPORT,
  ICMPV6_MGM_REDUCTION,
  NDISC_ROUTER_SOLICITATION,
  NDISC_ROUTER_ADVERTISEMENT,
  NDISC_NEIGHBOUR_SOLICITATION,
  NDISC_NEIGHBOUR_ADVERTISEMENT,
  ICMPV6_MLD2_REPORT,
];

const invTable = new Int16Array(256).fill(-1);
for (const [t, r] of Object.entries(ICMPV6_INVMAP)) invTable[Number(t)] = r;
const validNewTable = new Uint8Array(256);
for (const t of ICMPV6_VALID_NEW) validNewTable[t] = 1;
const noctTable = new Uint8Array(256);
for (const t of ICMPV6_NOCT) noctTable[t] = 1;

/** nf_conntrack_invert_icmpv6_tuple: the reply type, or -1 when the type cannot be inverted. */
export function icmpv6InvertType(type: number): number {
  return invTable[type & 0xff]!;
}

export function icmpv6Invertible(type: number): boolean {
  return invTable[type & 0xff]! >= 0;
}

export function icmpv6ValidNew(type: number): boolean {
  return validNewTable[type & 0xff] === 1;
}

/** nf_conntrack_icmpv6_error: ND/MLD types are marked UNTRACKED (no entry, no stat). */
export function icmpv6IsUntracked(type: number): boolean {
  return noctTable[type & 0xff] === 1;
}

/** nf_conntrack_icmpv6_packet */
function icmpv6Packet(
  ctx: CtContext,
  ct: number,
  pkt: PacketBatch,
  i: number,
  _dir: Dir,
  _ctinfo: number,
): Verdict {
  if (pkt.l3[i] !== NFPROTO_IPV6) return V_INVALID;
  // Unlike ICMPv4, the creation check only runs for an unconfirmed entry.
  if ((ctx.store.statusOf(ct) & IPS_CONFIRMED) === 0 && validNewTable[origIcmpType(ctx.store, ct)] !== 1) {
    return V_INVALID;
  }
  ctx.refresh(ct, ctx.settings.icmpv6Timeout);
  return V_ACCEPT;
}

export const icmpv6Tracker: L4Tracker = {
  protonum: 58,
  packet: icmpv6Packet,
  canEarlyDrop: (_store: CtStore, _ct: number): boolean => false,
  stateName: (_store: CtStore, _ct: number): string | null => null,
};
