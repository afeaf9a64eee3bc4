/**
 * One tracking thread's shards: the shard tables (shard id -> Conntrack) a thread owns and its views of the
 * batch ring. A piscina worker (workers/shard-worker.ts) holds one; so does the main thread, which tracks
 * shards of its own between reading batches (engine/shard/index.ts). Each "run" task processes, for every
 * owned shard, only the rows whose shard byte is that shard, in row order; the batch itself is shared
 * memory written by the main thread (never copied). Run tasks execute in epoch order (see task()).
 * See docs/sharding.md.
 */
import { Conntrack, NF_CT_EVICTION_RANGE } from "../conntrack/nf-conntrack-in.js";
import { ChainCounts } from "../conntrack/table.js";
import { PacketBatch, PK_NONE, packetBatchBytes } from "../decode/packet-batch.js";
import {
  type FinishTask,
  type InitTask,
  REPLAY_ABORTED,
  type RunTask,
  S_LEN,
  type ShardFinal,
  type ShardSample,
  type ShardTask,
  SYNC_ABORT,
  SYNC_ARRIVALS,
  SYNC_RING,
  syncCount,
  syncDone,
  syncPeak,
  syncRows,
} from "./protocol.js";
import { ChainSampler, sampleShard } from "./sample.js";
import { packEntries } from "./snapshot.js";

interface Shard {
  id: number;
  ct: Conntrack;
}

interface Early {
  t: RunTask;
  resolve: (v: ShardSample[] | null) => void;
  reject: (e: unknown) => void;
}

/**
 * Tracks rows [from, to) of pkt whose shard byte is id, in order. A function of its own, not a loop inside
 * runTimed: V8 compiles a long-running loop on its own (on-stack replacement) before the code after it
 * ever ran, and runTimed's tick and epoch code then deoptimized the whole compiled task, inlined core
 * included, again and again (8 of 15 recompiles of runTimed in a `--threads 2` run of bench5m).
 */
function trackRows(
  ct: Conntrack,
  id: number,
  pkt: PacketBatch,
  col: Uint8Array,
  from: number,
  to: number,
  failAt: number | undefined,
): void {
  let i = from;
  try {
    for (; i < to; i++) {
      if (col[i] !== id) continue;
      if (pkt.packetNo[i] === failAt) throw new Error("injected failure (failAtPacket)");
      ct.process(pkt, i);
    }
  } catch (e) {
    // A bug in the core: name the row so the main thread can point at the capture packet.
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`packet ${pkt.packetNo[i]} (shard ${id}): ${msg}`);
  }
}

export class ShardRunner {
  private init: InitTask | null = null;
  private shards: Shard[] = [];
  private batches: PacketBatch[] = [];
  private shardCols: Uint8Array[] = [];
  /** 1 for the shard ids this thread owns (indexed by shard byte; 255 = skipped rows). */
  private ownShard = new Uint8Array(256);
  private sync: Int32Array = new Int32Array(0);
  private chains: ChainSampler | null = null;
  private started = false;
  /** Time this thread spent in run tasks and, inside them, waiting at the epoch barrier (ms). */
  private busyMs = 0;
  private barrierMs = 0;
  /** The epoch ready() found far from nf_conntrack_max (its task runs next, without a second check). */
  private farEpoch = 0;
  /** Epochs in which this thread waited for the exact global count (the barrier path). */
  private barrierEpochs = 0;
  /**
   * One PK_NONE row: processing it only moves a shard's clock (and its GC) to that row's time. Backed by a
   * SAB like the ring's batches, so the tracker code sees one kind of typed array.
   */
  private readonly clockRow = new PacketBatch(8, new SharedArrayBuffer(packetBatchBytes(8)));
  // piscina does not promise to hand tasks to a worker in submission order, so runs are sequenced by
  // epoch (a run that arrives early waits, as a pending promise, for its predecessors).
  private expected = 1;
  private readonly early = new Map<number, Early>();

  constructor() {
    this.clockRow.kind[0] = PK_NONE;
  }

  /** Task entry point (a piscina worker's default export calls it). */
  task(t: ShardTask): unknown {
    if (t.op === "init") {
      this.expected = 1;
      this.early.clear();
      return this.doInit(t);
    }
    if (t.op === "finish") {
      const res = this.finish(t);
      // Drop every view of this replay's shared memory: a thread kept in a ShardPool would otherwise hold
      // its ring (tens of MB) until the next replay.
      this.shards = [];
      this.batches = [];
      this.shardCols = [];
      this.sync = new Int32Array(0);
      this.chains = null;
      this.init = null;
      return res;
    }
    return this.runInOrder(t);
  }

  private moveClock(ct: Conntrack, at: [number, number]): void {
    this.clockRow.tsSec[0] = at[0];
    this.clockRow.tsNsec[0] = at[1];
    ct.process(this.clockRow, 0);
  }

