/**
 * Sharded replay: the main thread reads captures; a pool of decode threads (engine/shard/decode-pool.ts)
 * decodes them into a small ring of SharedArrayBuffer PacketBatches and writes each row's shard (symmetric
 * tuple hash) into a shared byte column; the main thread takes the batches in order (resolving IP
 * fragments itself), and every shard worker thread reads the SAME batch in place, processing only its own
 * rows in order. Each worker
 * thread is a single-thread piscina pool (tasks run FIFO, state stays in the worker module); shards are
 * assigned to threads round-robin. nf_conntrack_max stays one global limit: with a finite max, shards run
 * in lockstep epochs (one per task) and see the other shards' counts as of the last epoch boundary.
 * Timeline ticks split a batch where the single-table driver would fire them, so samples are taken at the
 * same capture times. The result has replayCaptures' shape (one merged table). See docs/sharding.md.
 */
import { existsSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { CtClock } from "../conntrack/clock.js";
import type { CtStatsCounters } from "../conntrack/ct-stats.js";
import type { CtSettings } from "../conntrack/settings.js";
import { PK_DEFER } from "../decode/packet-batch.js";
import type { ReplayOptions, ReplayResult } from "../replay.js";
import type { ConntrackView } from "../stats/timeline.js";
import { TickSchedule } from "../tick-schedule.js";
import { DecodePipeline, type DecodeSlot } from "./decode-pool.js";
import {
  type FinishTask,
  MAX_SHARDS,
  REPLAY_ABORTED,
  type RunTask,
  SHARD_SKIP,
  type ShardFinal,
  type ShardSample,
  type ShardTask,
  ShardWorkerError,
  SYNC_ABORT,
  syncWords,
} from "./protocol.js";
import { chainWords, MergedView } from "./sample.js";
import { type ShardPool, startShardWorker } from "./shard-pool.js";
import { ShardRunner } from "./shard-runner.js";
import { mergeShards } from "./snapshot.js";

export { SHARD_SKIP, ShardWorkerError } from "./protocol.js";
export { ShardPool } from "./shard-pool.js";

export interface ShardedReplayOptions extends Omit<ReplayOptions, "onTick" | "conntrack"> {
  /**
   * Tracking threads (default min(shards, os.availableParallelism())). With mainTracks (the default) the
   * main thread is one of them, so threads - 1 are worker threads.
   */
  threads?: number;
  /** Conntrack shards (default: defaultShards(threads)). */
  shards?: number;
  /**
   * The main thread tracks shards of its own between reading batches (default true): one thread per CPU,
   * none left idle while the workers track. false: every tracking thread is a worker thread.
   */
  mainTracks?: boolean;
  /** Timeline hook: called with a view summed over the shards (the stats timeline reads only that). */
  onTick?: (tSec: number, ct: ConntrackView) => void;
  /**
   * Decode threads (default: see defaultDecodeThreads); 0 = the main thread decodes (the layout before
   * the decode pool).
   */
  decodeThreads?: number;
  /** Batches in flight, decoding ahead plus being tracked (default 2 * threads + 2 * decodeThreads + 2, at
   * least 4): bounds memory on any capture size. */
  ring?: number;
  /** Stops reading (e.g. on SIGINT); what was read is still tracked and reported. */
  signal?: AbortSignal;
  /**
   * Worker threads to take and give back (engine/shard/shard-pool.ts), kept warm between replays; default:
   * new threads, destroyed at the end.
   */
  pool?: ShardPool;
  /** Test hook: the worker owning this capture packet number throws while processing it. */
  failAtPacket?: number;
  /** Test hook: the decode worker decoding this capture packet number throws. */
  failDecodeAtPacket?: number;
}

export interface ShardedReplayResult extends ReplayResult {
  shards: number;
  threads: number;
  /** Decode threads (0: decoded on the main thread). */
  decodeThreads: number;
  /** conntrack -S counters of each shard (cpu=0..N-1). */
  perShard: CtStatsCounters[];
  /** The replay stopped early (signal): the result covers the packets read before. */
  interrupted: boolean;
  /**
   * Where the time went (ms). Main thread: reading (+ copying into the ring; + decoding without decode
   * threads) and the per-row scan (clock, ticks, fragments), waiting for free batches / tick samples /
   * decoded batches, merging the shards' tables at the end. Decode threads: their time in tasks, summed.
   * Per worker thread: time in tasks (tracking, ticks) and waiting at the epoch barrier within them.
   */
  timing: {
    decodeMs: number;
    waitMs: number;
    /** Of decodeMs: reading (+ copying / decoding); of waitMs: waiting for a decoded batch. */
    readMs: number;
    decodeWaitMs: number;
    decodeWorkerMs: number;
    mergeMs: number;
    tasks: number;
    threadBusyMs: number[];
    threadBarrierMs: number[];
    threadBarrierEpochs: number[];
  };
}

/**
 * Decode threads when not given. With the main thread tracking (the default): none. Decode threads take
 * decoding off the main thread but leave it the record copy into shared memory, which costs it about as much
 * (bench5m full-size: read+copy 144 ns/packet against read+decode ~150), so the main thread, which also
 * tracks, is not relieved, and the copy, another isolate's JIT and cross-core traffic cost CPU (~50-60
 * ns/packet) and RSS (measured: 1 tracking thread + 1 decode thread 0.85 Mpps against 0.96 in-process).
 * With workers only (mainTracks false): one per tracking thread, on CPUs the main and tracking threads
 * leave (0 on 2 CPUs).
 */
export function defaultDecodeThreads(threads: number, mainTracks = true): number {
  if (mainTracks) return 0;
  return Math.max(0, Math.min(threads, os.availableParallelism() - 1 - threads));
}

/**
 * Shards when not given: one per worker thread, else (the main thread tracking too) two per worker and
 * one on the main thread, which also reads and decodes every packet: shards are equal shares of the
 * rows, so 2 * threads - 1 of them balance the CPUs (threads = 2: the main thread tracks a third).
 */
export function defaultShards(threads: number, mainTracks = true): number {
  return mainTracks ? Math.max(1, 2 * threads - 1) : Math.max(1, threads);
}

/**
 * The tracking thread owning shard s, as an index into [worker 0, ..., worker W-1, main] (main only with
 * mainTracks). With at least defaultShards(threads) shards the main thread gets every (2T-1)-th shard and
 * each worker two of each 2T-1; with fewer, shards go round robin.
 */
export function shardOwner(s: number, shards: number, threads: number, mainTracks: boolean): number {
  if (!mainTracks || shards < 2 * threads - 1) return s % threads;
  const r = s % (2 * threads - 1);
  return r === 0 ? threads - 1 : (r - 1) >> 1;
}

/** The compiled worker module (piscina loads JavaScript): next to this module's build, or under dist/. */
export function shardWorkerFile(): string {
  for (const rel of ["../../workers/shard-worker.js", "../../dist/workers/shard-worker.js"]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error("shard worker not built: run `npm run build` (dist/workers/shard-worker.js)");
}

type Slot = DecodeSlot;

/** A tracking thread as the driver sees it: a single-thread piscina pool, or the main thread's runner. */
interface ShardThread {
  run(t: ShardTask): Promise<unknown>;
  /** Ends the thread's part in this replay: reuse (a clean end) hands a pooled thread back. */
  destroy(reuse: boolean): Promise<void>;
}

/**
 * The main thread's tracking thread. Its ShardRunner runs a posted task at once (after the workers got
 * theirs) unless the task would wait at the epoch barrier for the workers' shards: then it is queued and
 * the main thread goes on reading and decoding, and pump() runs the queue in order once the barrier is
 * passed (or, with block, waits in Atomics.wait first). Blocking there instead left both threads idle in
 * turn: the main thread at the barrier, then the worker without tasks. The workers never wait for a
 * queued task longer than until the main thread's next pump: the driver pumps after every slot, and with
 * block before it awaits anything a queued task may hold up (a ring slot, a tick's samples, the end).
 */
interface MainThread extends ShardThread {
  pump(block: boolean): void;
}

function mainThreadRunner(): MainThread {
  const runner = new ShardRunner();
  const queue: { t: RunTask; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  const pump = (block: boolean): void => {
    while (queue.length > 0) {
      const q = queue[0]!;
      if (!block && !runner.ready(q.t)) return;
      queue.shift();
      try {
        q.resolve(runner.task(q.t));
      } catch (e) {
        q.reject(e);
      }
    }
  };
  return {
    run(t: ShardTask): Promise<unknown> {
      if (t.op !== "run") {
        pump(true);
        try {
          return Promise.resolve(runner.task(t));
        } catch (e) {
          return Promise.reject(e);
        }
      }
      return new Promise((resolve, reject) => {
        queue.push({ t, resolve, reject });
        pump(false);
      });
    },
    pump,
    destroy: () => Promise.resolve(),
  };
}

export async function replaySharded(
  files: readonly string[],
  settings: CtSettings,
  opts: ShardedReplayOptions = {},
): Promise<ShardedReplayResult> {
  const startedAt = performance.now();
  const mainTracks = opts.mainTracks ?? true;
  const wantThreads = Math.max(1, opts.threads ?? os.availableParallelism());
  const shards = Math.min(MAX_SHARDS, Math.max(1, opts.shards ?? defaultShards(wantThreads, mainTracks)));
  const threads = Math.min(shards, wantThreads);
  const cap = opts.batchSize ?? 16384;
  const decodeThreads = Math.max(0, opts.decodeThreads ?? defaultDecodeThreads(threads, mainTracks));
  const K = Math.max(2, opts.ring ?? Math.max(4, 2 * threads + 2 * decodeThreads + 2));
  const gc = opts.gc ?? "kernel";
  const seed = opts.seed ?? 1;
  const lockstep = settings.max !== 0;
  const onTick = opts.onTick;
  const endTime = opts.endTime;

  let packets = 0;
  // Input: files -> records (main thread) -> decode threads -> decoded rows in the ring, in order.
  // The main thread's tracking thread (with mainTracks), set once the pools start.
  let mainThread: MainThread | null = null;
  const pumpMain = (block: boolean): void => mainThread?.pump(block);
  const pipe = new DecodePipeline(files, {
    beforeWait: () => pumpMain(true),
    tickHints: opts.tickHint !== undefined && onTick !== undefined && files.length === 1,
    threads: decodeThreads,
    shards,
    batchSize: cap,
    ring: K,
    verifyChecksums: settings.checksum,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress, packets: () => packets } : {}),
    ...(opts.failDecodeAtPacket !== undefined ? { failAtPacket: opts.failDecodeAtPacket } : {}),
  });
  const slots = pipe.slots;
  const batchBufs = slots.map((s) => s.batch.buffer as SharedArrayBuffer);
  const colBufs = slots.map((s) => s.col.buffer as SharedArrayBuffer);
  const syncBuf = new SharedArrayBuffer(4 * syncWords(shards));
  const sync = new Int32Array(syncBuf);
  // Each tracking thread's shards (pool w: the workers, then the main thread with mainTracks); only the
  // threads that own shards take part in a tick's chain merge, each with a region of its own.
  const owned = Array.from({ length: threads }, (_, w) =>
    Array.from({ length: shards }, (_, s) => s).filter(
      (s) => shardOwner(s, shards, threads, mainTracks) === w,
    ),
  );
  const chainThread = owned.map((list, w) =>
    list.length > 0 ? owned.slice(0, w).filter((l) => l.length > 0).length : -1,
  );
  const chainThreads = owned.filter((l) => l.length > 0).length;
  const chainBuf = onTick ? new SharedArrayBuffer(4 * chainWords(settings.buckets, chainThreads)) : null;
  const view = new MergedView(chainBuf ? new Int32Array(chainBuf) : null, settings.buckets, chainThreads);

  // The single-table driver's clock, mirrored: out-of-order rows are rewritten to the latest time seen so
  // every shard handles them at the time one table would (the kernel's clock never goes back).
  const clock = new CtClock(settings.hz);
  let clockStarted = false;
  let rawNow = 0;
  let maxSec = 0;
  let maxNsec = 0;
  let clockBackwards = 0;
  let start: [number, number] | null = null;
  const clockEvent = (sec: number, nsec: number): boolean => {
    const raw = clock.rawAt(sec, nsec);
    if (!clockStarted) {
      clockStarted = true;
      start = [sec, nsec];
    } else if (raw < rawNow) {
      clockBackwards++;
      return true;
    }
    rawNow = raw;
    maxSec = sec;
    maxNsec = nsec;
    return false;
  };
  const clockAtSeconds = (t: number): void => {
    const sec = Math.floor(t);
    clockEvent(sec, Math.min(999_999_999, Math.round((t - sec) * 1e9))); // as CtClock.rawAtSeconds
  };

  /** The tracking threads: worker pools, then the main thread's own runner (with mainTracks). */
  const pools: ShardThread[] = [];
  /** The replay returned normally: pooled worker threads go back to opts.pool. */
  let clean = false;
  let failure: ShardWorkerError | null = null;
  let epoch = 0;
  let rowsPosted = 0;
  let tasks = 0;
  let decodeMs = 0;
  let waitMs = 0;

  let afterEnd = 0;
  let first: number | null = null;
  let last: number | null = null;

  const fail = (e: unknown, slot: Slot | null, from: number, to: number): void => {
    Atomics.store(sync, SYNC_ABORT, 1);
    Atomics.notify(sync, 0);
    if (failure !== null) return;
    const detail = e instanceof Error ? e.message : String(e);
    // A thread that stopped because another failed: that other thread's error is the one to report.
    if (detail === REPLAY_ABORTED) return;
    const m = /^packet (\d+) \(shard \d+\): /.exec(detail);
    const file = slot ? (files[slot.fileIndex] ?? "?") : "-";
    if (m) {
      failure = new ShardWorkerError(file, Number(m[1]), detail.slice(m[0].length));
    } else {
      const range =
        slot && to > from
          ? ` (batch of packets ${slot.batch.packetNo[from]}-${slot.batch.packetNo[to - 1]})`
          : "";
      failure = new ShardWorkerError(file, null, `${detail}${range}`);
    }
  };
  const check = (): void => {
    if (failure !== null) throw failure;
  };

  /** Run tasks not settled yet, on any thread. */
  const inflight = new Set<Promise<unknown>>();

  /** One epoch: every thread gets the task; resolves with the tick samples (empty without a tick). */
  const post = (slot: Slot, from: number, to: number, tick: number | null): Promise<ShardSample[]> => {
    epoch++;
    tasks++;
    const msg: RunTask = {
      op: "run",
      epoch,
      rowsBefore: rowsPosted | 0,
      slot: slot.index,
      from,
      to,
      start,
      clock: clockStarted ? [maxSec, maxNsec] : null,
      tick,
    };
    rowsPosted += to - from;
    slot.pending = true;
    // The workers get the task first: the main thread's share runs right here, while they work.
    const runs = pools.map((pool) => pool.run(msg) as Promise<ShardSample[] | null>);
    for (const r of runs) {
      // Every thread's failure is seen (Promise.all only passes on the first, which may be a thread that
      // merely stopped on the abort flag), and every run is known until it settles (see the cleanup).
      inflight.add(r);
      r.then(
        () => inflight.delete(r),
        (e: unknown) => {
          inflight.delete(r);
          fail(e, slot, from, to);
        },
      );
    }
    const p = Promise.all(runs).then((r) => r.flatMap((x) => x ?? []));
    // pending clears when the slot's LAST task settles (a slot split by ticks has several): the ring
    // refills a slot only then, and fillAhead awaits busy only when pending is clear, so it never waits
    // there for a task the main thread has queued (a deadlock once it did).
    const busy: Promise<void> = p.then(
      () => {
        if (slot.busy === busy) slot.pending = false;
      },
      (e: unknown) => {
        fail(e, slot, from, to);
        if (slot.busy === busy) slot.pending = false;
      },
    );
    slot.busy = busy;
    return p;
  };

  const ticks = new TickSchedule(opts);
  const tickHint = files.length === 1 ? opts.tickHint : undefined;
  /** The row (file, packet number) tickHint was last called for: a row that brings several ticks due gets one call. */
  let hintFile = -1;
  let hintPacket = -1;

  /**
   * The tick posted last whose samples were not taken yet. Tick pipelining: while its samples are on their
   * way back (and onTick has yet to name the next tick), ticks.at holds a lower bound of the next tick
   * (TickSchedule.boundAfter), so the rows up to it go to the shards at once instead of the shards idling
   * through the round trip. settleTick() takes the samples and sets the real next tick.
   */
  let outstanding: { at: number; p: Promise<ShardSample[]>; bound: number } | null = null;

  /** Fires the tick due at (or before) capture time t: rows before it are posted first. */
  const fireTick = (slot: Slot, from: number, to: number, t: number): void => {
    const at = ticks.fireTime(t);
    clockAtSeconds(at);
    const p = post(slot, from, to, at);
    slot.scan = to;
    const bound = ticks.boundAfter(at);
    outstanding = { at, p, bound };
    ticks.at = bound > at ? bound : at;
  };

  /** Takes the outstanding tick's samples, calls onTick and schedules the next tick. */
  const settleTick = async (): Promise<void> => {
    const o = outstanding!;
    outstanding = null;
    // Read (and decode) ahead while the shards run up to the tick, a slot at a time, and not beyond it.
    let settled = false;
    o.p.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled && (await pipe.fillAhead(1)) > 0) pumpMain(false);
    pumpMain(true);
    const w0 = performance.now();
    let samples: ShardSample[];
    try {
      samples = await o.p;
    } catch {
      check();
      throw new Error("shard worker failed");
    }
    waitMs += performance.now() - w0;
    samples.sort((a, b) => a.shard - b.shard);
    view.load(samples);
    onTick!(o.at, view);
    ticks.fired(o.at);
    // Rows up to the bound were handed out as lying before the next tick: a bug if they did not.
    if (ticks.at < o.bound)
      throw new Error(`next tick ${ticks.at} before its bound ${o.bound} (tick at ${o.at})`);
  };

  /**
   * Scans rows from slot.scan on, up to the row a tick is due at (returned) or the end: resolves deferred
   * fragments (in capture order), marks rows after the end time, mirrors the single driver's per-row
   * bookkeeping (end time, first/last, clock). The shard bytes were written by the decode threads.
   */
  const scan = (slot: Slot): number => {
    const t0 = performance.now();
    const b = slot.batch;
    const col = slot.col;
    const n = b.count;
    const kind = b.kind;
    let i = slot.scan;
    for (; i < n; i++) {
      if (kind[i] === PK_DEFER && !pipe.resolve(slot, i)) {
        col[i] = SHARD_SKIP; // fragment held by the defragmenter: no row (as for one decoder)
        continue;
      }
      const sec = b.tsSec[i]!;
      const nsec = b.tsNsec[i]!;
      const t = sec + nsec / 1e9;
      if (endTime !== undefined && t > endTime) {
        col[i] = SHARD_SKIP;
        afterEnd++;
        continue;
      }
      if (t >= ticks.at) break;
      if (clockEvent(sec, nsec)) {
        b.tsSec[i] = maxSec;
        b.tsNsec[i] = maxNsec;
      }
      packets++;
      if (first === null) first = t;
      last = t;
    }
    decodeMs += performance.now() - t0;
    return i;
  };

  try {
    await pipe.start(); // decode threads start up while the shard threads do
    const workers = mainTracks ? threads - 1 : threads;
    const file = workers > 0 ? shardWorkerFile() : "";
    for (let w = 0; w < workers; w++) {
      const thread = opts.pool ? opts.pool.take(file) : startShardWorker(file);
      thread.onError = (e: unknown) => fail(e, null, 0, 0);
      pools.push({
        run: (t) => thread.pool.run(t),
        destroy: (reuse) => (reuse && opts.pool ? opts.pool.give(thread) : thread.destroy()),
      });
    }
    if (mainTracks) {
      mainThread = mainThreadRunner();
      pools.push(mainThread);
    }
    await Promise.all(
      pools.map((pool, w) =>
        pool.run({
          op: "init",
          shards: owned[w]!,
          totalShards: shards,
          settings,
          gc,
          seed,
          ...(opts.capacity !== undefined ? { capacity: opts.capacity } : {}),
          batches: batchBufs,
          shardCols: colBufs,
          batchCapacity: cap,
          sync: syncBuf,
          chains: chainBuf,
          chainThread: chainThread[w]!,
          lockstep,
          ...(opts.failAtPacket !== undefined ? { failAtPacket: opts.failAtPacket } : {}),
        }),
      ),
    );

    let guard = 0;
    let slot: Slot | null = null;
    for (;;) {
      check();
      pumpMain(false);
      if (slot === null) {
        slot = await pipe.next();
        if (slot === null) break;
      }
      const from = slot.scan;
      const i = scan(slot);
      if (i < slot.batch.count) {
        if (outstanding !== null) {
          // At the outstanding tick's bound: hand out the rows before it, then learn the real next tick.
          if (i > from) {
            post(slot, from, i, null);
            slot.scan = i;
          }
          await settleTick();
          continue;
        }
        const t = slot.batch.tsSec[i]! + slot.batch.tsNsec[i]! / 1e9;
        const pno = slot.batch.packetNo[i]!;
        if (tickHint && (slot.fileIndex !== hintFile || pno !== hintPacket)) {
          // Once per row that brings ticks due, before the first of them, as the single driver does.
          hintFile = slot.fileIndex;
          hintPacket = pno;
          const f = pipe.hintAt(slot.fileIndex, pno);
          if (f >= 0) {
            tickHint(f);
            ticks.resync();
            if (t < ticks.at) {
              // The grid coarsened past this row: no tick here.
              if (i > from) {
                post(slot, from, i, null);
                slot.scan = i;
              }
              continue;
            }
          }
        }
        guard = from === i ? guard + 1 : 0;
        if (guard >= 1_000_000)
          ticks.at = Number.POSITIVE_INFINITY; // as the single driver's guard
        else fireTick(slot, from, i, t);
        continue;
      }
      post(slot, from, i, null);
      slot.scan = i;
      pipe.release(slot);
      slot = null;
    }
    if (outstanding !== null) await settleTick();
    const decode = pipe.finish();

    const end = endTime ?? last;
    if (end !== null && onTick) {
      for (let g = 0; ticks.at <= end && g < 1_000_000; g++) {
        fireTick(slots[0]!, 0, 0, end);
        await settleTick();
      }
    }
    if (end !== null) clockAtSeconds(end);
    pumpMain(true);
    const w0 = performance.now();
    await Promise.all(slots.map((s) => s.busy));
    check();
    const fin: FinishTask = { op: "finish", end, clock: clockStarted ? [maxSec, maxNsec] : null };
    const finals = (await Promise.all(pools.map((p) => p.run(fin) as Promise<ShardFinal[]>))).flat();
    waitMs += performance.now() - w0;
    finals.sort((a, b) => a.shard - b.shard);
    const endJiffies = clockStarted ? clock.wrap(rawNow) : 0;
    const m0 = performance.now();
    const merged = mergeShards(settings, { gc, seed }, finals, start, endJiffies);
    merged.clockBackwards = clockBackwards;
    const mergeMs = performance.now() - m0;
    const byThread = (k: "busyMs" | "barrierMs" | "barrierEpochs"): number[] =>
      Array.from(
        { length: threads },
        (_, w) => finals.find((x) => shardOwner(x.shard, shards, threads, mainTracks) === w)?.[k] ?? 0,
      );
    clean = true;
    return {
      conntrack: merged,
      stats: merged.stats,
      ctstate: merged.ctstate,
      decode,
      files: pipe.files,
      captureErrors: pipe.errors,
      packets,
      afterEnd,
      firstTime: first,
      lastTime: last,
      endTime: end,
      endJiffies,
      elapsedMs: performance.now() - startedAt,
      shards,
      threads,
      decodeThreads,
      perShard: finals.map((x) => x.stats),
      interrupted: pipe.interrupted,
      timing: {
        decodeMs: decodeMs + pipe.readMs,
        waitMs: waitMs + pipe.waitMs,
        readMs: pipe.readMs,
        decodeWaitMs: pipe.waitMs,
        decodeWorkerMs: pipe.workerMs,
        mergeMs,
        tasks,
        threadBusyMs: byThread("busyMs"),
        threadBarrierMs: byThread("barrierMs"),
        threadBarrierEpochs: byThread("barrierEpochs"),
      },
    };
  } catch (e) {
    Atomics.store(sync, SYNC_ABORT, 1);
    Atomics.notify(sync, 0);
    pumpMain(true); // queued tasks settle (those at the barrier fail at once on the abort flag)
    // Every task still on a worker must settle before its pool is destroyed: a reply to a task the pool
    // no longer knows is an 'error' event ("Unexpected message from Worker") that ended the process.
    // Workers stop at the abort flag; the wait is bounded all the same.
    await Promise.race([
      Promise.allSettled([...inflight]),
      new Promise((r) => setTimeout(r, 10_000).unref()),
    ]);
    await Promise.all(slots.map((s) => s.busy));
    // A failed task makes other awaits reject too: report the first failure with its capture position.
    if (failure !== null) throw failure;
    throw e;
  } finally {
    await Promise.all([pipe.destroy(), ...pools.map((p) => p.destroy(clean))]);
  }
}
