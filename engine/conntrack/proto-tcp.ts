/**
 * TCP connection tracking: a port of 6.x net/netfilter/nf_conntrack_proto_tcp.c (nf_conntrack_tcp_packet
 * with tcp_error, tcp_new, tcp_in_window, nf_tcp_handle_invalid, tcp_can_early_drop). Facts (state table,
 * valid flags, names) live in tcp-states.ts.
 *
 * Per-entry state (the kernel's struct ip_ct_tcp) in the entry's record, PROTO_WORDS words from
 * store.protoOff(ct); the conntrack state itself (ip_ct_tcp.state) is store.state[ct]:
 *
 *   word  0.. 5  seen[ORIGINAL]: td_end, td_maxend, td_maxwin, td_maxack, td_scale, flags
 *   word  6..11  seen[REPLY]:    same layout
 *   word 12      last_dir        direction of the last in-window (or annotated) packet
 *   word 13      last_index      its class (TCP_*_SET)
 *   word 14      last_seq
 *   word 15      last_ack
 *   word 16      last_end        seq + len (+SYN +FIN)
 *   word 17      last_win        raw 16-bit window
 *   word 18      last_wscale     window scale of an ignored SYN
 *   word 19      last_flags      options of an ignored SYN, EXP_CHALLENGE_ACK, SIMULTANEOUS_OPEN
 *   word 20      retrans         consecutive identical ACK-class packets (u8 in the kernel: wraps at 256)
 *   words 21..23 unused
 *
 * The tracker reads and writes these words through the record's Int32Array view (store.protoI) and keeps every
 * sequence number as an int32 (`| 0`): arithmetic is mod 2^32 and before/after are the kernel's
 * (s32)(a - b) < 0. Values >= 2^31 read from a Uint32Array would be doubles, boxed into heap numbers
 * whenever they cross a call; int32 stays unboxed, so nothing is allocated per packet. Window sizes are
 * compared unsigned (`>>> 0`) like the kernel's u32.
 */

import {
  L4_CSUM_BAD,
  type PacketBatch,
  TCPOPT_SACK,
  TCPOPT_SACK_PERM,
  TCPOPT_WSCALE,
  TH_ACK,
  TH_FIN,
  TH_RST,
  TH_SYN,
} from "../decode/packet-batch.js";
import { type CtStore, PROTO_WORDS } from "./ct-store.js";
import {
  type CtContext,
  type Dir,
  IP_CT_DIR_ORIGINAL,
  IP_CT_DIR_REPLY,
  IPS_ASSURED,
  IPS_CONFIRMED,
  IPS_FIXED_TIMEOUT,
  IPS_SEEN_REPLY,
  type L4Tracker,
  V_ACCEPT,
  V_INVALID,
  V_REPEAT,
  type Verdict,
} from "./l4proto.js";
import {
  TCP_CONNTRACK_CLOSE,
  TCP_CONNTRACK_ESTABLISHED,
  TCP_CONNTRACK_FIN_WAIT,
  TCP_CONNTRACK_IGNORE,
  TCP_CONNTRACK_LAST_ACK,
  TCP_CONNTRACK_MAX,
  TCP_CONNTRACK_NONE,
  TCP_CONNTRACK_RETRANS,
  TCP_CONNTRACK_SYN_RECV,
  TCP_CONNTRACK_SYN_SENT,
  TCP_CONNTRACK_SYN_SENT2,
  TCP_CONNTRACK_TIME_WAIT,
  TCP_CONNTRACK_UNACK,
} from "./settings.js";
import {
  getConntrackIndex,
  IP_CT_EXP_CHALLENGE_ACK,
  IP_CT_TCP_FLAG_BE_LIBERAL,
  IP_CT_TCP_FLAG_CLOSE_INIT,
  IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED,
  IP_CT_TCP_FLAG_MAXACK_SET,
  IP_CT_TCP_FLAG_SACK_PERM,
  IP_CT_TCP_FLAG_WINDOW_SCALE,
  IP_CT_TCP_SIMULTANEOUS_OPEN,
  MAXACKWINCONST,
  TCP_ACK_SET,
  TCP_FIN_SET,
  TCP_MAX_WSCALE,
  TCP_NONE_SET,
  TCP_RST_SET,
  TCP_STATE_NAMES,
  TCP_SYN_SET,
  TCP_SYNACK_SET,
  tcpCanEarlyDropState,
  tcpFlagsValid,
  tcpTransition,
} from "./tcp-states.js";

