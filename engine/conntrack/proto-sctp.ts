/**
 * SCTP tracker: nf_conntrack_sctp_packet and helpers (net/netfilter/nf_conntrack_proto_sctp.c, 6.x incl.
 * the 2026 "skip recording stale or retransmitted INIT" fix). Transitions are the data in sctp-states.ts.
 *
 * Per-entry words from store.protoOff(ct) (struct ip_ct_sctp; the state is store.state[ct]):
 *   SCTP_W_VTAG (0, 1): vtag[IP_CT_DIR_ORIGINAL], vtag[IP_CT_DIR_REPLY] (as the decoder reports x0/x1).
 *   SCTP_W_INIT (2, 3): init[ORIGINAL], init[REPLY] (0/1: an INIT was seen in that direction).
 *   SCTP_W_FLAGS (4): SCTP_FLAG_HEARTBEAT_VTAG_FAILED.
 *   SCTP_W_LAST_DIR (5): last_dir (direction of the HEARTBEAT whose vtag check failed).
 *
 * Decoder contract used (packet-batch.ts): x0 = common-header vtag, x1 = initiate tag of the INIT/INIT_ACK,
 * chunks/chunkFlags = first SCTP_MAX_CHUNKS chunk types/flags, nchunks = total count. L4_HDR_OK must be
 * clear when the 12-byte common header, a chunk header, or an INIT/INIT_ACK's initiate header cannot be
 * read, or when a chunk has length 0 (all of these are -NF_ACCEPT in the kernel, like a short packet).
 *
 * Packets with more than SCTP_MAX_CHUNKS chunks: the chunks past the 8th are unknown to us; they are
 * treated as chunk types without a table row (DATA, SACK, ... — what bundles of that size carry): they keep
 * the state, set no bit in the chunk map, and make sctp_new fail (as DATA would).
 */

import type { PacketBatch } from "../decode/packet-batch.js";
import { L4_CSUM_BAD, L4_HDR_OK, SCTP_MAX_CHUNKS } from "../decode/packet-batch.js";
import { type CtStore, PROTO_WORDS } from "./ct-store.js";
import {
  type CtContext,
  type Dir,
  IP_CT_DIR_ORIGINAL,
  IP_CT_DIR_REPLY,
  IPS_ASSURED,
  IPS_CONFIRMED,
  type L4Tracker,
  V_ACCEPT,
  V_INVALID,
  type Verdict,
} from "./l4proto.js";
import {
  SCTP_CHUNK_FLAG_T,
  SCTP_CID_ABORT,
  SCTP_CID_COOKIE_ACK,
  SCTP_CID_COOKIE_ECHO,
  SCTP_CID_DATA,
  SCTP_CID_HEARTBEAT,
  SCTP_CID_HEARTBEAT_ACK,
  SCTP_CID_INIT,
  SCTP_CID_INIT_ACK,
  SCTP_CID_SHUTDOWN_ACK,
  SCTP_CID_SHUTDOWN_COMPLETE,
  SCTP_EARLY_DROP_STATES,
  SCTP_INVALID,
  SCTP_STATE_NAMES,
  sctpNewState,
} from "./sctp-states.js";
import {
  SCTP_CONNTRACK_CLOSED,
  SCTP_CONNTRACK_ESTABLISHED,
  SCTP_CONNTRACK_MAX,
  SCTP_CONNTRACK_NONE,
} from "./settings.js";

export const SCTP_W_VTAG = 0;
export const SCTP_W_INIT = 2;
export const SCTP_W_FLAGS = 4;
export const SCTP_W_LAST_DIR = 5;

const SCTP_FLAG_HEARTBEAT_VTAG_FAILED = 1;

/** Chunk-map bit for a chunk type (the kernel's 256-bit map; only types < 32 are ever tested). */
const bit = (type: number): number => (type < 32 ? 1 << type : 0);

/** Chunks that exempt the packet from the common vtag check (Sec 8.5 / 8.5.1 special cases). */
const VTAG_EXEMPT =
  bit(SCTP_CID_INIT) |
  bit(SCTP_CID_SHUTDOWN_COMPLETE) |
  bit(SCTP_CID_COOKIE_ECHO) |
  bit(SCTP_CID_ABORT) |
  bit(SCTP_CID_SHUTDOWN_ACK) |
  bit(SCTP_CID_HEARTBEAT) |
  bit(SCTP_CID_HEARTBEAT_ACK);

/** Chunks an out-of-the-blue packet may not carry to create an entry (Sec 8.4). */
const OOTB_DISCARD = bit(SCTP_CID_ABORT) | bit(SCTP_CID_SHUTDOWN_COMPLETE) | bit(SCTP_CID_COOKIE_ACK);

const earlyDrop = new Uint8Array(256);
for (const s of SCTP_EARLY_DROP_STATES) earlyDrop[s] = 1;

/**
 * do_basic_checks: COOKIE_ECHO/COOKIE_ACK only as first chunk, INIT/INIT_ACK/SHUTDOWN_COMPLETE only alone,
 * at least one chunk. Returns the chunk map (bit per type < 32), or -1 when invalid.
 */
