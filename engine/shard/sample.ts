/**
 * Timeline samples of a sharded table. Each shard tallies its entries by the marginals the stats timeline
 * reads (engine/conntrack/tally.ts) and each tracking thread writes its shards' chain lengths into its own
 * region of one shared array; the thread that writes last merges the regions (one table's chains are the
 * shards' summed per-bucket lengths). The main thread sums the tallies and hands the timeline a
 * ConntrackView with exactly those totals (MergedView), so a sharded timeline row equals the single-table
 * one.
 */
import type { CtStatsCounters } from "../conntrack/ct-stats.js";
import { newCtStats } from "../conntrack/ct-stats.js";
import type { Conntrack } from "../conntrack/nf-conntrack-in.js";
import type { CtTable } from "../conntrack/table.js";
import { TALLY_LEN, tallyEntries } from "../conntrack/tally.js";
import type { ConntrackView } from "../stats/timeline.js";
import { S_COUNT, S_LEN, S_TALLY } from "./protocol.js";
import { addCounters } from "./snapshot.js";

/**
 * The shared chain array of a tick: a header (regions written so far, and the merged used buckets, longest
 * chain and node total), then per tracking thread a region of 1 + buckets int32 words: -1 and the summed
 * lengths of its shards per bucket (dense), or n >= 0 and n bucket numbers, one per linked node (sparse:
 * a thread whose tables hold few nodes lists them instead of writing every bucket).
 * Each thread writes only its own region, with plain stores, and the last one merges: both threads adding
 * into one array with Atomics made every bucket's cache line travel between the cores (~10 ms a tick).
 */
const CH_ARRIVALS = 0;
const CH_USED = 1;
const CH_MAX = 2;
const CH_NODES = 3;
const CH_HDR = 4;

export function chainWords(buckets: number, threads: number): number {
  return CH_HDR + threads * (buckets + 1);
}

/** Counts one shard's table at u32 jiffies `now` into v (length S_LEN). */
export function sampleShard(ct: Conntrack, now: number, v: Float64Array): void {
  v[S_COUNT] = ct.count;
  tallyEntries(ct.table, now, v, S_TALLY);
}

/** One tracking thread's writer of its chain region (and the merge, when it is the last to write). */
export class ChainSampler {
  private readonly base: number;
  /** Merge scratch: summed lengths (all zero between merges) and the buckets listed regions touched. */
  private readonly acc: Int32Array;
  private readonly touched: Int32Array;

  constructor(
    private readonly chains: Int32Array,
    private readonly buckets: number,
    thread: number,
    private readonly threads: number,
  ) {
    this.base = CH_HDR + thread * (buckets + 1);
    this.acc = new Int32Array(buckets);
    this.touched = new Int32Array(buckets);
  }

  /** Writes the chain lengths of this thread's tables (all with `buckets` buckets); merges if last. */
  sample(tables: readonly CtTable[]): void {
    const c = this.chains;
    const nb = this.buckets;
    const r = this.base + 1;
    let nodes = 0;
    for (const t of tables) nodes += t.nodes;
    if (nodes * 8 < nb) {
      // Few nodes: list each linked node's bucket (the bucket of its stored hash), O(entries).
      let n = 0;
      for (const t of tables) {
        const inUse = t.inUse;
        for (let e = 0; e < inUse.length; e++) {
          if (inUse[e] !== 1 || !t.isLinked(e)) continue;
          c[r + n++] = t.bucketOf(t.hashOf(2 * e));
          c[r + n++] = t.bucketOf(t.hashOf(2 * e + 1));
        }
      }
      c[this.base] = n;
    } else {
      // The tables keep each bucket's length (chainLen): copied (or two summed), then added, sequentially.
      c[this.base] = -1;
      const first = tables[0]!.chainLen;
      let k = 1;
      if (tables.length >= 2) {
        const second = tables[1]!.chainLen;
        for (let b = 0; b < nb; b++) c[r + b] = first[b]! + second[b]!;
        k = 2;
      } else c.set(first, r);
      for (; k < tables.length; k++) {
        const len = tables[k]!.chainLen;
        for (let b = 0; b < nb; b++) c[r + b]! += len[b]!;
      }
    }
    // Seq-cst: every region written before this add is visible to the thread whose add comes last.
    if ((Atomics.add(c, CH_ARRIVALS, 1) + 1) % this.threads === 0) this.merge();
  }

