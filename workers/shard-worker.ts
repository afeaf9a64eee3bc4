/**
 * Shard worker (piscina task module, one thread per single-thread pool; run tasks are executed in epoch
 * order, see runInOrder). State lives in this module across tasks: the shards this thread owns (shard id -> Conntrack) and views of the batch
 * ring. Each "run" task processes, for every owned shard, only the rows whose shard byte is that shard, in
 * row order; the batch itself is shared memory written by the main thread (never copied).
 * See docs/sharding.md.
 */
import { Conntrack } from "../engine/conntrack/nf-conntrack-in.js";
import { PacketBatch, PK_NONE, packetBatchBytes } from "../engine/decode/packet-batch.js";
import {
  type FinishTask,
  type InitTask,
  type RunTask,
  S_LEN,
  type ShardFinal,
  type ShardSample,
  type ShardTask,
  SYNC_ABORT,
  SYNC_ARRIVALS,
  SYNC_COUNTS,
  syncPeak,
  syncRows,
} from "../engine/shard/protocol.js";
import { sampleShard } from "../engine/shard/sample.js";
import { packEntries } from "../engine/shard/snapshot.js";

interface Shard {
  id: number;
  ct: Conntrack;
}

let init: InitTask | null = null;
let shards: Shard[] = [];
let batches: PacketBatch[] = [];
let shardCols: Uint8Array[] = [];
/** 1 for the shard ids this thread owns (indexed by shard byte; 255 = skipped rows). */
let ownShard = new Uint8Array(256);
let sync: Int32Array = new Int32Array(0);
let chains: Int32Array | null = null;
let started = false;
/** Time this thread spent in run tasks and, inside them, waiting at the epoch barrier (ms). */
let busyMs = 0;
let barrierMs = 0;
/** Epochs in which this thread waited for the exact global count (the barrier path). */
let barrierEpochs = 0;
/**
 * One PK_NONE row: processing it only moves a shard's clock (and its GC) to that row's time. Backed by a
 * SAB like the ring's batches, so the tracker code sees one kind of typed array.
 */
const clockRow = new PacketBatch(8, new SharedArrayBuffer(packetBatchBytes(8)));
clockRow.kind[0] = PK_NONE;

function moveClock(ct: Conntrack, at: [number, number]): void {
  clockRow.tsSec[0] = at[0];
  clockRow.tsNsec[0] = at[1];
  ct.process(clockRow, 0);
}

function doInit(t: InitTask): number {
  init = t;
  shards = t.shards.map((id) => ({
    id,
    ct: new Conntrack(t.settings, {
      gc: t.gc,
      seed: t.seed,
      ...(t.capacity !== undefined ? { capacity: t.capacity } : {}),
    }),
  }));
  ownShard = new Uint8Array(256);
  for (const id of t.shards) ownShard[id] = 1;
  batches = t.batches.map((b) => new PacketBatch(t.batchCapacity, b));
  shardCols = t.shardCols.map((b) => new Uint8Array(b));
  sync = new Int32Array(t.sync);
  chains = t.chains ? new Int32Array(t.chains) : null;
  started = false;
  busyMs = 0;
  barrierMs = 0;
  barrierEpochs = 0;
  return shards.length;
}

/** Waits until every shard finished epoch e (Atomics barrier); false when the replay was aborted. */
function waitEpoch(e: number): boolean {
  const need = init!.totalShards * e;
  for (;;) {
    if (Atomics.load(sync, SYNC_ABORT) !== 0) return false;
    const a = Atomics.load(sync, SYNC_ARRIVALS);
    if (a >= need) return true;
    Atomics.wait(sync, SYNC_ARRIVALS, a, 200);
  }
}

/**
 * True when no shard of this thread can reach nf_conntrack_max in this epoch whatever the others hold
 * exactly: an upper bound of each other thread's shard's count at the epoch boundary is its largest
 * published count plus one entry per row handed out since it last published (a row creates at most one
 * entry, in one shard); this thread's shards are at the boundary, so their counts are exact, and they can
 * gain at most one entry per row of theirs in the epoch. The barrier is then skipped: the max check cannot
 * trigger, so the exact count does not matter. (The GC's 95 % eviction only runs after a drop, hence the
 * earlyDrop condition.)
 */
function farFromMax(t: RunTask): boolean {
  const total = init!.totalShards;
  const max = init!.settings.max;
  const peak = syncPeak(total);
  const rows = syncRows(total);
  let own = 0;
  for (const sh of shards) {
    if (sh.ct.gc.earlyDrop) return false;
    own += sh.ct.count;
  }
  let bound = 0;
  for (let s = 0; s < total; s++) {
    if (ownShard[s] === 1) continue;
    const r = Atomics.load(sync, rows + s);
    bound += Atomics.load(sync, peak + s) + Math.max(0, (t.rowsBefore - r) | 0);
  }
  if (bound + own + (t.to - t.from) + 1 > max) {
    // Tighter: only this thread's rows of the epoch can add entries here.
    const col = shardCols[t.slot]!;
    let mine = 0;
    for (let i = t.from; i < t.to; i++) if (ownShard[col[i]!] === 1) mine++;
    if (bound + own + mine + 1 > max) return false;
  }
  for (const sh of shards) sh.ct.countOthers = bound + own - sh.ct.count;
  return true;
}