/** Word offsets (see the map above). seen[d] starts at d * TCP_W_SEEN. */
export const TCP_W_SEEN = 6;
export const TD_END = 0;
export const TD_MAXEND = 1;
export const TD_MAXWIN = 2;
export const TD_MAXACK = 3;
export const TD_SCALE = 4;
export const TD_FLAGS = 5;
export const TCP_W_LAST_DIR = 12;
export const TCP_W_LAST_INDEX = 13;
export const TCP_W_LAST_SEQ = 14;
export const TCP_W_LAST_ACK = 15;
export const TCP_W_LAST_END = 16;
export const TCP_W_LAST_WIN = 17;
export const TCP_W_LAST_WSCALE = 18;
export const TCP_W_LAST_FLAGS = 19;
export const TCP_W_RETRANS = 20;

/** enum nf_ct_tcp_action. */
const NFCT_TCP_IGNORE = 0;
const NFCT_TCP_INVALID = 1;
const NFCT_TCP_ACCEPT = 2;

const sSS = TCP_CONNTRACK_SYN_SENT;
const sSR = TCP_CONNTRACK_SYN_RECV;
const sES = TCP_CONNTRACK_ESTABLISHED;
const sLA = TCP_CONNTRACK_LAST_ACK;
const sTW = TCP_CONNTRACK_TIME_WAIT;
const sCL = TCP_CONNTRACK_CLOSE;
const sS2 = TCP_CONNTRACK_SYN_SENT2;
const sIV = TCP_CONNTRACK_MAX;
const sIG = TCP_CONNTRACK_IGNORE;

