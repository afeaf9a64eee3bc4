/**
 * SCTP conntrack tables as data: sctp_conntracks[dir][chunk row][state] from
 * net/netfilter/nf_conntrack_proto_sctp.c (6.x: HEARTBEAT_ACKED merged into ESTABLISHED, 2023; INIT in
 * SHUTDOWN_SENT/RECD -> CLOSED and 3 s shutdown timeouts, 2023; COOKIE_ECHO/ACK collision fixes, 2023),
 * the state names conntrack prints, and the chunk-type -> row map of sctp_new_state().
 */
import {
  SCTP_CONNTRACK_CLOSED,
  SCTP_CONNTRACK_COOKIE_ECHOED,
  SCTP_CONNTRACK_COOKIE_WAIT,
  SCTP_CONNTRACK_ESTABLISHED,
  SCTP_CONNTRACK_HEARTBEAT_SENT,
  SCTP_CONNTRACK_MAX,
  SCTP_CONNTRACK_SHUTDOWN_ACK_SENT,
  SCTP_CONNTRACK_SHUTDOWN_RECD,
  SCTP_CONNTRACK_SHUTDOWN_SENT,
} from "./settings.js";

/** sctp_conntrack_names[] (what /proc/net/nf_conntrack and conntrack -L print). */
export const SCTP_STATE_NAMES: readonly string[] = [
  "NONE",
  "CLOSED",
  "COOKIE_WAIT",
  "COOKIE_ECHOED",
  "ESTABLISHED",
  "SHUTDOWN_SENT",
  "SHUTDOWN_RECD",
  "SHUTDOWN_ACK_SENT",
  "HEARTBEAT_SENT",
];

/** SCTP chunk types (include/linux/sctp.h, enum sctp_cid). */
export const SCTP_CID_DATA = 0;
export const SCTP_CID_INIT = 1;
export const SCTP_CID_INIT_ACK = 2;
export const SCTP_CID_SACK = 3;
export const SCTP_CID_HEARTBEAT = 4;
export const SCTP_CID_HEARTBEAT_ACK = 5;
export const SCTP_CID_ABORT = 6;
export const SCTP_CID_SHUTDOWN = 7;
export const SCTP_CID_SHUTDOWN_ACK = 8;
export const SCTP_CID_ERROR = 9;
export const SCTP_CID_COOKIE_ECHO = 10;
export const SCTP_CID_COOKIE_ACK = 11;
export const SCTP_CID_SHUTDOWN_COMPLETE = 14;

/** The T bit of ABORT / SHUTDOWN_COMPLETE chunk flags (SCTP_CHUNK_FLAG_T). */
export const SCTP_CHUNK_FLAG_T = 0x01;

/** sctp_new_state(): chunk type -> table row, in row order. Other chunk types leave the state unchanged. */
export const SCTP_CHUNK_ROWS: readonly number[] = [
  SCTP_CID_INIT,
  SCTP_CID_INIT_ACK,
  SCTP_CID_ABORT,
  SCTP_CID_SHUTDOWN,
  SCTP_CID_SHUTDOWN_ACK,
  SCTP_CID_ERROR,
  SCTP_CID_COOKIE_ECHO,
  SCTP_CID_COOKIE_ACK,
  SCTP_CID_SHUTDOWN_COMPLETE,
  SCTP_CID_HEARTBEAT,
  SCTP_CID_HEARTBEAT_ACK,
];

const sCL = SCTP_CONNTRACK_CLOSED;
const sCW = SCTP_CONNTRACK_COOKIE_WAIT;
const sCE = SCTP_CONNTRACK_COOKIE_ECHOED;
const sES = SCTP_CONNTRACK_ESTABLISHED;
const sSS = SCTP_CONNTRACK_SHUTDOWN_SENT;
const sSR = SCTP_CONNTRACK_SHUTDOWN_RECD;
const sSA = SCTP_CONNTRACK_SHUTDOWN_ACK_SENT;
const sHS = SCTP_CONNTRACK_HEARTBEAT_SENT;
/** Invalid transition (the kernel's sIV = SCTP_CONNTRACK_MAX). */
export const SCTP_INVALID = SCTP_CONNTRACK_MAX;
const sIV = SCTP_INVALID;

