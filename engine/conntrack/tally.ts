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
const IPS_ASSURED_BIT = 31 - Math.clz32(IPS_ASSURED);
const IPS_SEEN_REPLY_BIT = 31 - Math.clz32(IPS_SEEN_REPLY);

/** Tally vector layout (TALLY_LEN numbers). */
export const TALLY_LIVE = 0;
export const TALLY_EXPIRED = 1;
export const TALLY_ASSURED = 2;
export const TALLY_UNREPLIED = 3;
export const TALLY_PROTO = 4; // PROTO_NAMES.length groups
export const TALLY_TCP = TALLY_PROTO + PROTO_NAMES.length; // TCP_STATE_NAMES.length states
export const TALLY_LEN = TALLY_TCP + N_TCP;

/**
 * Counts of one pass by protocol group and protocol state (group * 256 + state): every entry adds to one
 * cell, so the loop has no data-dependent branch (a table's entries are in use, linked, expired, ASSURED
 * in no predictable order: branching on them cost a misprediction or two per entry).
 */
const cells = new Int32Array(PROTO_NAMES.length * 256);

/**
 * Writes the tally of the entries linked in `table` (what conntrack -L lists, expired ones included) at u32
 * jiffies `now` into v[at, at + TALLY_LEN). A TCP entry whose state is beyond the named states is counted
 * in its group only.
 */
export function tallyEntries(table: CtTable, now: number, v: Float64Array, at: number): void {
  const store = table.store;
  // One int32 view for every word read (status and timeout bits are the same; jdiff is int32 anyway).
  const hot = store.hotI;
  const l4proto = store.l4proto;
  const state = store.state;
  // Entries past the high-water mark were never allocated (unlinked, they add nothing): a pool doubled once
  // past nf_conntrack_max holds twice the entries ever in use.
  const n = table.highWater;
  const nowI = now | 0;
  cells.fill(0);
  let linked = 0;
  let expired = 0;
  let assured = 0;
  let seenReply = 0;
  for (let e = 0, h = 0; e < n; e++, h += HOT_WORDS) {
    // Free and unconfirmed entries are unlinked (prev = UNLINKED): w = 0 adds nothing.
    const w = hot[h + H_PREV] === UNLINKED ? 0 : 1;
    linked += w;
    expired += w & +(jdiff(hot[h + H_TIMEOUT]!, nowI) <= 0); // nf_ct_is_expired
    const status = hot[h + H_STATUS]!;
    assured += w & (status >>> IPS_ASSURED_BIT);
    seenReply += w & (status >>> IPS_SEEN_REPLY_BIT);
    cells[(PROTO_INDEX[l4proto[e]!]! << 8) | state[e]!]! += w;
  }
  v[at + TALLY_LIVE] = linked - expired;
  v[at + TALLY_EXPIRED] = expired;
  v[at + TALLY_ASSURED] = assured;
  v[at + TALLY_UNREPLIED] = linked - seenReply;
  for (let g = 0; g < PROTO_NAMES.length; g++) {
    let sum = 0;
    for (let k = g << 8; k < (g + 1) << 8; k++) sum += cells[k]!;
    v[at + TALLY_PROTO + g] = sum;
  }
  for (let k = 0; k < N_TCP; k++) v[at + TALLY_TCP + k] = cells[k]!; // group 0 = tcp
}
