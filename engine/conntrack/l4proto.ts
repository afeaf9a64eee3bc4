/**
 * The interface every per-protocol tracker implements (like the kernel's struct nf_conntrack_l4proto and
 * its nf_conntrack_*_packet functions), plus the constants they share. One tracker per file:
 * proto-tcp.ts, proto-udp.ts (UDP + UDPLite), proto-icmp.ts, proto-icmpv6.ts, proto-gre.ts, proto-sctp.ts,
 * proto-generic.ts. The core (nf-conntrack-in.ts) dispatches on the protocol number.
 */
import type { PacketBatch } from "../decode/packet-batch.js";
import type { CtStore } from "./ct-store.js";
import type { CtSettings } from "./settings.js";

/** Result of a protocol handler, as nf_conntrack_in interprets it. */
export const V_ACCEPT = 1; // NF_ACCEPT: packet accepted, state updated
export const V_INVALID = -1; // -NF_ACCEPT: invalid (stat invalid++), an unconfirmed ct is freed
export const V_DROP = -2; // -NF_DROP: invalid and dropped (invalid++ and drop++)
export const V_REPEAT = -3; // -NF_REPEAT: old ct killed, redo the lookup (TCP reopen)
export type Verdict = typeof V_ACCEPT | typeof V_INVALID | typeof V_DROP | typeof V_REPEAT;

/** Direction of the matched tuplehash (enum ip_conntrack_dir). */
export const IP_CT_DIR_ORIGINAL = 0;
export const IP_CT_DIR_REPLY = 1;
export type Dir = 0 | 1;

/** enum ip_conntrack_info. */
export const IP_CT_ESTABLISHED = 0;
export const IP_CT_RELATED = 1;
export const IP_CT_NEW = 2;
export const IP_CT_ESTABLISHED_REPLY = 3;
export const IP_CT_RELATED_REPLY = 4;

/** ct->status bits (include/uapi/linux/netfilter/nf_conntrack_common.h). */
export const IPS_EXPECTED = 1 << 0;
export const IPS_SEEN_REPLY = 1 << 1;
export const IPS_ASSURED = 1 << 2;
export const IPS_CONFIRMED = 1 << 3;
export const IPS_DYING = 1 << 9;
export const IPS_FIXED_TIMEOUT = 1 << 10;
/** Clash losers are never assured. ctreplay never creates them; kept for fidelity. */
export const IPS_NAT_CLASH = 1 << 12;
export const IPS_OFFLOAD = 1 << 14;

/** What a tracker may do to the table while handling a packet. Implemented by the core. */
export interface CtContext {
  readonly store: CtStore;
  readonly settings: CtSettings;
  /** Current time in u32 jiffies (capture time converted at settings.hz). */
  now: number;
  /** __nf_ct_refresh_acct: timeout = now + extra (confirmed) or extra (unconfirmed); no-op with IPS_FIXED_TIMEOUT. */
  refresh(ct: number, extraJiffies: number): void;
  /** nf_ct_kill: delete a confirmed entry from the table now (e.g. TCP RST before any reply, reopen). */
  kill(ct: number): void;
}

export interface L4Tracker {
  /** IP protocol number this tracker handles (6, 17, 136, 1, 58, 47, 132; 0 for generic). */
  readonly protonum: number;
  /**
   * The per-packet handler, mirroring nf_conntrack_<proto>_packet: first the protocol's error checks
   * (tcp_error, udp_error, checksum when settings.checksum), then, for an unconfirmed ct, the protocol's
   * *_new validity and initial state, then the state machine; sets IPS_ASSURED and refreshes the timeout
   * through ctx. `ctinfo` is the IP_CT_* value resolve_normal_ct computed.
   */
  packet(ctx: CtContext, ct: number, pkt: PacketBatch, i: number, dir: Dir, ctinfo: number): Verdict;
  /** Protocol early-drop eligibility used by gc_worker's 95 % eviction (tcp_can_early_drop etc.). */
  canEarlyDrop(store: CtStore, ct: number): boolean;
  /** State name as conntrack -L prints it (e.g. "ESTABLISHED"), or null for stateless protocols. */
  stateName(store: CtStore, ct: number): string | null;
}
