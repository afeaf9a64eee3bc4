/**
 * TCP conntrack facts as data (net/netfilter/nf_conntrack_proto_tcp.c, 6.x): the state names conntrack -L
 * prints, the packet classes of get_conntrack_index, the transition table tcp_conntracks[dir][class][old],
 * the valid flag combinations of tcp_error, and the per-direction / last_flags bits of ip_ct_tcp.
 */
import { TH_ACK, TH_FIN, TH_RST, TH_SYN, TH_URG } from "../decode/packet-batch.js";
import {
  TCP_CONNTRACK_CLOSE as sCL,
  TCP_CONNTRACK_CLOSE_WAIT as sCW,
  TCP_CONNTRACK_ESTABLISHED as sES,
  TCP_CONNTRACK_FIN_WAIT as sFW,
  TCP_CONNTRACK_IGNORE as sIG,
  TCP_CONNTRACK_MAX as sIV,
  TCP_CONNTRACK_LAST_ACK as sLA,
  TCP_CONNTRACK_SYN_SENT2 as sS2,
  TCP_CONNTRACK_SYN_RECV as sSR,
  TCP_CONNTRACK_SYN_SENT as sSS,
  TCP_CONNTRACK_TIME_WAIT as sTW,
} from "./settings.js";

/** tcp_conntrack_names[]: index = TCP_CONNTRACK_* (0..9). */
export const TCP_STATE_NAMES: readonly string[] = [
  "NONE",
  "SYN_SENT",
  "SYN_RECV",
  "ESTABLISHED",
  "FIN_WAIT",
  "CLOSE_WAIT",
  "LAST_ACK",
  "TIME_WAIT",
  "CLOSE",
  "SYN_SENT2",
];

/** enum tcp_bit_set: packet class, the middle index of tcp_conntracks. */
export const TCP_SYN_SET = 0;
export const TCP_SYNACK_SET = 1;
export const TCP_FIN_SET = 2;
export const TCP_ACK_SET = 3;
export const TCP_RST_SET = 4;
export const TCP_NONE_SET = 5;
export const TCP_CLASS_NAMES: readonly string[] = ["SYN", "SYNACK", "FIN", "ACK", "RST", "NONE"];

/** Per-direction seen[].flags (include/uapi/linux/netfilter/nf_conntrack_tcp.h). */
export const IP_CT_TCP_FLAG_WINDOW_SCALE = 0x01;
export const IP_CT_TCP_FLAG_SACK_PERM = 0x02;
export const IP_CT_TCP_FLAG_CLOSE_INIT = 0x04;
export const IP_CT_TCP_FLAG_BE_LIBERAL = 0x08;
export const IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED = 0x10;
export const IP_CT_TCP_FLAG_MAXACK_SET = 0x20;
/** last_flags only. */
export const IP_CT_EXP_CHALLENGE_ACK = 0x40;
export const IP_CT_TCP_SIMULTANEOUS_OPEN = 0x80;

/** TCP_MAX_WSCALE: window-scale values above this are clamped (tcp_options). */
export const TCP_MAX_WSCALE = 14;
/** MAXACKWINCONST: floor of MAXACKWINDOW(sender). */
export const MAXACKWINCONST = 66000;

const N = sIV; // row length: the ten real states

/**
 * tcp_conntracks[dir][class][old] flattened: index (dir * 6 + class) * 10 + old.
 * Columns: sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2.
 */
// biome-ignore format: the transition table stays a table
export const TCP_CONNTRACKS: Uint8Array = Uint8Array.from([
  // ORIGINAL
  /* syn    */ sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2,
  /* synack */ sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR,
  /* fin    */ sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV,
  /* ack    */ sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV,
  /* rst    */ sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL,
  /* none   */ sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV,
  // REPLY
  /* syn    */ sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2,
  /* synack */ sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR,
  /* fin    */ sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV,
  /* ack    */ sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG,
  /* rst    */ sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL,
  /* none   */ sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV,
]);

/** tcp_conntracks[dir][cls][old]. */
export function tcpTransition(dir: number, cls: number, old: number): number {
  return TCP_CONNTRACKS[(dir * 6 + cls) * N + old];
}

/** get_conntrack_index: packet class from the flags byte (first match wins: RST, SYN, FIN, ACK). */
export function getConntrackIndex(flags: number): number {
  if (flags & TH_RST) return TCP_RST_SET;
  if (flags & TH_SYN) return flags & TH_ACK ? TCP_SYNACK_SET : TCP_SYN_SET;
  if (flags & TH_FIN) return TCP_FIN_SET;
  if (flags & TH_ACK) return TCP_ACK_SET;
  return TCP_NONE_SET;
}

/** Flag bits tcp_valid_flags is indexed by (PSH, ECE and CWR are masked out first). */
export const TCP_VALID_FLAGS_MASK = TH_FIN | TH_SYN | TH_RST | TH_ACK | TH_URG;

/** tcp_valid_flags[]: 1 where (flags & TCP_VALID_FLAGS_MASK) is an acceptable combination. */
export const TCP_VALID_FLAGS: Uint8Array = (() => {
  const t = new Uint8Array(TCP_VALID_FLAGS_MASK + 1);
  for (const f of [
    TH_SYN,
    TH_SYN | TH_URG,
    TH_SYN | TH_ACK,
    TH_RST,
    TH_RST | TH_ACK,
    TH_FIN | TH_ACK,
    TH_FIN | TH_ACK | TH_URG,
    TH_ACK,
    TH_ACK | TH_URG,
  ])
    t[f] = 1;
  return t;
})();

/** tcp_error's flag check: true when the combination (PSH/ECE/CWR ignored) is valid. */
export function tcpFlagsValid(flags: number): boolean {
  return TCP_VALID_FLAGS[flags & TCP_VALID_FLAGS_MASK] === 1;
}

/** tcp_can_early_drop: closing states GC may evict under pressure (and where RST skips validation). */
export function tcpCanEarlyDropState(state: number): boolean {
  return state === sFW || state === sLA || state === sTW || state === sCL || state === sCW;
}
