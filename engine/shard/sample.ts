/**
 * Timeline samples of a sharded table. Each shard counts its entries by the same marginals the stats
 * timeline reads (live/expired, ASSURED, UNREPLIED, protocol group, TCP state) and adds its chain lengths
 * per bucket into one shared array; the main thread sums the shards and hands the timeline a ConntrackView
 * with exactly those totals (MergedView), so a sharded timeline row equals the single-table one.
 */
import type { CtStatsCounters } from "../conntrack/ct-stats.js";
import { newCtStats } from "../conntrack/ct-stats.js";
import { IPS_ASSURED, IPS_SEEN_REPLY } from "../conntrack/l4proto.js";
import type { Conntrack } from "../conntrack/nf-conntrack-in.js";
import { type ConntrackView, EntryColumns, PROTO_INDEX, PROTO_NAMES, TCP_STATES } from "../stats/timeline.js";
import { S_ASSURED, S_COUNT, S_EXPIRED, S_LEN, S_LIVE, S_PROTO, S_TCP, S_UNREPLIED } from "./protocol.js";
import { addCounters } from "./snapshot.js";

/** A protocol number for each timeline protocol group (the inverse of PROTO_INDEX, used to rebuild a view). */
const GROUP_PROTO = new Uint8Array(PROTO_NAMES.length);
for (let p = 255; p >= 0; p--) GROUP_PROTO[PROTO_INDEX[p]!] = p; // "other" gets protocol 0
const N_TCP_STATES = TCP_STATES.length;

/**
 * The shared chain-length array of a tick (chainWords(buckets) int32 words): the shards' summed length per
 * bucket at [0, buckets), then the number of buckets listed, then the list of buckets some shard made
 * non-empty (each once: the shard whose add found 0 lists it). The main thread reads and clears only the
 * listed buckets, so a tick costs what the tables hold, not what the hash table size is (a fine tick grid
 * over a long, sparse capture was O(buckets) per tick on every thread).
 */
export function chainWords(buckets: number): number {
  return 2 * buckets + 1;
}

/** Counts one shard's table at u32 jiffies `now` into v (length S_LEN) and adds chain lengths into chains. */
export function sampleShard(ct: Conntrack, now: number, v: Float64Array, chains: Int32Array | null): void {
  v.fill(0);
  v[S_COUNT] = ct.count;
  const table = ct.table;
  const s = table.store;
  // inUse (one byte per entry) skips free slots before the link check reads the hot record.
  const inUse = table.inUse;
  for (let e = 0; e < inUse.length; e++) {
    if (inUse[e] !== 1 || !table.isLinked(e)) continue;
    if (ct.isExpired(e, now)) v[S_EXPIRED]!++;
    else v[S_LIVE]!++;
    const st = s.statusOf(e);
    if ((st & IPS_ASSURED) !== 0) v[S_ASSURED]!++;
    if ((st & IPS_SEEN_REPLY) === 0) v[S_UNREPLIED]!++;
    const g = PROTO_INDEX[s.l4proto[e]!]!;
    v[S_PROTO + g]!++;
    if (g === 0 && s.state[e]! < N_TCP_STATES) v[S_TCP + s.state[e]!]!++;
  }
  if (chains === null) return;
  const nb = table.buckets;
  if (table.nodes * 8 < nb) {
    // Few entries: each linked node adds 1 to its bucket (the bucket of its stored hash), O(entries).
    for (let e = 0; e < inUse.length; e++) {
      if (inUse[e] !== 1 || !table.isLinked(e)) continue;
      for (let d = 0; d < 2; d++) {
        const b = table.bucketOf(table.hashOf(2 * e + d));
        if (Atomics.add(chains, b, 1) === 0) chains[nb + 1 + Atomics.add(chains, nb, 1)] = b;
      }
    }
    return;
  }
  // The table keeps each bucket's length (chainLen): one sequential pass instead of walking every chain,
  // whose random loads cost ~300 ns/packet of worker time on a 200k-entry table with a tick every 10 s.
  const len = table.chainLen;
  for (let b = 0; b < nb; b++) {
    const n = len[b]!;
    if (n > 0 && Atomics.add(chains, b, n) === 0) chains[nb + 1 + Atomics.add(chains, nb, 1)] = b;
  }
}

/**
 * A ConntrackView whose entries are synthetic: entry k carries the k-th unit of each marginal total, so a
 * scan that counts entries by those marginals (the timeline's) gets the shards' sums. Buffers are reused.
 */
export class MergedView implements ConntrackView {
  count = 0;
  stats: CtStatsCounters = newCtStats();
  store = new EntryColumns(0);
  private n = 0;
  private expired = 0;
  private readonly sum = new Float64Array(S_LEN);
  private readonly chains: Int32Array | null;

  constructor(chains: Int32Array | null) {
    this.chains = chains;
  }

  /** Sums the shards' samples and rebuilds the synthetic entries. */
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
    const n = sum[S_LIVE]! + sum[S_EXPIRED]!;
    this.n = n;
    this.expired = sum[S_EXPIRED]!;
    if (this.store.status.length < n) {
      const cap = Math.max(n, this.store.status.length * 2);
      this.store = new EntryColumns(cap);
    }
    const { status, state, l4proto } = this.store;
    const assured = sum[S_ASSURED]!;
    const unreplied = sum[S_UNREPLIED]!;
    for (let e = 0; e < n; e++)
      status[e] = (e < assured ? IPS_ASSURED : 0) | (e < unreplied ? 0 : IPS_SEEN_REPLY);
    let e = 0;
    let tcpState = 0;
    let tcpLeft = sum[S_TCP]!;
    for (let g = 0; g < 8; g++) {
      for (let k = 0; k < sum[S_PROTO + g]!; k++, e++) {
        l4proto[e] = GROUP_PROTO[g]!;
        state[e] = 0;
        if (g !== 0) continue;
        while (tcpLeft === 0 && tcpState < N_TCP_STATES - 1) tcpLeft = sum[S_TCP + ++tcpState]!;
        if (tcpLeft > 0) {
          state[e] = tcpState;
          tcpLeft--;
        } else state[e] = N_TCP_STATES; // beyond the named states (not counted, like the timeline does)
      }
    }
  }

  forEachEntry(cb: (ct: number) => void): void {
    for (let e = 0; e < this.n; e++) cb(e);
  }

  /** Synthetic entries [0, expired) are the expired ones; jiffiesAt is irrelevant to them. */
  isExpired(ct: number, _nowJiffies: number): boolean {
    return ct < this.expired;
  }

  jiffiesAt(_tSec: number): number {
    return 0;
  }

  private chainSummary = { buckets: 0, used: 0, maxLen: 0, meanLen: 0 };

  /** Chain statistics of the summed per-bucket lengths (equal to one table's with the same seed). */
  chainStats(): { buckets: number; used: number; maxLen: number; meanLen: number } {
    return { ...this.chainSummary };
  }

  /** Reads the shards' summed chain lengths of the listed buckets and clears them for the next tick. */
  takeChains(): void {
    const c = this.chains;
    if (c === null) return;
    const nb = (c.length - 1) >> 1;
    const listed = c[nb]!;
    let maxLen = 0;
    let nodes = 0;
    for (let k = 0; k < listed; k++) {
      const b = c[nb + 1 + k]!;
      const n = c[b]!;
      c[b] = 0;
      nodes += n;
      if (n > maxLen) maxLen = n;
    }
    c[nb] = 0;
    this.chainSummary = { buckets: nb, used: listed, maxLen, meanLen: listed > 0 ? nodes / listed : 0 };
  }
}
