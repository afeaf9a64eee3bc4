/**
 * The table's entries counted by the marginals the stats timeline samples at every tick: live / expired
 * (not yet reaped), ASSURED, UNREPLIED, protocol group (as conntrack -L names them) and TCP state. All but
 * expiry are counts the store keeps as entries are linked, unlinked and change (CtStore.linkedTally); expiry
 * moves with time, so a tick makes one pass over the hot records for it (a pass that also counted the
 * rest cost 2.3x as much: 7.7 against 3.3 ns an entry on a 262 144-entry table).
 */
import { jdiff } from "./clock.js";
import { H_PREV, H_TIMEOUT, HOT_WORDS, UNLINKED } from "./ct-store.js";
import { PROTO_NAMES } from "./proto-groups.js";
import type { CtTable } from "./table.js";
import { TCP_STATE_NAMES } from "./tcp-states.js";

export { PROTO_INDEX, PROTO_NAMES } from "./proto-groups.js";

const N_TCP = TCP_STATE_NAMES.length;

/** Tally vector layout (TALLY_LEN numbers). */
export const TALLY_LIVE = 0;
export const TALLY_EXPIRED = 1;
export const TALLY_ASSURED = 2;
export const TALLY_UNREPLIED = 3;
export const TALLY_PROTO = 4; // PROTO_NAMES.length groups
export const TALLY_TCP = TALLY_PROTO + PROTO_NAMES.length; // TCP_STATE_NAMES.length states
export const TALLY_LEN = TALLY_TCP + N_TCP;

/**
 * Linked entries (what conntrack -L lists, expired ones included) whose timeout has passed at u32 jiffies
 * `now` (nf_ct_is_expired): one sequential pass over the hot records up to the high-water mark (entries
 * past it were never allocated), branch-free (linked and expired entries come in no predictable order).
 */
export function expiredEntries(table: CtTable, now: number): number {
  const hot = table.store.hotI;
  const n = table.highWater;
  const nowI = now | 0;
  let expired = 0;
  for (let e = 0, h = 0; e < n; e++, h += HOT_WORDS) {
    // Free and unconfirmed entries are unlinked (prev = UNLINKED): they add nothing.
    expired += +(hot[h + H_PREV] !== UNLINKED) & +(jdiff(hot[h + H_TIMEOUT]!, nowI) <= 0);
  }
  return expired;
}

/**
 * Writes the tally of the entries linked in `table` at u32 jiffies `now` into v[at, at + TALLY_LEN). A TCP
 * entry whose state is beyond the named states is counted in its group only.
 */
export function tallyEntries(table: CtTable, now: number, v: Float64Array, at: number): void {
  const t = table.store.linkedTally;
  const expired = expiredEntries(table, now);
  v[at + TALLY_LIVE] = t.linked - expired;
  v[at + TALLY_EXPIRED] = expired;
  v[at + TALLY_ASSURED] = t.assured;
  v[at + TALLY_UNREPLIED] = t.linked - t.seenReply;
  const cells = t.cells;
  for (let g = 0; g < PROTO_NAMES.length; g++) {
    let sum = 0;
    for (let k = g << 8; k < (g + 1) << 8; k++) sum += cells[k]!;
    v[at + TALLY_PROTO + g] = sum;
  }
  for (let k = 0; k < N_TCP; k++) v[at + TALLY_TCP + k] = cells[k]!; // group 0 = tcp
}
