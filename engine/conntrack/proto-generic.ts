/**
 * Generic tracker (nf_conntrack_proto_generic.c, generic_packet): any L4 protocol without its own tracker.
 * The tuple is addresses + protocol number only; every packet refreshes nf_conntrack_generic_timeout (600 s).
 * Never ASSURED, no state, no early-drop preference. Per-entry words: none.
 */
import type { PacketBatch } from "../decode/packet-batch.js";
import type { CtStore } from "./ct-store.js";
import { type CtContext, type Dir, type L4Tracker, V_ACCEPT, type Verdict } from "./l4proto.js";

export const genericTracker: L4Tracker = {
  protonum: 0,
  // generic_packet
  packet(ctx: CtContext, ct: number, _pkt: PacketBatch, _i: number, _dir: Dir, _ctinfo: number): Verdict {
    ctx.refresh(ct, ctx.settings.genericTimeout);
    return V_ACCEPT;
  },
  canEarlyDrop(_store: CtStore, _ct: number): boolean {
    return false;
  },
  stateName(_store: CtStore, _ct: number): string | null {
    return null;
  },
};
