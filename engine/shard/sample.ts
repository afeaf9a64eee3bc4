/**
 * Timeline samples of a sharded table. Each shard tallies its entries by the marginals the stats timeline
 * reads (engine/conntrack/tally.ts) and each tracking thread writes its shards' chain lengths into its own
 * region of one shared array, which the main thread merges (one table's chains are the shards' summed
 * per-bucket lengths). The main thread also sums the tallies and hands the timeline a
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
 * The shared chain array of a tick: per tracking thread a region of 1 + buckets int32 words: -1 and the
 * summed lengths of its shards per bucket (dense), or n >= 0 and n bucket numbers, one per linked node
 * (sparse: a thread whose tables hold few nodes lists them instead of writing every bucket).
 * Each thread writes only its own region, with plain stores (both threads adding into one array with
 * Atomics made every bucket's cache line travel between the cores: ~10 ms a tick), and the main thread
 * merges the regions once every sample arrived (its time in the merge is time it would otherwise wait for
 * the worker, which sets the pace).
 */
export function chainWords(buckets: number, threads: number): number {
  return threads * (buckets + 1);
}

/** Counts one shard's table at u32 jiffies `now` into v (length S_LEN). */
export function sampleShard(ct: Conntrack, now: number, v: Float64Array): void {
  v[S_COUNT] = ct.count;
  tallyEntries(ct.table, now, v, S_TALLY);
}

/** One tracking thread's writer of its chain region. */
export class ChainSampler {
  private readonly base: number;

  constructor(
    private readonly chains: Int32Array,
    private readonly buckets: number,
    thread: number,
  ) {
    this.base = thread * (buckets + 1);
  }

  /** Writes the chain lengths of this thread's tables (all with `buckets` buckets) into its region. */
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
      // The thread's tables share one ChainCounts (ShardRunner): its per-bucket lengths are their sum.
      const chains = tables[0]!.chains;
      if (!tables.every((t) => t.chains === chains))
        throw new Error("ChainSampler: tables with their own chain counts");
      c[this.base] = -1;
      c.set(chains.len, r);
    }
    // The task's result message, which the main thread awaits before merging, orders these stores.
  }
}

/**
 * Sums the threads' regions into one table's chain statistics; acc (all zero, and left so) and touched are
 * scratch of `buckets` words.
 */
function mergeChains(
  c: Int32Array,
  nb: number,
  threads: number,
  acc: Int32Array,
  touched: Int32Array,
): { used: number; maxLen: number; nodes: number } {
  let listed = 0;
  let dense = 0;
  for (let t = 0; t < threads; t++) {
    const base = t * (nb + 1);
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
    for (let t = 0; t < threads; t++) {
      const base = t * (nb + 1);
      if (c[base]! >= 0) continue; // an empty list
      if (a < 0) a = base + 1;
      else b2 = base + 1;
    }
    // Branch-free: about half the buckets are empty, in no predictable order.
    if (b2 < 0) b2 = a; // one dense region: add it to itself, halve below
    const half = b2 === a ? 1 : 0;
    for (let b = 0; b < nb; b++) {
      const n = (c[a + b]! + c[b2 + b]!) >> half;
      used += +(n !== 0);
      nodes += n;
      max = n > max ? n : max;
    }
  } else {
    for (let t = 0; t < threads; t++) {
      const base = t * (nb + 1);
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
  return { used, maxLen: max, nodes };
}

/** The merged tick sample of every shard, as the ConntrackView the timeline reads. Buffers are reused. */
export class MergedView implements ConntrackView {
  count = 0;
  stats: CtStatsCounters = newCtStats();
  private readonly sum = new Float64Array(S_LEN);
  private chainSummary = { buckets: 0, used: 0, maxLen: 0, meanLen: 0 };

  private readonly acc: Int32Array;
  private readonly touched: Int32Array;

  constructor(
    private readonly chains: Int32Array | null,
    private readonly buckets: number,
    private readonly threads: number,
  ) {
    this.acc = new Int32Array(chains ? buckets : 0);
    this.touched = new Int32Array(chains ? buckets : 0);
  }

  /** Sums the shards' samples and merges the threads' chain regions (every sample has arrived). */
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
    const { used, maxLen, nodes } = mergeChains(c, this.buckets, this.threads, this.acc, this.touched);
    this.chainSummary = { buckets: this.buckets, used, maxLen, meanLen: used > 0 ? nodes / used : 0 };
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