  private doInit(t: InitTask): number {
    this.init = t;
    // The thread's shards share their chain lengths: a tick samples their sum with one copy.
    const chains = new ChainCounts(t.settings.buckets);
    this.shards = t.shards.map((id) => ({
      id,
      ct: new Conntrack(t.settings, {
        gc: t.gc,
        seed: t.seed,
        ...(t.capacity !== undefined ? { capacity: t.capacity } : {}),
        // early_drop: as many candidates as the kernel's 8 buckets of the whole table (see ConntrackOptions).
        evictionRange: NF_CT_EVICTION_RANGE * t.totalShards,
        chains,
      }),
    }));
    this.ownShard = new Uint8Array(256);
    for (const id of t.shards) this.ownShard[id] = 1;
    this.batches = t.batches.map((b) => new PacketBatch(t.batchCapacity, b));
    this.shardCols = t.shardCols.map((b) => new Uint8Array(b));
    this.sync = new Int32Array(t.sync);
    this.chains =
      t.chains && t.shards.length > 0
        ? new ChainSampler(new Int32Array(t.chains), t.settings.buckets, t.chainThread)
        : null;
    this.started = false;
    this.farEpoch = 0;
    this.busyMs = 0;
    this.barrierMs = 0;
    this.barrierEpochs = 0;
    return this.shards.length;
  }

  /** True when every shard finished epoch e (its done word; arrivals only wake waiters). */
  private allDone(e: number): boolean {
    const sync = this.sync;
    const total = this.init!.totalShards;
    const done = syncDone(total);
    for (let s = 0; s < total; s++) if (Atomics.load(sync, done + s) < e) return false;
    return true;
  }

  /** Waits until every shard finished epoch e (Atomics barrier); false when the replay was aborted. */
  private waitEpoch(e: number): boolean {
    const sync = this.sync;
    for (;;) {
      if (Atomics.load(sync, SYNC_ABORT) !== 0) return false;
      const a = Atomics.load(sync, SYNC_ARRIVALS);
      if (this.allDone(e)) return true;
      Atomics.wait(sync, SYNC_ARRIVALS, a, 200);
    }
  }

  /**
   * True when no shard of this thread can reach nf_conntrack_max in this epoch whatever the others hold
   * exactly: an upper bound of each other thread's shard's count at the epoch boundary is its largest
   * published count plus one entry per row handed out since it last published (a row creates at most one
   * entry, in one shard); this thread's shards are at the boundary, so their counts are exact, and they
   * can gain at most one entry per row of theirs in the epoch. The barrier is then skipped: the max check
   * cannot trigger, so the exact count does not matter. (The GC's 95 % eviction only runs after a drop,
   * hence the earlyDrop condition.)
   */
  private farFromMax(t: RunTask): boolean {
    const sync = this.sync;
    const total = this.init!.totalShards;
    const max = this.init!.settings.max;
    const peak = syncPeak(total);
    const rows = syncRows(total);
    let own = 0;
    for (const sh of this.shards) {
      if (sh.ct.gc.earlyDrop) return false;
      own += sh.ct.count;
    }
    let bound = 0;
    for (let s = 0; s < total; s++) {
      if (this.ownShard[s] === 1) continue;
      const r = Atomics.load(sync, rows + s);
      bound += Atomics.load(sync, peak + s) + Math.max(0, (t.rowsBefore - r) | 0);
    }
    if (bound + own + (t.to - t.from) + 1 > max) {
      // Tighter: only this thread's rows of the epoch can add entries here.
      const col = this.shardCols[t.slot]!;
      let mine = 0;
      for (let i = t.from; i < t.to; i++) if (this.ownShard[col[i]!] === 1) mine++;
      if (bound + own + mine + 1 > max) return false;
    }
    for (const sh of this.shards) sh.ct.countOthers = bound + own - sh.ct.count;
    return true;
  }

  /**
   * True when run task t (the next in epoch order) can start without waiting at the epoch barrier: no
   * lockstep, every shard finished the previous epoch, or this thread's shards are far from the limit.
   */
  ready(t: RunTask): boolean {
    const init = this.init!;
    if (!init.lockstep) return true;
    if (this.allDone(t.epoch - 1)) return true;
    if (!this.farFromMax(t)) return false;
    // The bound only shrinks as the others publish, and t runs right after this: runTimed need not
    // compute it again (countOthers was set just now).
    this.farEpoch = t.epoch;
    return true;
  }

  private run(t: RunTask): ShardSample[] | null {
    const t0 = performance.now();
    try {
      return this.runTimed(t);
    } catch (e) {
      // Other threads' shards may be waiting for this one's epoch: release them (they stop too).
      Atomics.store(this.sync, SYNC_ABORT, 1);
      Atomics.notify(this.sync, SYNC_ARRIVALS);
      throw e;
    } finally {
      this.busyMs += performance.now() - t0;
    }
  }