function doBasicChecks(pkt: PacketBatch, i: number): number {
  const total = pkt.nchunks[i]!;
  if (total === 0) return -1;
  const n = Math.min(total, SCTP_MAX_CHUNKS);
  const base = i * SCTP_MAX_CHUNKS;
  let map = 0;
  let flag = false;
  for (let k = 0; k < n; k++) {
    const type = pkt.chunks[base + k]!;
    if (type === SCTP_CID_INIT || type === SCTP_CID_INIT_ACK || type === SCTP_CID_SHUTDOWN_COMPLETE)
      flag = true;
    if ((type === SCTP_CID_COOKIE_ACK || type === SCTP_CID_COOKIE_ECHO || flag) && k !== 0) return -1;
    map |= bit(type);
  }
  return map >>> 0;
}

/** sctp_new: may this packet create an entry? Sets the initial vtags. */
function sctpNew(store: CtStore, ct: number, pkt: PacketBatch, i: number): boolean {
  const w = ct * PROTO_WORDS;
  // memset(&ct->proto.sctp, 0, ...)
  store.proto.fill(0, w, w + SCTP_W_LAST_DIR + 1);
  const total = pkt.nchunks[i]!;
  if (total > SCTP_MAX_CHUNKS) return false; // unseen chunks count as row-less (DATA-like): invalid new
  const base = i * SCTP_MAX_CHUNKS;
  const vtag = pkt.x0[i]!;
  for (let k = 0; k < total; k++) {
    const type = pkt.chunks[base + k]!;
    const ns = sctpNewState(IP_CT_DIR_ORIGINAL, SCTP_CONNTRACK_NONE, type);
    if (ns === SCTP_CONNTRACK_NONE || ns === SCTP_INVALID) return false;
    if (type === SCTP_CID_INIT) {
      if (vtag !== 0) return false; // Sec 8.5.1 (A)
      store.proto[w + SCTP_W_VTAG + IP_CT_DIR_REPLY] = pkt.x1[i]!;
    } else if (type === SCTP_CID_HEARTBEAT) {
      store.proto[w + SCTP_W_VTAG + IP_CT_DIR_ORIGINAL] = vtag; // secondary path pickup
    } else {
      // OOTB SHUTDOWN_ACK etc.: expect the answer (SHUTDOWN_COMPLETE or ABORT) with this tag.
      store.proto[w + SCTP_W_VTAG + IP_CT_DIR_REPLY] = vtag;
    }
    store.state[ct] = SCTP_CONNTRACK_NONE;
  }
  return true;
}