  /** Sums the regions of every thread into the header's used / longest / nodes. */
  private merge(): void {
    const c = this.chains;
    const nb = this.buckets;
    const acc = this.acc;
    const touched = this.touched;
    let listed = 0;
    let dense = 0;
    for (let t = 0; t < this.threads; t++) {
      const base = CH_HDR + t * (nb + 1);
      const n = c[base]!;
      if (n < 0) {
        dense++;
        continue;
      }
      for (let k = 0; k < n; k++) {
        const b = c[base + 1 + k]!;
        if (acc[b]++ === 0) touched[listed++] = b;
      }
    }
    let used = 0;
    let max = 0;
    let nodes = 0;
    if (dense === 0) {
      for (let k = 0; k < listed; k++) {
        const b = touched[k]!;
        const n = acc[b]!;
        acc[b] = 0;
        nodes += n;
        if (n > max) max = n;
      }
      used = listed;
    } else if (listed === 0 && dense <= 2) {
      // Dense regions only, the usual case on a big table: one pass, no scratch writes.
      let a = -1;
      let b2 = -1;
      for (let t = 0; t < this.threads; t++) {
        const base = CH_HDR + t * (nb + 1);
        if (c[base]! >= 0) continue; // an empty list
        if (a < 0) a = base + 1;
        else b2 = base + 1;
      }
      for (let b = 0; b < nb; b++) {
        const n = b2 < 0 ? c[a + b]! : c[a + b]! + c[b2 + b]!;
        if (n === 0) continue;
        used++;
        nodes += n;
        if (n > max) max = n;
      }
    } else {
      for (let t = 0; t < this.threads; t++) {
        const base = CH_HDR + t * (nb + 1);
        if (c[base]! >= 0) continue;
        for (let b = 0; b < nb; b++) acc[b]! += c[base + 1 + b]!;
      }
      for (let b = 0; b < nb; b++) {
        const n = acc[b]!;
        if (n === 0) continue;
        acc[b] = 0;
        used++;
        nodes += n;
        if (n > max) max = n;
      }
    }
    Atomics.store(c, CH_USED, used);
    Atomics.store(c, CH_MAX, max);
    Atomics.store(c, CH_NODES, nodes);
  }
}

/** The merged tick sample of every shard, as the ConntrackView the timeline reads. Buffers are reused. */
export class MergedView implements ConntrackView {
  count = 0;
  stats: CtStatsCounters = newCtStats();
  private readonly sum = new Float64Array(S_LEN);
  private chainSummary = { buckets: 0, used: 0, maxLen: 0, meanLen: 0 };

  constructor(
    private readonly chains: Int32Array | null,
    private readonly buckets: number,
  ) {}

  /** Sums the shards' samples and takes the merged chain statistics. */
  load(samples: readonly { v: Float64Array; stats: CtStatsCounters }[]): void {
    const sum = this.sum;
    sum.fill(0);
    const stats = newCtStats();
    for (const s of samples) {
      for (let k = 0; k < S_LEN; k++) sum[k]! += s.v[k]!;
      addCounters(stats, s.stats);
    }
    this.stats = stats;
    this.count = sum[S_COUNT]!;
    const c = this.chains;
    if (c === null) return;
    const used = Atomics.load(c, CH_USED);
    const nodes = Atomics.load(c, CH_NODES);
    this.chainSummary = {
      buckets: this.buckets,
      used,
      maxLen: Atomics.load(c, CH_MAX),
      meanLen: used > 0 ? nodes / used : 0,
    };
  }

  /** The shards' summed tally (tSec is the tick they sampled at). */
  tally(_tSec: number, v: Float64Array): void {
    for (let k = 0; k < TALLY_LEN; k++) v[k] = this.sum[S_TALLY + k]!;
  }

  /** Chain statistics of the summed per-bucket lengths (equal to one table's with the same seed). */
  chainStats(): { buckets: number; used: number; maxLen: number; meanLen: number } {
    return { ...this.chainSummary };
  }
}
