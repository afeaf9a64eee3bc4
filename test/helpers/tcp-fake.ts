/**
 * A minimal stand-in for the conntrack core, enough to drive tcpTracker with packet sequences of one
 * connection: it does what nf_conntrack_in does around the protocol handler (alloc on miss, lazy expiry,
 * -NF_REPEAT re-lookup, free of an unconfirmed ct on invalid, SEEN_REPLY after an accepted reply, confirm
 * after the first accepted packet) and implements CtContext.refresh/kill like __nf_ct_refresh_acct and
 * nf_ct_kill. Time is in seconds; jiffies at HZ 250.
 */
import { CtStore } from "../../engine/conntrack/ct-store.js";
import {
  type CtContext,
  type Dir,
  IP_CT_ESTABLISHED,
  IP_CT_ESTABLISHED_REPLY,
  IP_CT_NEW,
  IPS_ASSURED,
  IPS_CONFIRMED,
  IPS_DYING,
  IPS_FIXED_TIMEOUT,
  IPS_SEEN_REPLY,
  V_ACCEPT,
  V_REPEAT,
  type Verdict,
} from "../../engine/conntrack/l4proto.js";
import { tcpTracker } from "../../engine/conntrack/proto-tcp.js";
import { type CtSettings, resolveSettings, type SysctlValues } from "../../engine/conntrack/settings.js";
import {
  L4_CSUM_BAD,
  L4_CSUM_UNKNOWN,
  L4_HDR_OK,
  L4_TUPLE_OK,
  NFPROTO_IPV4,
  PacketBatch,
  PK_IP,
  TCPOPT_SACK,
  TCPOPT_SACK_PERM,
  TCPOPT_WSCALE,
} from "../../engine/decode/packet-batch.js";

export const HZ = 250;

export class FakeCtx implements CtContext {
  readonly store = new CtStore(64);
  readonly settings: CtSettings;
  now = 0;
  kills = 0;
  refreshes = 0;
  constructor(sysctl: Partial<SysctlValues> = {}) {
    this.settings = resolveSettings(sysctl, HZ);
  }
  refresh(ct: number, extra: number): void {
    this.refreshes++;
    const st = this.store.statusOf(ct);
    if (st & IPS_FIXED_TIMEOUT) return;
    this.store.setTimeout(ct, st & IPS_CONFIRMED ? (this.now + extra) >>> 0 : extra >>> 0);
  }
  kill(ct: number): void {
    this.kills++;
    this.store.setStatus(ct, this.store.statusOf(ct) | IPS_DYING);
  }
}

/** One TCP segment as the test writes it. `len` = payload bytes. */
export interface Seg {
  flags: number;
  seq: number;
  ack?: number;
  win?: number;
  len?: number;
  /** TCP header length in 32-bit words (default 5, or 10 when options are given). */
  doff?: number;
  wscale?: number; // adds the window-scale option
  sackPerm?: boolean; // adds SACK-permitted
  sackEdge?: number; // adds a SACK block with this right edge
  csumBad?: boolean;
  csumUnknown?: boolean;
  /** Override the datagram's L4 length (to build truncated/malformed headers). */
  l4len?: number;
}

export type Side = "c" | "s";

export interface SendResult {
  verdict: Verdict;
  /** Number of -NF_REPEAT rounds (reopen). */
  repeats: number;
  /** The entry after the packet, or -1 when none exists (freed, killed, never created). */
  ct: number;
}

/**
 * One connection between a client "c" and a server "s". The first packet creates the entry with its
 * sender as ORIGINAL; later packets map to a direction by sender.
 */
export class Conn {
  readonly ctx: FakeCtx;
  readonly pkt = new PacketBatch(8);
  ct = -1;
  origSide: Side = "c";
  private nextCt = 0;

  constructor(sysctl: Partial<SysctlValues> = {}) {
    this.ctx = new FakeCtx(sysctl);
  }

