/**
 * UDP and UDPLite trackers (net/netfilter/nf_conntrack_proto_udp.c, 6.x).
 *
 * Per-entry words from store.protoOff(ct):
 *   W_STREAM_TS (0): ct->proto.udp.stream_ts, u32 jiffies = first packet's time + 2 s (UDP only).
 *
 * 6.18 assures UDP only when a packet arrives with SEEN_REPLY already set AND after stream_ts; UDPLite
 * keeps its own older handler (nf_conntrack_udplite_packet): SEEN_REPLY => 120 s and ASSURED at once.
 */

import type { PacketBatch } from "../decode/packet-batch.js";
import { L4_CSUM_BAD, L4_HDR_OK, L4_UDP_LEN_BAD } from "../decode/packet-batch.js";
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
  V_INVALID,
  type Verdict,
} from "./l4proto.js";

export const UDP_W_STREAM_TS = 0;

/** udp_error / udplite_error as the decoder's flags express them: true = invalid (-NF_ACCEPT). */
function udpError(ctx: CtContext, fl: number): boolean {
  // Header unreadable (short packet) or length/coverage inconsistent (truncated/malformed, invalid coverage,
  // UDPLite checksum missing).
  if ((fl & L4_HDR_OK) === 0 || (fl & L4_UDP_LEN_BAD) !== 0) return true;
  // Bad checksum with nf_conntrack_checksum=1. A zero UDP checksum is never flagged bad (CHECKSUM_UNNECESSARY);
  // L4_CSUM_UNKNOWN (not verifiable) is accepted like the kernel accepts what it does not verify.
  return ctx.settings.checksum && (fl & L4_CSUM_BAD) !== 0;
}

/** nf_conntrack_udp_packet */
function udpPacket(
  ctx: CtContext,
  ct: number,
  pkt: PacketBatch,
  i: number,
  _dir: Dir,
  _ctinfo: number,
): Verdict {
  if (udpError(ctx, pkt.l4flags[i]!)) return V_INVALID;
  const store = ctx.store;
  const s = ctx.settings;
  const now = ctx.now;
  const w = ct * PROTO_WORDS;
  const status = store.statusOf(ct);
  if ((status & IPS_CONFIRMED) === 0) store.proto[w + UDP_W_STREAM_TS] = (now + 2 * s.hz) >>> 0;

  if ((status & IPS_SEEN_REPLY) !== 0) {
    let extra = s.udpTimeout;
    let stream = false;
    // time_after(jiffies, stream_ts): still active after two seconds? Extend timeout and assure.
    if (((store.proto[w + UDP_W_STREAM_TS]! - now) | 0) < 0) {
      extra = s.udpTimeoutStream;
      stream = true;
    }
    ctx.refresh(ct, extra);
    const st = store.statusOf(ct);
    if ((st & IPS_NAT_CLASH) !== 0) return V_ACCEPT;
    // test_and_set_bit(IPS_ASSURED_BIT): only the first stream packet changes the status.
    if (stream && (st & IPS_ASSURED) === 0) store.setStatus(ct, st | IPS_ASSURED);
  } else {
    ctx.refresh(ct, s.udpTimeout);
  }
  return V_ACCEPT;
}

/** nf_conntrack_udplite_packet: no 2-second stream rule (source read: 6.x still has the separate handler). */
function udplitePacket(
  ctx: CtContext,
  ct: number,
  pkt: PacketBatch,
  i: number,
  _dir: Dir,
  _ctinfo: number,
): Verdict {
  if (udpError(ctx, pkt.l4flags[i]!)) return V_INVALID;
  const store = ctx.store;
  if ((store.statusOf(ct) & IPS_SEEN_REPLY) !== 0) {
    ctx.refresh(ct, ctx.settings.udpTimeoutStream);
    const st = store.statusOf(ct);
    if ((st & IPS_NAT_CLASH) !== 0) return V_ACCEPT;
    if ((st & IPS_ASSURED) === 0) store.setStatus(ct, st | IPS_ASSURED); // test_and_set_bit
  } else {
    ctx.refresh(ct, ctx.settings.udpTimeout);
  }
  return V_ACCEPT;
}

const never = (_store: CtStore, _ct: number): boolean => false;
const noState = (_store: CtStore, _ct: number): string | null => null;

export const udpTracker: L4Tracker = {
  protonum: 17,
  packet: udpPacket,
  canEarlyDrop: never,
  stateName: noState,
};

export const udpliteTracker: L4Tracker = {
  protonum: 136,
  packet: udplitePacket,
  canEarlyDrop: never,
  stateName: noState,
};