/** before(a, b): a precedes b in sequence space. */
function before(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
/** after(a, b): a follows b in sequence space. */
function after(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}

/** tcp_options: window scale (clamped to 14) and SACK_PERM into seen[] at `off`; no-op without options. */
function tcpOptions(p: Int32Array, off: number, pkt: PacketBatch, i: number): void {
  if (pkt.tcpDoff[i] <= 5) return; // length == 0: the kernel returns before resetting
  p[off + TD_SCALE] = 0;
  p[off + TD_FLAGS] = p[off + TD_FLAGS] & IP_CT_TCP_FLAG_BE_LIBERAL;
  const o = pkt.tcpOpt[i];
  if (o & TCPOPT_SACK_PERM) p[off + TD_FLAGS] = p[off + TD_FLAGS] | IP_CT_TCP_FLAG_SACK_PERM;
  if (o & TCPOPT_WSCALE) {
    const w = pkt.wscale[i];
    p[off + TD_SCALE] = Math.min(w, TCP_MAX_WSCALE);
    p[off + TD_FLAGS] = p[off + TD_FLAGS] | IP_CT_TCP_FLAG_WINDOW_SCALE;
  }
}

/** tcp_init_sender: (re)initialise the sender from a SYN or SYN/ACK. */
function tcpInitSender(
  p: Int32Array,
  sd: number,
  rd: number,
  dir: number,
  pkt: PacketBatch,
  i: number,
  end: number,
  win: number,
): void {
  p[sd + TD_END] = end;
  p[sd + TD_MAXEND] = end;
  p[sd + TD_MAXWIN] = win === 0 ? 1 : win;
  tcpOptions(p, sd, pkt, i);
  // RFC 1323: both sides must announce window scaling for either to use it.
  if (
    dir === IP_CT_DIR_REPLY &&
    !(p[sd + TD_FLAGS] & IP_CT_TCP_FLAG_WINDOW_SCALE && p[rd + TD_FLAGS] & IP_CT_TCP_FLAG_WINDOW_SCALE)
  ) {
    p[sd + TD_SCALE] = 0;
    p[rd + TD_SCALE] = 0;
  }
}

/** nf_ct_tcp_state_reset. */
function tcpStateReset(p: Int32Array, off: number): void {
  p[off + TD_END] = 0;
  p[off + TD_MAXEND] = 0;
  p[off + TD_MAXWIN] = 0;
  p[off + TD_MAXACK] = 0;
  p[off + TD_SCALE] = 0;
  p[off + TD_FLAGS] = p[off + TD_FLAGS] & IP_CT_TCP_FLAG_BE_LIBERAL;
}

/** nf_tcp_log_invalid's verdict: a liberal sender (pickup or the sysctl) turns any failure into ACCEPT. */
function logInvalid(p: Int32Array, sd: number, liberal: boolean, ret: number): number {
  return liberal || p[sd + TD_FLAGS] & IP_CT_TCP_FLAG_BE_LIBERAL ? NFCT_TCP_ACCEPT : ret;
}

/** tcp_in_window (6.x ternary). `state` is ct->proto.tcp.state as it was before this packet. */
function tcpInWindow(
  p: Int32Array,
  base: number,
  dir: number,
  index: number,
  state: number,
  pkt: PacketBatch,
  i: number,
  flags: number,
  seq0: number,
  end0: number,
  liberal: boolean,
): number {
  const sd = base + dir * TCP_W_SEEN;
  const rd = base + (dir ^ 1) * TCP_W_SEEN;
  let seq = seq0;
  let end = end0;
  let ack = pkt.ack[i] | 0;
  let sack = ack;
  const winRaw = pkt.win[i];
  let win = winRaw;

  // tcp_sack: only when the receiver allowed SACK; keeps the ack unless a right edge lies after it.
  if (p[rd + TD_FLAGS] & IP_CT_TCP_FLAG_SACK_PERM && pkt.tcpOpt[i] & TCPOPT_SACK) {
    const edge = pkt.sackEdge[i] | 0;
    if (after(edge, sack)) sack = edge;
  }
  // NAT sequence offsets (nf_ct_seq_offset) are 0: no seqadj in a replay.

  if (p[sd + TD_MAXWIN] === 0) {
    if (flags & TH_SYN) {
      // SYN/ACK in reply to a SYN, or a SYN from the reply direction (simultaneous open).
      tcpInitSender(p, sd, rd, dir, pkt, i, end, win);
      if (!(flags & TH_ACK)) return NFCT_TCP_ACCEPT;
    } else {
      // Mid-connection: history lost, take what the packet says.
      p[sd + TD_END] = end;
      const swin = (win << p[sd + TD_SCALE]) | 0;
      p[sd + TD_MAXWIN] = swin === 0 ? 1 : swin;
      p[sd + TD_MAXEND] = (end + p[sd + TD_MAXWIN]) | 0;
      if (p[rd + TD_MAXWIN] === 0) {
        p[rd + TD_END] = sack;
        p[rd + TD_MAXEND] = sack;
      } else if (sack === ((p[rd + TD_END] + 1) | 0)) {
        p[rd + TD_END] = sack; // likely a keep-alive reply: needed for check III
      }
    }
  } else if (flags & TH_SYN && after(end, p[sd + TD_END]) && (state === sSS || state === sSR)) {
    // RFC 793 reinitialised connection with a higher sequence number: re-init this direction.
    tcpInitSender(p, sd, rd, dir, pkt, i, end, win);
    if (dir === IP_CT_DIR_REPLY && !(flags & TH_ACK)) return NFCT_TCP_ACCEPT;
  }

  if (!(flags & TH_ACK)) {
    ack = p[rd + TD_END];
    sack = ack;
  } else if (flags & TH_RST && ack === 0) {
    // Broken stacks that send RST|ACK with a zero ack.
    ack = p[rd + TD_END];
    sack = ack;
  }

  if (flags & TH_RST && seq === 0 && state === sSS) {
    // RST answering a SYN.
    seq = p[sd + TD_END];
    end = seq;
  }

  const senderMaxwin = p[sd + TD_MAXWIN] >>> 0;
  const maxAckWindow = Math.max(senderMaxwin, MAXACKWINCONST);
  const rEnd = p[rd + TD_END];
  const rMaxwin = p[rd + TD_MAXWIN] >>> 0;
  const sMaxend = p[sd + TD_MAXEND];

  // I. seq <= sender.td_maxend
  if (!before(seq, (sMaxend + 1) | 0)) {
    const overshot = (end - sMaxend + 1) >>> 0;
    const ackOk = after(sack, (rEnd - maxAckWindow - 1) | 0);
    const inRecvWin = rMaxwin !== 0 && after(end, (p[sd + TD_END] - rMaxwin - 1) | 0);
    if (inRecvWin && ackOk && overshot <= rMaxwin && before(sack, (rEnd + 1) | 0)) {
      // Sender overshot the window a little: remember the data so its ACK can pass later.
      p[sd + TD_END] = end;
      p[sd + TD_FLAGS] = p[sd + TD_FLAGS] | IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED;
      return logInvalid(p, sd, liberal, NFCT_TCP_IGNORE); // "N bytes more than expected"
    }
    return logInvalid(p, sd, liberal, NFCT_TCP_INVALID); // "SEQ is over upper bound"
  }
  // III. sack <= receiver.td_end
  if (!before(sack, (rEnd + 1) | 0)) return logInvalid(p, sd, liberal, NFCT_TCP_INVALID);
  // II. end >= sender.td_end - receiver.td_maxwin
  if (!(rMaxwin === 0 || after(end, (p[sd + TD_END] - rMaxwin - 1) | 0)))
    return logInvalid(p, sd, liberal, NFCT_TCP_IGNORE); // already ACKed data retransmitted
  // IV. sack >= receiver.td_end - MAXACKWINDOW(sender)
  if (!after(sack, (rEnd - maxAckWindow - 1) | 0)) return logInvalid(p, sd, liberal, NFCT_TCP_IGNORE);

  // Window scaling (RFC 1323) applies to non-SYN segments.
  if (!(flags & TH_SYN)) win = (win << p[sd + TD_SCALE]) | 0;

  // Update sender data.
  const swin = (win + (sack - ack)) | 0;
  if (p[sd + TD_MAXWIN] >>> 0 < swin >>> 0) p[sd + TD_MAXWIN] = swin;
  if (after(end, p[sd + TD_END])) {
    p[sd + TD_END] = end;
    p[sd + TD_FLAGS] = p[sd + TD_FLAGS] | IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED;
  }
  if (flags & TH_ACK) {
    if (!(p[sd + TD_FLAGS] & IP_CT_TCP_FLAG_MAXACK_SET)) {
      p[sd + TD_MAXACK] = ack;
      p[sd + TD_FLAGS] = p[sd + TD_FLAGS] | IP_CT_TCP_FLAG_MAXACK_SET;
    } else if (after(ack, p[sd + TD_MAXACK])) {
      p[sd + TD_MAXACK] = ack;
    }
  }

  // Update receiver data.
  if (p[rd + TD_MAXWIN] !== 0 && after(end, sMaxend)) {
    p[rd + TD_MAXWIN] = (p[rd + TD_MAXWIN] + (end - sMaxend)) | 0;
  }
  if (after((sack + win) | 0, (p[rd + TD_MAXEND] - 1) | 0)) {
    p[rd + TD_MAXEND] = (sack + win + (win === 0 ? 1 : 0)) | 0;
  }
  if (ack === p[rd + TD_END]) {
    p[rd + TD_FLAGS] = p[rd + TD_FLAGS] & ~IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED;
  }

  // Retransmission tracking (drives the max_retrans timeout).
  if (index === TCP_ACK_SET) {
    if (
      p[base + TCP_W_LAST_DIR] === dir &&
      p[base + TCP_W_LAST_SEQ] === seq &&
      p[base + TCP_W_LAST_ACK] === ack &&
      p[base + TCP_W_LAST_END] === end &&
      p[base + TCP_W_LAST_WIN] === winRaw
    ) {
      p[base + TCP_W_RETRANS] = (p[base + TCP_W_RETRANS] + 1) & 0xff;
    } else {
      p[base + TCP_W_LAST_DIR] = dir;
      p[base + TCP_W_LAST_SEQ] = seq;
      p[base + TCP_W_LAST_ACK] = ack;
      p[base + TCP_W_LAST_END] = end;
      p[base + TCP_W_LAST_WIN] = winRaw;
      p[base + TCP_W_RETRANS] = 0;
    }
  }
  return NFCT_TCP_ACCEPT;
}

/**
 * The timeout rule ladder of nf_conntrack_tcp_packet (first match wins), before the !SEEN_REPLY clamp.
 * `timeouts` is indexed by TCP_CONNTRACK_* incl. RETRANS and UNACK; `seenFlags` = seen[0].flags | seen[1].flags.
 */
export function tcpChooseTimeout(
  timeouts: Uint32Array,
  maxRetrans: number,
  retrans: number,
  index: number,
  newState: number,
  seenFlags: number,
  lastWin: number,
): number {
  const t = timeouts[newState];
  const tRetrans = timeouts[TCP_CONNTRACK_RETRANS];
  const tUnack = timeouts[TCP_CONNTRACK_UNACK];
  if (retrans >= maxRetrans && t > tRetrans) return tRetrans;
  if (index === TCP_RST_SET) return timeouts[TCP_CONNTRACK_CLOSE];
  if (seenFlags & IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED && t > tUnack) return tUnack;
  if (lastWin === 0 && t > tRetrans) return tRetrans;
  return t;
}

/** tcp_new: validity and initial window state of the first packet of an unconfirmed ct. */
function tcpNew(
  ctx: CtContext,
  p: Int32Array,
  base: number,
  ct: number,
  pkt: PacketBatch,
  i: number,
  index: number,
  end: number,
): boolean {
  const newState = tcpTransition(IP_CT_DIR_ORIGINAL, index, TCP_CONNTRACK_NONE);
  if (newState >= sIV) return false; // "invalid new"
  const win = pkt.win[i];
  if (newState === sSS) {
    p.fill(0, base, base + PROTO_WORDS);
    p[base + TD_END] = end;
    p[base + TD_MAXWIN] = win === 0 ? 1 : win;
    p[base + TD_MAXEND] = end;
    tcpOptions(p, base, pkt, i);
  } else if (!ctx.settings.tcpLoose) {
    return false; // don't pick up connections
  } else {
    // Mid-stream pickup: history lost; assume SACK and check windows liberally (window scaling unknown).
    p.fill(0, base, base + PROTO_WORDS);
    p[base + TD_END] = end;
    const maxwin = win === 0 ? 1 : win;
    p[base + TD_MAXWIN] = maxwin;
    p[base + TD_MAXEND] = (end + maxwin) | 0;
    p[base + TD_FLAGS] = IP_CT_TCP_FLAG_SACK_PERM | IP_CT_TCP_FLAG_BE_LIBERAL;
    p[base + TCP_W_SEEN + TD_FLAGS] = IP_CT_TCP_FLAG_SACK_PERM | IP_CT_TCP_FLAG_BE_LIBERAL;
  }
  ctx.store.state[ct] = TCP_CONNTRACK_NONE; // part of the kernel's memset
  p[base + TCP_W_LAST_INDEX] = TCP_NONE_SET;
  return true;
}

/** nf_tcp_handle_invalid: an out-of-window FIN/RST answering the peer's FIN/RST shortens an assured entry. */
function tcpHandleInvalid(
  ctx: CtContext,
  p: Int32Array,
  base: number,
  ct: number,
  dir: number,
  index: number,
): void {
  const store = ctx.store;
  const status = store.statusOf(ct);
  if (!(status & IPS_ASSURED) || status & IPS_FIXED_TIMEOUT) return;
  if (index !== TCP_RST_SET && index !== TCP_FIN_SET) return;
  const lastIndex = p[base + TCP_W_LAST_INDEX];
  if (p[base + TCP_W_LAST_DIR] !== dir && (lastIndex === TCP_FIN_SET || lastIndex === TCP_RST_SET)) {
    const rem = (store.timeoutOf(ct) - ctx.now) | 0; // nf_ct_expires
    const expires = Math.max(rem, 0);
    if (expires < 120 * ctx.settings.hz) return;
    const timeout = ctx.settings.tcpTimeouts[TCP_CONNTRACK_UNACK];
    // Confirmed (ASSURED) and not FIXED_TIMEOUT: refresh writes now + timeout like WRITE_ONCE(ct->timeout).
    if (expires > timeout) ctx.refresh(ct, timeout);
  } else {
    p[base + TCP_W_LAST_INDEX] = index;
    p[base + TCP_W_LAST_DIR] = dir;
  }
}

/** nf_conntrack_tcp_packet. */
function tcpPacket(
  ctx: CtContext,
  ct: number,
  pkt: PacketBatch,
  i: number,
  dir: Dir,
  _ctinfo: number,
): Verdict {
  const store = ctx.store;
  const settings = ctx.settings;
  const flags = pkt.tcpFlags[i];
  const l4len = pkt.l4len[i];
  const doff4 = pkt.tcpDoff[i] * 4;

  // tcp_error: truncated/malformed header, bad checksum (all packets are at PRE_ROUTING), bad flags.
  if (l4len < 20 || doff4 < 20 || l4len < doff4) return V_INVALID;
  if (settings.checksum && pkt.l4flags[i] & L4_CSUM_BAD) return V_INVALID;
  if (!tcpFlagsValid(flags)) return V_INVALID;

  const p = store.protoI;
  const base = ct * PROTO_WORDS;
  const seq = pkt.seq[i] | 0;
  const ackSeq = pkt.ack[i] | 0;
  // segment_seq_plus_len: seq + payload + SYN + FIN
  const end = (seq + (l4len - doff4) + (flags & TH_SYN ? 1 : 0) + (flags & TH_FIN ? 1 : 0)) | 0;
  const index = getConntrackIndex(flags);

  if (!(store.statusOf(ct) & IPS_CONFIRMED) && !tcpNew(ctx, p, base, ct, pkt, i, index, end)) {
    return V_INVALID;
  }

  const state = store.state[ct]; // ct->proto.tcp.state before this packet
  let oldState = state;
  let newState = tcpTransition(dir, index, oldState);
  const sd = base + dir * TCP_W_SEEN;
  const rd = base + (dir ^ 1) * TCP_W_SEEN;
  let inWindow = false; // "goto in_window": skip tcp_in_window

  let ignored = newState === sIG;
  if (newState === sSS && oldState >= sTW) {
    // SYN in TIME_WAIT/CLOSE: reopen when someone closed (FIN) or this side reset it.
    if (
      (p[sd + TD_FLAGS] | p[rd + TD_FLAGS]) & IP_CT_TCP_FLAG_CLOSE_INIT ||
      (p[base + TCP_W_LAST_DIR] === dir && p[base + TCP_W_LAST_INDEX] === TCP_RST_SET)
    ) {
      ctx.kill(ct);
      return V_REPEAT;
    }
    ignored = true; // fallthrough to the IGNORE case
  }

  if (ignored) {
    if (
      index === TCP_SYNACK_SET &&
      p[base + TCP_W_LAST_INDEX] === TCP_SYN_SET &&
      p[base + TCP_W_LAST_DIR] !== dir &&
      ackSeq === p[base + TCP_W_LAST_END]
    ) {
      // This SYN/ACK answers a SYN we ignored: client and server are in sync, we are not. Resync from
      // the annotated SYN.
      oldState = sSS;
      newState = sSR;
      const ld = base + p[base + TCP_W_LAST_DIR] * TCP_W_SEEN;
      const lastEnd = p[base + TCP_W_LAST_END];
      const lastWin = p[base + TCP_W_LAST_WIN];
      p[ld + TD_END] = lastEnd;
      p[ld + TD_MAXEND] = lastEnd;
      p[ld + TD_MAXWIN] = lastWin === 0 ? 1 : lastWin;
      p[ld + TD_SCALE] = p[base + TCP_W_LAST_WSCALE];
      p[base + TCP_W_LAST_FLAGS] = p[base + TCP_W_LAST_FLAGS] & ~IP_CT_EXP_CHALLENGE_ACK;
      p[ld + TD_FLAGS] = p[base + TCP_W_LAST_FLAGS];
      tcpStateReset(p, sd);
    } else {
      // Annotate and let it pass without state change or refresh.
      p[base + TCP_W_LAST_INDEX] = index;
      p[base + TCP_W_LAST_DIR] = dir;
      p[base + TCP_W_LAST_SEQ] = seq;
      p[base + TCP_W_LAST_END] = end;
      p[base + TCP_W_LAST_WIN] = pkt.win[i];
      if (index === TCP_SYN_SET && dir === IP_CT_DIR_ORIGINAL) {
        // Remember the SYN's options for a SYN/ACK resync; its RFC 5961 challenge ACK must not close LAST_ACK.
        let lastFlags = 0;
        let lastWscale = 0;
        if (pkt.tcpDoff[i] > 5) {
          const o = pkt.tcpOpt[i];
          if (o & TCPOPT_WSCALE) {
            const w = pkt.wscale[i];
            lastFlags |= IP_CT_TCP_FLAG_WINDOW_SCALE;
            lastWscale = Math.min(w, TCP_MAX_WSCALE);
          }
          if (o & TCPOPT_SACK_PERM) lastFlags |= IP_CT_TCP_FLAG_SACK_PERM;
        }
        if (oldState === sLA) lastFlags |= IP_CT_EXP_CHALLENGE_ACK;
        p[base + TCP_W_LAST_FLAGS] = lastFlags;
        p[base + TCP_W_LAST_WSCALE] = lastWscale;
      }
      // Possible challenge ACK replying to a SYN.
      if (oldState === sSS && index === TCP_ACK_SET && dir === IP_CT_DIR_REPLY)
        p[base + TCP_W_LAST_ACK] = ackSeq;
      return V_ACCEPT;
    }
  } else if (newState === sIV) {
    return V_INVALID; // (the synproxy keep-alive exception is not modelled: no synproxy)
  } else if (newState === sTW) {
    if (
      oldState === sLA &&
      index === TCP_ACK_SET &&
      p[base + TCP_W_LAST_DIR] !== dir &&
      p[base + TCP_W_LAST_INDEX] === TCP_SYN_SET &&
      p[base + TCP_W_LAST_FLAGS] & IP_CT_EXP_CHALLENGE_ACK
    ) {
      // RFC 5961 challenge ACK: it does not ACK the last FIN.
      p[base + TCP_W_LAST_FLAGS] = p[base + TCP_W_LAST_FLAGS] & ~IP_CT_EXP_CHALLENGE_ACK;
      return V_ACCEPT;
    }
  } else if (newState === sS2) {
    p[base + TCP_W_LAST_FLAGS] = p[base + TCP_W_LAST_FLAGS] | IP_CT_TCP_SIMULTANEOUS_OPEN;
  } else if (newState === sSR) {
    if (
      dir === IP_CT_DIR_REPLY &&
      index === TCP_ACK_SET &&
      p[base + TCP_W_LAST_FLAGS] & IP_CT_TCP_SIMULTANEOUS_OPEN
    ) {
      newState = sES;
    }
  } else if (newState === sCL && index === TCP_RST_SET) {
    if (tcpCanEarlyDropState(state)) {
      // Closing: the tuple may already be reused, skip validation.
      inWindow = true;
    } else {
      let more = true; // kernel: "break" out of the switch sets this false
      const lastIndex = p[base + TCP_W_LAST_INDEX];
      if (p[rd + TD_FLAGS] & IP_CT_TCP_FLAG_MAXACK_SET && lastIndex !== TCP_SYN_SET) {
        const established = state === sES && (store.statusOf(ct) & IPS_ASSURED) !== 0;
        const maxack = p[rd + TD_MAXACK];
        if (seq === 0 && !established) {
          more = false; // likely answers a SYN we let through
        } else if (before(seq, maxack) && !settings.tcpIgnoreInvalidRst) {
          return V_INVALID; // "invalid rst"
        } else if (!established || seq === maxack) {
          more = false;
        } else if (
          lastIndex === TCP_ACK_SET &&
          p[base + TCP_W_LAST_DIR] === dir &&
          seq === p[base + TCP_W_LAST_END]
        ) {
          more = false; // RST right after this side's data
        } else {
          newState = oldState; // inexact RST seq: keep the state, allow a challenge ACK
        }
      }
      if (more) {
        const status = store.statusOf(ct);
        if (
          ((status & IPS_SEEN_REPLY && lastIndex === TCP_SYN_SET) ||
            (!(status & IPS_ASSURED) && lastIndex === TCP_ACK_SET)) &&
          ackSeq === p[base + TCP_W_LAST_END]
        ) {
          inWindow = true; // RST to a SYN or ACK we let through
        } else if (
          oldState === sSS &&
          lastIndex === TCP_ACK_SET &&
          p[base + TCP_W_LAST_DIR] === IP_CT_DIR_REPLY &&
          seq === p[base + TCP_W_LAST_ACK]
        ) {
          inWindow = true; // reset in response to a challenge ACK we let through
        }
      }
    }
  }

  if (!inWindow) {
    const res = tcpInWindow(p, base, dir, index, state, pkt, i, flags, seq, end, settings.tcpBeLiberal);
    if (res === NFCT_TCP_IGNORE) return V_ACCEPT;
    if (res === NFCT_TCP_INVALID) {
      tcpHandleInvalid(ctx, p, base, ct, dir, index);
      return V_INVALID;
    }
  }

  // From now on the packet is in window.
  p[base + TCP_W_LAST_INDEX] = index;
  p[base + TCP_W_LAST_DIR] = dir;
  store.setState(ct, newState);
  if (oldState !== newState && newState === TCP_CONNTRACK_FIN_WAIT) {
    p[sd + TD_FLAGS] = p[sd + TD_FLAGS] | IP_CT_TCP_FLAG_CLOSE_INIT;
  }

  const timeouts = settings.tcpTimeouts;
  let timeout = tcpChooseTimeout(
    timeouts,
    settings.tcpMaxRetrans,
    p[base + TCP_W_RETRANS],
    index,
    newState,
    p[base + TD_FLAGS] | p[base + TCP_W_SEEN + TD_FLAGS],
    p[base + TCP_W_LAST_WIN],
  );

  const status = store.statusOf(ct);
  if (!(status & IPS_SEEN_REPLY)) {
    if (flags & TH_RST) {
      // Only reply is a RST: not an established connection, delete it now.
      ctx.kill(ct);
      return V_ACCEPT;
    }
    // Do not renew the timeout on a SYN retransmit (port reuse would keep the entry alive forever).
    if (index === TCP_SYN_SET && oldState === sSS) return V_ACCEPT;
    // ESTABLISHED without SEEN_REPLY (pickup): avoid the large timeout.
    const unack = timeouts[TCP_CONNTRACK_UNACK];
    if (newState === sES && timeout > unack) timeout = unack;
  } else if (!(status & IPS_ASSURED) && (oldState === sSR || oldState === sES) && newState === sES) {
    store.setStatus(ct, status | IPS_ASSURED);
  }
  ctx.refresh(ct, timeout);
  return V_ACCEPT;
}

export const tcpTracker: L4Tracker = {
  protonum: 6,
  packet: tcpPacket,
  canEarlyDrop(store: CtStore, ct: number): boolean {
    return tcpCanEarlyDropState(store.state[ct]);
  },
  stateName(store: CtStore, ct: number): string | null {
    return TCP_STATE_NAMES[store.state[ct]] ?? null;
  },
};
