/** Conntrack test utilities: tracker tables and table invariants. */

import { jdiff } from "../../engine/conntrack/clock.js";
import { TUPLE_WORDS } from "../../engine/conntrack/ct-store.js";
import type { L4Tracker } from "../../engine/conntrack/l4proto.js";
import { IPS_CONFIRMED } from "../../engine/conntrack/l4proto.js";
import type { Conntrack } from "../../engine/conntrack/nf-conntrack-in.js";
import { genericTracker } from "../../engine/conntrack/proto-generic.js";
import { NIL } from "../../engine/conntrack/table.js";

/** A 256-entry tracker table using `t` for every protocol (isolates core tests from the real trackers). */
export function allTrackers(t: L4Tracker = genericTracker): L4Tracker[] {
  return new Array<L4Tracker>(256).fill(t);
}

/**
 * Checks the table's structural invariants; returns a list of violations (empty = fine):
 * count = linked entries (no unconfirmed entry survives a packet) = live + expired-unreaped;
 * both nodes of every entry sit in the bucket their tuple hashes to, reachable from the chain head;
 * chains hold exactly 2 nodes per entry; free list + allocated = capacity.
 */
export function checkInvariants(ct: Conntrack): string[] {
  const out: string[] = [];
  const table = ct.table;
  const store = table.store;
  let linked = 0;
  let inUse = 0;
  let live = 0;
  let expired = 0;
  for (let e = 0; e < table.capacity; e++) {
    if (table.inUse[e]) inUse++;
    if (!table.isLinked(e)) continue;
    linked++;
    if (!table.inUse[e]) out.push(`entry ${e} linked but free`);
    if ((store.statusOf(e) & IPS_CONFIRMED) === 0) out.push(`entry ${e} linked but unconfirmed`);
    if (jdiff(store.timeoutOf(e), ct.now) <= 0) expired++;
    else live++;
    for (let dir = 0; dir < 2; dir++) {
      const node = e * 2 + dir;
      const want = ct.bucketOfNode(node);
      if (table.nodeBucketOf(node) !== want)
        out.push(`node ${node} in bucket ${table.nodeBucketOf(node)} not ${want}`);
      let found = false;
      for (let n = table.head[want]!; n !== NIL; n = table.nextOf(n)) if (n === node) found = true;
      if (!found) out.push(`node ${node} not reachable in bucket ${want}`);
    }
  }
  let nodes = 0;
  let used = 0;
  let longest = 0;
  for (let b = 0; b < table.buckets; b++) {
    let len = 0;
    for (let n = table.head[b]!; n !== NIL; n = table.nextOf(n)) len++;
    if (table.chains.len[b] !== len) out.push(`bucket ${b}: chainLen ${table.chains.len[b]} != ${len} nodes`);
    nodes += len;
    if (len > 0) used++;
    if (len > longest) longest = len;
  }
  if (nodes !== 2 * linked) out.push(`chains hold ${nodes} nodes for ${linked} entries`);
  // Chain statistics the table keeps incrementally.
  if (table.nodes !== nodes) out.push(`table.nodes ${table.nodes} != ${nodes}`);
  if (table.chains.nodes !== nodes) out.push(`chains.nodes ${table.chains.nodes} != ${nodes}`);
  if (table.chains.used !== used) out.push(`chains.used ${table.chains.used} != ${used}`);
  if (table.chains.max !== longest) out.push(`chains.max ${table.chains.max} != ${longest}`);
  if (ct.count !== linked) out.push(`count ${ct.count} != linked ${linked}`);
  if (ct.count !== live + expired) out.push(`count ${ct.count} != live ${live} + expired ${expired}`);
  if (inUse !== ct.count) out.push(`inUse ${inUse} != count ${ct.count}`);
  if (table.freeCount() !== table.capacity - inUse)
    out.push(`free list ${table.freeCount()} != ${table.capacity - inUse}`);
  return out;
}

/** Entries currently linked, as a set of "src-tuple" keys built from the ORIGINAL tuple words. */
export function entryKeys(ct: Conntrack): Set<string> {
  const s = new Set<string>();
  ct.forEachEntry((e) => {
    const o = ct.store.tupleOff(e * 2);
    s.add(Array.from(ct.store.tuple.subarray(o, o + TUPLE_WORDS)).join(","));
  });
  return s;
}