  private runTimed(t: RunTask): ShardSample[] | null {
    const init = this.init!;
    const sync = this.sync;
    const lockstep = init.lockstep;
    const total = init.totalShards;
    if (lockstep && this.farEpoch !== t.epoch && !this.farFromMax(t)) {
      const w0 = performance.now();
      this.barrierEpochs++;
      const ok = this.waitEpoch(t.epoch - 1);
      this.barrierMs += performance.now() - w0;
      if (!ok) throw new Error(REPLAY_ABORTED);
      // Global count at the epoch boundary: every shard's count published for epoch - 1.
      let all = 0;
      for (let s = 0; s < total; s++) all += Atomics.load(sync, syncCount(total, t.epoch - 1, s));
      for (const sh of this.shards) sh.ct.countOthers = all - sh.ct.count;
    }
    if (t.start !== null && !this.started) {
      this.started = true;
      for (const sh of this.shards) this.moveClock(sh.ct, t.start);
    }
    const pkt = this.batches[t.slot]!;
    // This thread's view of a shared batch has its own `count` (the decoding thread's is not shared): the
    // prefetch groups of Conntrack.process stop at it, so at 0 they prefetched nothing.
    pkt.count = t.to;
    const col = this.shardCols[t.slot]!;
    const failAt = init.failAtPacket;
    for (const sh of this.shards) {
      sh.ct.prefetchRowsOf(col, sh.id);
      trackRows(sh.ct, sh.id, pkt, col, t.from, t.to, failAt);
      if (t.clock !== null) this.moveClock(sh.ct, t.clock);
    }
    let out: ShardSample[] | null = null;
    if (t.tick !== null) {
      out = [];
      for (const sh of this.shards) {
        sh.ct.advanceTo(t.tick);
        const v = new Float64Array(S_LEN);
        sampleShard(sh.ct, sh.ct.jiffiesAt(t.tick), v);
        out.push({ shard: sh.id, v, stats: { ...sh.ct.stats } });
      }
      this.chains?.sample(this.shards.map((sh) => sh.ct.table));
    }
    if (lockstep) {
      // The count slot of this epoch held epoch - SYNC_RING's counts, read by shards starting the epoch
      // after it: overwrite it only once they all finished that one (a rare wait for a far-behind shard).
      if (t.epoch >= SYNC_RING && !this.waitEpoch(t.epoch - SYNC_RING + 1)) throw new Error(REPLAY_ABORTED);
      const peak = syncPeak(total);
      const rows = syncRows(total);
      const done = syncDone(total);
      for (const sh of this.shards) {
        const c = sh.ct.count;
        Atomics.store(sync, syncCount(total, t.epoch, sh.id), c);
        // Count before rows: a reader that sees the new row total also sees this count (see farFromMax).
        if (c > Atomics.load(sync, peak + sh.id)) Atomics.store(sync, peak + sh.id, c);
        Atomics.store(sync, rows + sh.id, (t.rowsBefore + t.to - t.from) | 0);
        Atomics.store(sync, done + sh.id, t.epoch);
      }
      Atomics.add(sync, SYNC_ARRIVALS, this.shards.length);
      Atomics.notify(sync, SYNC_ARRIVALS);
    }
    return out;
  }

  private finish(t: FinishTask): ShardFinal[] {
    return this.shards.map((sh) => {
      if (t.clock !== null) this.moveClock(sh.ct, t.clock);
      if (t.end !== null) sh.ct.advanceTo(t.end);
      const { entries, n } = packEntries(sh.ct);
      return {
        shard: sh.id,
        stats: { ...sh.ct.stats },
        ctstate: { ...sh.ct.ctstate },
        count: sh.ct.count,
        entries,
        n,
        busyMs: this.busyMs,
        barrierMs: this.barrierMs,
        barrierEpochs: this.barrierEpochs,
      };
    });
  }

  private runInOrder(t: RunTask): Promise<ShardSample[] | null> | ShardSample[] | null {
    if (t.epoch !== this.expected) {
      return new Promise((resolve, reject) => {
        this.early.set(t.epoch, { t, resolve, reject });
      });
    }
    this.expected++;
    let out: ShardSample[] | null;
    try {
      out = this.run(t);
    } finally {
      queueMicrotask(() => this.drain());
    }
    return out;
  }

  private drain(): void {
    for (let w = this.early.get(this.expected); w !== undefined; w = this.early.get(this.expected)) {
      this.early.delete(this.expected);
      this.expected++;
      try {
        w.resolve(this.run(w.t));
      } catch (e) {
        w.reject(e);
      }
    }
  }
}
