/**
 * GRE tracker (net/netfilter/nf_conntrack_proto_gre.c, 6.x). Tuples: GRE v0 is portless (keys 0), v1 (PPTP)
 * uses the call id; v1 with a non-PPP protocol already failed in decode (no tuple). The handler itself has
 * no error checks.
 *
 * Per-entry words from store.protoOff(ct) (ct->proto.gre, copied on the first packet so a
 * helper could raise them per entry, as the PPTP helper does):
 *   GRE_W_TIMEOUT (0): unreplied timeout, jiffies.
 *   GRE_W_STREAM_TIMEOUT (1): replied timeout, jiffies.
 */

import type { PacketBatch } from "../decode/packet-batch.js";
import { type CtStore, PROTO_WORDS } from "./ct-store.js";
import {
  type CtContext,
  type Dir,
  IPS_ASSURED,
  IPS_CONFIRMED,
  IPS_NAT_CLASH,
  IPS_SEEN_REPLY,
  type L4Tracker,
  V_ACCEPT,
  type Verdict,
} from "./l4proto.js";

export const GRE_W_TIMEOUT = 0;
export const GRE_W_STREAM_TIMEOUT = 1;

/** nf_conntrack_gre_packet */
function grePacket(
  ctx: CtContext,
  ct: number,
  _pkt: PacketBatch,
  _i: number,
  _dir: Dir,
  _ctinfo: number,
): Verdict {
  const store = ctx.store;
  const w = ct * PROTO_WORDS;
  if ((store.statusOf(ct) & IPS_CONFIRMED) === 0) {
    store.proto[w + GRE_W_STREAM_TIMEOUT] = ctx.settings.greTimeoutStream;
    store.proto[w + GRE_W_TIMEOUT] = ctx.settings.greTimeout;
  }
  const status = store.statusOf(ct);
  // Seen traffic both ways: a GRE connection. Extend timeout and assure.
  if ((status & IPS_SEEN_REPLY) !== 0) {
    ctx.refresh(ct, store.proto[w + GRE_W_STREAM_TIMEOUT]!);
    if ((status & IPS_NAT_CLASH) !== 0) return V_ACCEPT;
    store.setStatus(ct, store.statusOf(ct) | IPS_ASSURED);
  } else {
    ctx.refresh(ct, store.proto[w + GRE_W_TIMEOUT]!);
  }
  return V_ACCEPT;
}

export const greTracker: L4Tracker = {
  protonum: 47,
  packet: grePacket,
  canEarlyDrop: (_store: CtStore, _ct: number): boolean => false,
  stateName: (_store: CtStore, _ct: number): string | null => null,
};