  private fill(seg: Seg): void {
    const b = this.pkt;
    b.clearRow(0);
    b.kind[0] = PK_IP;
    b.l3[0] = NFPROTO_IPV4;
    b.proto[0] = 6;
    const hasOpt = seg.wscale !== undefined || seg.sackPerm === true || seg.sackEdge !== undefined;
    const doff = seg.doff ?? (hasOpt ? 10 : 5);
    const len = seg.len ?? 0;
    b.tcpFlags[0] = seg.flags;
    b.tcpDoff[0] = doff;
    b.seq[0] = seg.seq >>> 0;
    b.ack[0] = (seg.ack ?? 0) >>> 0;
    b.win[0] = seg.win ?? 64000;
    let opt = 0;
    if (seg.wscale !== undefined) {
      opt |= TCPOPT_WSCALE;
      b.wscale[0] = seg.wscale;
    }
    if (seg.sackPerm) opt |= TCPOPT_SACK_PERM;
    if (seg.sackEdge !== undefined) {
      opt |= TCPOPT_SACK;
      b.sackEdge[0] = seg.sackEdge >>> 0;
    }
    b.tcpOpt[0] = opt;
    b.l4len[0] = seg.l4len ?? doff * 4 + len;
    b.payload[0] = len;
    let l4 = L4_TUPLE_OK | L4_HDR_OK;
    if (seg.csumBad) l4 |= L4_CSUM_BAD;
    if (seg.csumUnknown) l4 |= L4_CSUM_UNKNOWN;
    b.l4flags[0] = l4;
    b.count = 1;
  }

  private jiffies(t: number): number {
    return Math.round(t * HZ) >>> 0;
  }

  private expired(ct: number): boolean {
    const st = this.ctx.store.statusOf(ct);
    if (st & IPS_DYING) return true;
    return ((this.ctx.store.timeoutOf(ct) - this.ctx.now) | 0) <= 0;
  }

  /** nf_conntrack_in for one packet of this connection at time t (seconds). */
  send(from: Side, seg: Seg, t: number): SendResult {
    const ctx = this.ctx;
    const store = ctx.store;
    ctx.now = this.jiffies(t);
    this.fill(seg);
    let repeats = 0;
    for (;;) {
      if (this.ct >= 0 && this.expired(this.ct)) this.ct = -1; // lazy reap on lookup
      let ct = this.ct;
      if (ct < 0) {
        ct = this.nextCt++;
        store.reset(ct);
        store.setL4proto(ct, 6);
        this.origSide = from;
      }
      const dir: Dir = from === this.origSide ? 0 : 1;
      const st = store.statusOf(ct);
      const ctinfo =
        dir === 1 ? IP_CT_ESTABLISHED_REPLY : st & IPS_SEEN_REPLY ? IP_CT_ESTABLISHED : IP_CT_NEW;
      const v = tcpTracker.packet(ctx, ct, this.pkt, 0, dir, ctinfo);
      if (v === V_REPEAT) {
        repeats++;
        this.ct = -1;
        if (repeats > 3) throw new Error("repeat loop");
        continue;
      }
      if (v !== V_ACCEPT) {
        // Invalid: an unconfirmed ct is freed; a confirmed one stays untouched.
        this.ct = store.statusOf(ct) & IPS_CONFIRMED ? ct : -1;
        return { verdict: v, repeats, ct: this.ct };
      }
      if (dir === 1) store.setStatus(ct, store.statusOf(ct) | IPS_SEEN_REPLY);
      if (!(store.statusOf(ct) & IPS_CONFIRMED)) {
        if (store.statusOf(ct) & IPS_DYING) {
          this.ct = -1; // killed before confirm: never inserted
          return { verdict: v, repeats, ct: -1 };
        }
        store.setStatus(ct, store.statusOf(ct) | IPS_CONFIRMED);
        store.setTimeout(ct, (store.timeoutOf(ct) + ctx.now) >>> 0);
      }
      this.ct = store.statusOf(ct) & IPS_DYING ? -1 : ct;
      return { verdict: v, repeats, ct: this.ct };
    }
  }

  /** Whether the entry exists (confirmed, not killed, not expired) at time t. */
  alive(t: number): boolean {
    this.ctx.now = this.jiffies(t);
    return this.ct >= 0 && !this.expired(this.ct);
  }
  state(): string | null {
    return this.ct < 0 ? null : tcpTracker.stateName(this.ctx.store, this.ct);
  }
  assured(): boolean {
    return this.ct >= 0 && (this.ctx.store.statusOf(this.ct) & IPS_ASSURED) !== 0;
  }
  /** conntrack -L's [UNREPLIED]: no accepted reply-direction packet yet. */
  unreplied(): boolean {
    return this.ct >= 0 && (this.ctx.store.statusOf(this.ct) & IPS_SEEN_REPLY) === 0;
  }
  /** Remaining lifetime in seconds at time t (like nf_ct_expires / conntrack -L, but not truncated). */
  remaining(t: number): number {
    if (this.ct < 0) return -1;
    const rem = (this.ctx.store.timeoutOf(this.ct) - this.jiffies(t)) | 0;
    return Math.max(rem, 0) / HZ;
  }
}
