/**
 * The table's entries counted by the marginals the stats timeline samples at every tick: live / expired
 * (not yet reaped), ASSURED, UNREPLIED, protocol group (as conntrack -L names them) and TCP state. One
 * sequential pass over the pool's columns, no callback per entry: a tick on a 262 144-entry table was a
 * closure call and four accessor calls per entry before.
 */
import { jdiff } from "./clock.js";
import { H_PREV, H_STATUS, H_TIMEOUT, HOT_WORDS } from "./ct-store.js";
import { IPS_ASSURED, IPS_SEEN_REPLY } from "./l4proto.js";
import { type CtTable, UNLINKED } from "./table.js";
import { TCP_STATE_NAMES } from "./tcp-states.js";

/** Protocol groups, as conntrack -L names them. */
export const PROTO_NAMES = ["tcp", "udp", "udplite", "icmp", "icmpv6", "gre", "sctp", "other"] as const;
/** Protocol number -> index into PROTO_NAMES. */
export const PROTO_INDEX = new Uint8Array(256).fill(7);
PROTO_INDEX[6] = 0;
PROTO_INDEX[17] = 1;
PROTO_INDEX[136] = 2;
PROTO_INDEX[1] = 3;
PROTO_INDEX[58] = 4;
PROTO_INDEX[47] = 5;
PROTO_INDEX[132] = 6;

const N_TCP = TCP_STATE_NAMES.length;

/** Tally vector layout (TALLY_LEN numbers). */
export const TALLY_LIVE = 0;
export const TALLY_EXPIRED = 1;
export const TALLY_ASSURED = 2;
export const TALLY_UNREPLIED = 3;
export const TALLY_PROTO = 4; // PROTO_NAMES.length groups
export const TALLY_TCP = TALLY_PROTO + PROTO_NAMES.length; // TCP_STATE_NAMES.length states
export const TALLY_LEN = TALLY_TCP + N_TCP;

/** Per-group and per-TCP-state counts of one pass (integer adds, copied into the caller's vector once). */
const groups = new Int32Array(PROTO_NAMES.length);
const tcpStates = new Int32Array(N_TCP);

/**
 * Writes the tally of the entries linked in `table` (what conntrack -L lists, expired ones included) at u32
 * jiffies `now` into v[at, at + TALLY_LEN). A TCP entry whose state is beyond the named states is counted
 * in its group only.
 */
export function tallyEntries(table: CtTable, now: number, v: Float64Array, at: number): void {
  const inUse = table.inUse;
  const store = table.store;
  const hot = store.hot;
  const hotI = store.hotI;
  const l4proto = store.l4proto;
  const state = store.state;
  groups.fill(0);
  tcpStates.fill(0);
  let live = 0;
  let expired = 0;
  let assured = 0;
  let unreplied = 0;
  for (let e = 0; e < inUse.length; e++) {
    // inUse (one byte per entry) skips free slots before the hot record is read.
    if (inUse[e] !== 1) continue;
    const h = e * HOT_WORDS;
    if (hotI[h + H_PREV] === UNLINKED) continue; // allocated, not confirmed (or dying)
    if (jdiff(hot[h + H_TIMEOUT]!, now) <= 0) expired++;
    else live++;
    const status = hot[h + H_STATUS]!;
    if ((status & IPS_ASSURED) !== 0) assured++;
    if ((status & IPS_SEEN_REPLY) === 0) unreplied++;
    const g = PROTO_INDEX[l4proto[e]!]!;
    groups[g]!++;
    if (g === 0) {
      const s = state[e]!;
      if (s < N_TCP) tcpStates[s]!++;
    }
  }
  v[at + TALLY_LIVE] = live;
  v[at + TALLY_EXPIRED] = expired;
  v[at + TALLY_ASSURED] = assured;
  v[at + TALLY_UNREPLIED] = unreplied;
  for (let g = 0; g < groups.length; g++) v[at + TALLY_PROTO + g] = groups[g]!;
  for (let s = 0; s < N_TCP; s++) v[at + TALLY_TCP + s] = tcpStates[s]!;
}
