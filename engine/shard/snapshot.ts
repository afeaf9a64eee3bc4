/**
 * Moves a shard's table to the main thread at the end of a sharded replay and merges every shard into one
 * Conntrack, so reports, --list and --dump-table read one table as they do after a single-table replay.
 * With the same seed every shard hashes a tuple to the same bucket as the merged table does, so the merged
 * chains are the chains one table would have (order inside a chain aside).
 */
import type { CtStateCounters, CtStatsCounters } from "../conntrack/ct-stats.js";
import { PROTO_WORDS, TUPLE_WORDS } from "../conntrack/ct-store.js";
import { Conntrack, type ConntrackOptions } from "../conntrack/nf-conntrack-in.js";
import type { CtSettings } from "../conntrack/settings.js";

/** status, timeout, state | l4proto << 8, both tuples, proto words. */
export const ENTRY_WORDS = 3 + 2 * TUPLE_WORDS + PROTO_WORDS;

/** Packs every linked entry of a table (confirmed, live or expired-unreaped). */
export function packEntries(ct: Conntrack): { entries: Uint32Array; n: number } {
  const table = ct.table;
  const out = new Uint32Array(Math.max(1, table.linked) * ENTRY_WORDS);
  let n = 0;
  const s = table.store;
  for (let e = 0; e < table.capacity; e++) {
    if (!table.isLinked(e)) continue;
    const o = n * ENTRY_WORDS;
    out[o] = s.statusOf(e);
    out[o + 1] = s.timeoutOf(e);
    out[o + 2] = s.state[e]! | (s.l4proto[e]! << 8);
    out.set(s.tuple.subarray(e * 2 * TUPLE_WORDS, (e + 1) * 2 * TUPLE_WORDS), o + 3);
    out.set(s.proto.subarray(e * PROTO_WORDS, (e + 1) * PROTO_WORDS), o + 3 + 2 * TUPLE_WORDS);
    n++;
  }
  return { entries: out, n };
}

export interface MergeInput {
  entries: Uint32Array;
  n: number;
  stats: CtStatsCounters;
  ctstate: CtStateCounters;
}

/**
 * One Conntrack holding every shard's entries, summed counters, the clock started at the replay's first
 * time (start) and `now` = endJiffies.
 */
export function mergeShards(
  settings: CtSettings,
  opts: ConntrackOptions,
  parts: readonly MergeInput[],
  start: [number, number] | null,
  endJiffies: number,
): Conntrack {
  let total = 0;
  for (const p of parts) total += p.n;
  const merged = new Conntrack(settings, { ...opts, capacity: Math.max(2, total + 1) });
  if (start !== null) merged.clock.rawAt(start[0], start[1]); // fixes the clock's epoch
  const table = merged.table;
  for (const p of parts) {
    for (let k = 0; k < p.n; k++) {
      const o = k * ENTRY_WORDS;
      const e = table.alloc();
      const s = table.store;
      s.setStatus(e, p.entries[o]!);
      s.setTimeout(e, p.entries[o + 1]!);
      s.state[e] = p.entries[o + 2]! & 0xff;
      s.l4proto[e] = p.entries[o + 2]! >>> 8;
      s.tuple.set(p.entries.subarray(o + 3, o + 3 + 2 * TUPLE_WORDS), e * 2 * TUPLE_WORDS);
      s.proto.set(p.entries.subarray(o + 3 + 2 * TUPLE_WORDS, o + ENTRY_WORDS), e * PROTO_WORDS);
      const oh = merged.hashOfTuple(s.tuple, e * 2 * TUPLE_WORDS);
      const rh = merged.hashOfTuple(s.tuple, (e * 2 + 1) * TUPLE_WORDS);
      table.linkEntry(e, oh, rh);
      merged.gc.onConfirm(e);
    }
    addCounters(merged.stats, p.stats);
    addCounters(merged.ctstate, p.ctstate);
  }
  merged.now = endJiffies;
  return merged;
}

/** Adds every numeric field of b into a (counter sets). */
export function addCounters<T extends object>(a: T, b: T): T {
  const ra = a as Record<string, number>;
  const rb = b as Record<string, number>;
  for (const k of Object.keys(rb)) ra[k] = (ra[k] ?? 0) + rb[k]!;
  return a;
}