/** sctp_conntracks[dir][row][old state] -> new state. Columns: sNO sCL sCW sCE sES sSS sSR sSA sHS. */
export const SCTP_CONNTRACKS: readonly (readonly (readonly number[])[])[] = [
  // ORIGINAL
  [
    /* init          */ [sCL, sCL, sCW, sCE, sES, sCL, sCL, sSA, sCW],
    /* init_ack      */ [sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sCL],
    /* abort         */ [sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
    /* shutdown      */ [sCL, sCL, sCW, sCE, sSS, sSS, sSR, sSA, sCL],
    /* shutdown_ack  */ [sSA, sCL, sCW, sCE, sES, sSA, sSA, sSA, sSA],
    /* error         */ [sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sCL],
    /* cookie_echo   */ [sCL, sCL, sCE, sCE, sES, sSS, sSR, sSA, sCL],
    /* cookie_ack    */ [sCL, sCL, sCW, sES, sES, sSS, sSR, sSA, sCL],
    /* shutdown_comp */ [sCL, sCL, sCW, sCE, sES, sSS, sSR, sCL, sCL],
    /* heartbeat     */ [sHS, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS],
    /* heartbeat_ack */ [sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS],
  ],
  // REPLY
  [
    /* init          */ [sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sIV],
    /* init_ack      */ [sIV, sCW, sCW, sCE, sES, sSS, sSR, sSA, sIV],
    /* abort         */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sIV],
    /* shutdown      */ [sIV, sCL, sCW, sCE, sSR, sSS, sSR, sSA, sIV],
    /* shutdown_ack  */ [sIV, sCL, sCW, sCE, sES, sSA, sSA, sSA, sIV],
    /* error         */ [sIV, sCL, sCW, sCL, sES, sSS, sSR, sSA, sIV],
    /* cookie_echo   */ [sIV, sCL, sCE, sCE, sES, sSS, sSR, sSA, sIV],
    /* cookie_ack    */ [sIV, sCL, sCW, sES, sES, sSS, sSR, sSA, sIV],
    /* shutdown_comp */ [sIV, sCL, sCW, sCE, sES, sSS, sSR, sCL, sIV],
    /* heartbeat     */ [sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS],
    /* heartbeat_ack */ [sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sES],
  ],
];

/** sctp_can_early_drop(): states gc_worker may evict even when ASSURED. */
export const SCTP_EARLY_DROP_STATES: readonly number[] = [
  SCTP_CONNTRACK_SHUTDOWN_SENT,
  SCTP_CONNTRACK_SHUTDOWN_RECD,
  SCTP_CONNTRACK_SHUTDOWN_ACK_SENT,
];

const NSTATES = SCTP_CONNTRACK_MAX;

/** Flat lookup built once from the table: [dir][chunk type 0..255][state] -> new state (no bounds branches). */
const flat = new Uint8Array(2 * 256 * NSTATES);
for (let dir = 0; dir < 2; dir++) {
  for (let type = 0; type < 256; type++) {
    const row = SCTP_CHUNK_ROWS.indexOf(type);
    for (let st = 0; st < NSTATES; st++) {
      // Chunks without a row (DATA, SACK, ...) keep the current state.
      flat[(dir * 256 + type) * NSTATES + st] = row < 0 ? st : SCTP_CONNTRACKS[dir]![row]![st]!;
    }
  }
}

/** sctp_new_state(dir, cur_state, chunk_type) */
export function sctpNewState(dir: number, curState: number, chunkType: number): number {
  return flat[(dir * 256 + (chunkType & 0xff)) * NSTATES + curState]!;
}
