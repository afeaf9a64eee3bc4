/**
 * Messages between the sharded replay's main thread (engine/shard/index.ts) and its shard workers
 * (workers/shard-worker.ts). Batches are never in a message: every worker was given the ring's
 * SharedArrayBuffers at init and a task only names a slot and a row range.
 */
import type { CtStateCounters, CtStatsCounters } from "../conntrack/ct-stats.js";
import type { GcMode } from "../conntrack/gc.js";
import type { CtSettings } from "../conntrack/settings.js";
import { TALLY_LEN } from "../conntrack/tally.js";

/** A worker thread failed (a bug): where in the capture it happened. */
export class ShardWorkerError extends Error {
  constructor(
    readonly file: string,
    readonly packetNo: number | null,
    readonly detail: string,
    /** Which pool failed: a shard (tracking) worker or a decode worker. */
    readonly role: "shard" | "decode" = "shard",
  ) {
    super(`${file}: ${packetNo !== null ? `packet ${packetNo}: ` : ""}${role} worker failed: ${detail}`);
    this.name = "ShardWorkerError";
  }
}

/**
 * What a shard thread throws when it stops at the barrier because another thread failed (abort flag): a
 * consequence, never the failure to report. Crosses threads as a plain Error, so it is told by message.
 */
export const REPLAY_ABORTED = "replay aborted";

/** Shard byte of a row that no shard replays (after --end-time). */
export const SHARD_SKIP = 255;
/** Most shards one replay can use (the shard column is a byte; 255 = skip). */
export const MAX_SHARDS = 254;

/**
 * sync Int32Array layout: [0] arrivals (shard-epochs finished: the word waiters sleep on), [1] abort flag,
 * then each shard's count at the end of its last SYNC_RING epochs (slot epoch % SYNC_RING), its largest
 * count at any epoch end so far, the replay's row total at its last epoch end, and the last epoch it
 * finished. syncWords(shards) is the length.
 *
 * Per-shard epochs, not a sum of arrivals: a shard far from nf_conntrack_max runs ahead without waiting,
 * so a sum can reach "every shard finished epoch e" while one has not, and a two-slot count buffer can be
 * overwritten by a shard two epochs ahead before a slower one read it (both made table-full replays differ
 * run to run). A shard now writes epoch e's count only once every shard finished e - SYNC_RING + 1, i.e.
 * read what that slot held.
 */
export const SYNC_ARRIVALS = 0;
export const SYNC_ABORT = 1;
export const SYNC_COUNTS = 2;
export const SYNC_RING = 64;
export const syncCount = (shards: number, epoch: number, s: number): number =>
  SYNC_COUNTS + (epoch % SYNC_RING) * shards + s;
export const syncPeak = (shards: number): number => SYNC_COUNTS + SYNC_RING * shards;
export const syncRows = (shards: number): number => SYNC_COUNTS + (SYNC_RING + 1) * shards;
export const syncDone = (shards: number): number => SYNC_COUNTS + (SYNC_RING + 2) * shards;
export const syncWords = (shards: number): number => SYNC_COUNTS + (SYNC_RING + 3) * shards;

export interface InitTask {
  op: "init";
  /** Shard ids this worker thread owns. */
  shards: number[];
  totalShards: number;
  settings: CtSettings;
  gc: GcMode;
  seed: number;
  capacity?: number;
  /** The ring: PacketBatch buffers and their shard columns (one byte per row). */
  batches: SharedArrayBuffer[];
  shardCols: SharedArrayBuffer[];
  batchCapacity: number;
  /** Barrier + per-epoch shard counts (see SYNC_*). */
  sync: SharedArrayBuffer;
  /** Per-thread chain-length regions of a tick (null: no timeline; see sample.ts). */
  chains: SharedArrayBuffer | null;
  /** This thread's region in `chains` (regions: the tracking threads that own shards). */
  chainThread: number;
  /** Shards wait for each other at every epoch (needed when nf_conntrack_max is finite). */
  lockstep: boolean;
  /** Test hook: throw while processing this capture packet number (fault injection). */
  failAtPacket?: number;
}

export interface RunTask {
  op: "run";
  /** 1-based task sequence number: the epoch. */
  epoch: number;
  /** Rows handed to the shards before this epoch (mod 2^32). */
  rowsBefore: number;
  slot: number;
  from: number;
  to: number;
  /** Capture time (sec, nsec) that started the clock; set until every worker has it. */
  start: [number, number] | null;
  /** Latest capture time (sec, nsec) seen by the replay after these rows: each shard's clock goes there. */
  clock: [number, number] | null;
  /** Timeline boundary after these rows: advance to it and sample (null: none). */
  tick: number | null;
}

export interface FinishTask {
  op: "finish";
  /** Evaluation time (advanceTo), null without packets. */
  end: number | null;
  clock: [number, number] | null;
}

export type ShardTask = InitTask | RunTask | FinishTask;

/** Sample vector layout (per shard, summed by the main thread): the count, then the tally. */
export const S_COUNT = 0;
export const S_TALLY = 1; // TALLY_LEN numbers (engine/conntrack/tally.ts)
export const S_LEN = S_TALLY + TALLY_LEN;

export interface ShardSample {
  shard: number;
  v: Float64Array;
  stats: CtStatsCounters;
}

export interface ShardFinal {
  shard: number;
  stats: CtStatsCounters;
  ctstate: CtStateCounters;
  count: number;
  /** Linked entries packed ENTRY_WORDS u32 words each (see snapshot.ts). */
  entries: Uint32Array;
  n: number;
  /** The owning thread's time in run tasks, and in the epoch barrier within them (ms). */
  busyMs: number;
  barrierMs: number;
  /** Epochs in which the thread waited at the barrier (near nf_conntrack_max). */
  barrierEpochs: number;
}