function run(t: RunTask): ShardSample[] | null {
  const t0 = performance.now();
  try {
    return runTimed(t);
  } finally {
    busyMs += performance.now() - t0;
  }
}

function runTimed(t: RunTask): ShardSample[] | null {
  const lockstep = init!.lockstep;
  const total = init!.totalShards;
  if (lockstep && !farFromMax(t)) {
    const w0 = performance.now();
    barrierEpochs++;
    const ok = waitEpoch(t.epoch - 1);
    barrierMs += performance.now() - w0;
    if (!ok) throw new Error("replay aborted");
    // Global count at the epoch boundary: every shard's count published for epoch - 1.
    const base = SYNC_COUNTS + ((t.epoch - 1) & 1) * total;
    let all = 0;
    for (let s = 0; s < total; s++) all += Atomics.load(sync, base + s);
    for (const sh of shards) sh.ct.countOthers = all - sh.ct.count;
  }
  if (t.start !== null && !started) {
    started = true;
    for (const sh of shards) moveClock(sh.ct, t.start);
  }
  const pkt = batches[t.slot]!;
  const col = shardCols[t.slot]!;
  const failAt = init!.failAtPacket;
  for (const sh of shards) {
    const id = sh.id;
    const ct = sh.ct;
    ct.prefetchRowsOf(col, id);
    let i = t.from;
    try {
      for (; i < t.to; i++) {
        if (col[i] !== id) continue;
        if (pkt.packetNo[i] === failAt) throw new Error("injected failure (failAtPacket)");
        ct.process(pkt, i);
      }
    } catch (e) {
      // A bug in the core: name the row so the main thread can point at the capture packet.
      const msg = e instanceof Error ? e.message : String(e);
      throw new Error(`packet ${pkt.packetNo[i]} (shard ${id}): ${msg}`);
    }
    if (t.clock !== null) moveClock(ct, t.clock);
  }
  let out: ShardSample[] | null = null;
  if (t.tick !== null) {
    out = [];
    for (const sh of shards) {
      sh.ct.advanceTo(t.tick);
      const v = new Float64Array(S_LEN);
      sampleShard(sh.ct, sh.ct.jiffiesAt(t.tick), v, chains);
      out.push({ shard: sh.id, v, stats: { ...sh.ct.stats } });
    }
  }
  if (lockstep) {
    const base = SYNC_COUNTS + (t.epoch & 1) * total;
    const peak = syncPeak(total);
    const rows = syncRows(total);
    for (const sh of shards) {
      const c = sh.ct.count;
      Atomics.store(sync, base + sh.id, c);
      // Count before rows: a reader that sees the new row total also sees this count (see farFromMax).
      if (c > Atomics.load(sync, peak + sh.id)) Atomics.store(sync, peak + sh.id, c);
      Atomics.store(sync, rows + sh.id, (t.rowsBefore + t.to - t.from) | 0);
    }
    Atomics.add(sync, SYNC_ARRIVALS, shards.length);
    Atomics.notify(sync, SYNC_ARRIVALS);
  }
  return out;
}

function finish(t: FinishTask): ShardFinal[] {
  return shards.map((sh) => {
    if (t.clock !== null) moveClock(sh.ct, t.clock);
    if (t.end !== null) sh.ct.advanceTo(t.end);
    const { entries, n } = packEntries(sh.ct);
    return {
      shard: sh.id,
      stats: { ...sh.ct.stats },
      ctstate: { ...sh.ct.ctstate },
      count: sh.ct.count,
      entries,
      n,
      busyMs,
      barrierMs,
      barrierEpochs,
    };
  });
}

// piscina does not promise to hand tasks to a worker in submission order, so runs are sequenced here by
// epoch (a run that arrives early waits, as a pending promise, for its predecessors).
let expected = 1;
const early = new Map<
  number,
  { t: RunTask; resolve: (v: ShardSample[] | null) => void; reject: (e: unknown) => void }
>();

function runInOrder(t: RunTask): Promise<ShardSample[] | null> | ShardSample[] | null {
  if (t.epoch !== expected) {
    return new Promise((resolve, reject) => {
      early.set(t.epoch, { t, resolve, reject });
    });
  }
  expected++;
  let out: ShardSample[] | null;
  try {
    out = run(t);
  } finally {
    queueMicrotask(drain);
  }
  return out;
}

function drain(): void {
  for (let w = early.get(expected); w !== undefined; w = early.get(expected)) {
    early.delete(expected);
    expected++;
    try {
      w.resolve(run(w.t));
    } catch (e) {
      w.reject(e);
    }
  }
}

/** Task entry point (piscina calls the default export). */
export default function shardTask(t: ShardTask): unknown {
  if (t.op === "init") {
    expected = 1;
    early.clear();
    return doInit(t);
  }
  if (t.op === "finish") {
    const res = finish(t);
    shards = [];
    batches = [];
    shardCols = [];
    return res;
  }
  return runInOrder(t);
}