/** nf_conntrack_sctp_packet */
function sctpPacket(
  ctx: CtContext,
  ct: number,
  pkt: PacketBatch,
  i: number,
  dir: Dir,
  _ctinfo: number,
): Verdict {
  const fl = pkt.l4flags[i]!;
  // sctp_error: short packet, bad CRC32c (nf_conntrack_checksum=1).
  if ((fl & L4_HDR_OK) === 0) return V_INVALID;
  if (ctx.settings.checksum && (fl & L4_CSUM_BAD) !== 0) return V_INVALID;
  const map = doBasicChecks(pkt, i);
  if (map < 0) return V_INVALID;

  const store = ctx.store;
  const confirmed = (store.statusOf(ct) & IPS_CONFIRMED) !== 0;
  if (!confirmed) {
    if ((map & OOTB_DISCARD) !== 0) return V_INVALID;
    if (!sctpNew(store, ct, pkt, i)) return V_INVALID;
  }

  const w = ct * PROTO_WORDS;
  const p = store.proto;
  const rdir = dir ^ 1;
  const vDir = w + SCTP_W_VTAG + dir;
  const vRev = w + SCTP_W_VTAG + rdir;
  const iDir = w + SCTP_W_INIT + dir;
  const iRev = w + SCTP_W_INIT + rdir;
  const vtag = pkt.x0[i]!;
  const initTag = pkt.x1[i]!;

  // Verification tag check (Sec 8.5), unless a chunk with its own rule is present.
  if ((map & VTAG_EXEMPT) === 0 && vtag !== p[vDir]) return V_INVALID;

  const total = pkt.nchunks[i]!;
  const n = Math.min(total, SCTP_MAX_CHUNKS);
  const base = i * SCTP_MAX_CHUNKS;
  const hasData = (map & bit(SCTP_CID_DATA)) !== 0;
  let ignore = false;
  let newState = SCTP_CONNTRACK_NONE;
  for (let k = 0; k < n; k++) {
    const type = pkt.chunks[base + k]!;
    // Special cases of the verification tag check (Sec 8.5.1).
    if (type === SCTP_CID_INIT) {
      if (vtag !== 0) return V_INVALID; // (A)
    } else if (type === SCTP_CID_ABORT || type === SCTP_CID_SHUTDOWN_COMPLETE) {
      // (B)/(C): own vtag with T clear, the peer's with T set.
      const t = (pkt.chunkFlags[base + k]! & SCTP_CHUNK_FLAG_T) !== 0;
      if (vtag !== (t ? p[vRev] : p[vDir])) return V_INVALID;
    } else if (type === SCTP_CID_COOKIE_ECHO) {
      if (vtag !== p[vDir]) return V_INVALID; // (D)
    } else if (type === SCTP_CID_COOKIE_ACK) {
      p[iDir] = 0;
      p[iRev] = 0;
    } else if (type === SCTP_CID_HEARTBEAT) {
      if (p[vDir] === 0) {
        p[vDir] = vtag;
      } else if (vtag !== p[vDir]) {
        if (hasData || ignore) return V_INVALID;
        // Maybe a new path/association: let it through once, unrefreshed, and remember the direction.
        p[w + SCTP_W_FLAGS] = p[w + SCTP_W_FLAGS]! | SCTP_FLAG_HEARTBEAT_VTAG_FAILED;
        p[w + SCTP_W_LAST_DIR] = dir;
        ignore = true;
        continue;
      } else if ((p[w + SCTP_W_FLAGS]! & SCTP_FLAG_HEARTBEAT_VTAG_FAILED) !== 0) {
        p[w + SCTP_W_FLAGS] = p[w + SCTP_W_FLAGS]! & ~SCTP_FLAG_HEARTBEAT_VTAG_FAILED;
      }
    } else if (type === SCTP_CID_HEARTBEAT_ACK) {
      if (p[vDir] === 0) {
        p[vDir] = vtag;
      } else if (vtag !== p[vDir]) {
        if (hasData || ignore) return V_INVALID;
        const failed = (p[w + SCTP_W_FLAGS]! & SCTP_FLAG_HEARTBEAT_VTAG_FAILED) !== 0;
        if (!failed || p[w + SCTP_W_LAST_DIR] === dir) return V_INVALID;
        // The answer to the mismatching HEARTBEAT: adopt the new tags.
        p[w + SCTP_W_FLAGS] = p[w + SCTP_W_FLAGS]! & ~SCTP_FLAG_HEARTBEAT_VTAG_FAILED;
        p[vDir] = vtag;
        p[vRev] = 0;
      } else if ((p[w + SCTP_W_FLAGS]! & SCTP_FLAG_HEARTBEAT_VTAG_FAILED) !== 0) {
        p[w + SCTP_W_FLAGS] = p[w + SCTP_W_FLAGS]! & ~SCTP_FLAG_HEARTBEAT_VTAG_FAILED;
      }
    }

    const oldState = store.state[ct]!;
    newState = sctpNewState(dir, oldState, type);
    if (newState === SCTP_INVALID) return V_INVALID;

    // INIT / INIT_ACK: note down the peer's vtag.
    if (type === SCTP_CID_INIT) {
      // Do not record an INIT whose tag matches the peer vtag (stale or retransmitted INIT).
      if (oldState === SCTP_CONNTRACK_NONE || p[vRev] !== initTag) {
        if (p[iDir] !== 0 && p[iRev] !== 0) p[iRev] = 0;
        p[iDir] = 1;
      }
      p[vRev] = initTag;
      // Do not renew the timeout on INIT retransmits: port reuse cannot keep the entry alive forever.
      if (newState === SCTP_CONNTRACK_CLOSED && oldState === SCTP_CONNTRACK_CLOSED && confirmed)
        ignore = true;
    } else if (type === SCTP_CID_INIT_ACK) {
      const v = p[vRev]!;
      if (p[iRev] === 0 && v !== 0 && v !== initTag) return V_INVALID;
      if (p[iDir] !== 0 && p[iRev] !== 0 && v !== initTag) return V_INVALID; // collision
      p[vRev] = initTag;
    }

    store.setState(ct, newState);
    if (oldState !== newState && newState === SCTP_CONNTRACK_ESTABLISHED) {
      store.setStatus(ct, store.statusOf(ct) | IPS_ASSURED);
    }
  }

  // Allow, but do not refresh.
  if (ignore) return V_ACCEPT;
  // Unseen tail chunks (past SCTP_MAX_CHUNKS) keep the state: the last chunk's new state is the current one.
  if (total > n) newState = store.state[ct]!;
  const timeouts = ctx.settings.sctpTimeouts;
  // timeouts[NONE] is initialised to the CLOSED timeout by nf_conntrack_sctp_init_net.
  ctx.refresh(ct, newState === SCTP_CONNTRACK_NONE ? timeouts[SCTP_CONNTRACK_CLOSED]! : timeouts[newState]!);
  return V_ACCEPT;
}

export const sctpTracker: L4Tracker = {
  protonum: 132,
  packet: sctpPacket,
  /** sctp_can_early_drop */
  canEarlyDrop: (store: CtStore, ct: number): boolean => earlyDrop[store.state[ct]!] === 1,
  /** sctp_print_conntrack */
  stateName: (store: CtStore, ct: number): string | null => {
    const s = store.state[ct]!;
    return s < SCTP_CONNTRACK_MAX ? SCTP_STATE_NAMES[s]! : null;
  },
};
