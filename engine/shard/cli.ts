/**
 * The sharded replay as the commands use it: --threads / --shards parsing, one entry point that picks
 * the in-process driver (no flags: one table, one thread) or the worker-thread driver, SIGINT handling,
 * and the per-shard `conntrack -S` text.
 */
import os from "node:os";
import { type Command, InvalidArgumentError } from "commander";
import type { CtSettings } from "../conntrack/settings.js";
import { type ReplayOptions, type ReplayResult, replayCaptures } from "../replay.js";
import { conntrackS } from "../report/kernel-text.js";
import type { ConntrackView } from "../stats/timeline.js";
import { defaultDecodeThreads, defaultShards, replaySharded, type ShardedReplayResult } from "./index.js";
import { MAX_SHARDS } from "./protocol.js";
import { ShardPool } from "./shard-pool.js";
import { addCounters } from "./snapshot.js";

export interface ShardCliOptions {
  threads?: number;
  shards?: number;
  /** Decode threads of a sharded replay (default: defaultDecodeThreads). */
  decodeThreads?: number;
  /** Worker threads shared by the replays of one command (see withShardPool). */
  pool?: ShardPool;
}

/**
 * Wraps a command action that may replay several times (size, compare, check): its sharded replays take
 * their worker threads from one ShardPool, warm after the first replay, closed when the action ends.
 */
export function withShardPool<A extends unknown[]>(
  action: (pool: ShardPool, ...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const pool = new ShardPool();
    try {
      await action(pool, ...args);
    } finally {
      await pool.close();
    }
  };
}

export const DECODE_THREADS_HELP =
  "decode threads of a sharded replay (default 0: the main thread decodes; N: it only reads and copies records for N threads to decode, which measured slower on 2 CPUs)";

function count(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

/** --threads / --shards for commands that replay through runReplayDriver (size, compare, check). */
export function addShardOptions(cmd: Command): Command {
  return cmd
    .option(
      "--threads <n>",
      "track on N threads: the main thread (which also reads and decodes) and N-1 worker threads (0 or 1 without --shards = in-process, one table)",
      count("--threads"),
    )
    .option(
      "--shards <n>",
      "conntrack shards (default: 2N-1 for N threads: two per worker thread, one on the main thread; one global nf_conntrack_max)",
      count("--shards"),
    )
    .option("--decode-threads <n>", DECODE_THREADS_HELP, count("--decode-threads"));
}

/** The shard options of parsed CLI options, without absent keys. */
export function shardOptions(o: ShardCliOptions): ShardCliOptions {
  return {
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.shards !== undefined ? { shards: o.shards } : {}),
    ...(o.decodeThreads !== undefined ? { decodeThreads: o.decodeThreads } : {}),
  };
}

/** Threads and shards to use; null = the in-process single-table driver. */
export function shardPlan(
  o: ShardCliOptions,
): { threads: number; shards: number; decodeThreads: number } | null {
  if (o.threads === undefined && o.shards === undefined) return null;
  // One thread and one table is the in-process driver: the sharded one would add only its overhead there
  // (measured ~15-20 % on bench5m) and would know the peak only at ticks.
  if ((o.threads === 0 || o.threads === 1) && (o.shards ?? 1) <= 1) return null;
  const wanted = Math.max(1, o.threads ?? os.availableParallelism());
  const shards = Math.min(MAX_SHARDS, Math.max(1, o.shards ?? defaultShards(wanted)));
  const threads = Math.min(shards, wanted);
  return { threads, shards, decodeThreads: o.decodeThreads ?? defaultDecodeThreads(threads) };
}

export function isSharded(r: ReplayResult): r is ShardedReplayResult {
  return "perShard" in r;
}

/**
 * Runs a replay with the driver the options ask for. The hooks are replayCaptures-style (report and
 * timeline hooks); with shards they receive a view summed over the shards, which is all they read.
 * SIGINT stops reading; the partial result is returned (interrupted = true).
 */
export async function runReplayDriver(
  files: readonly string[],
  settings: CtSettings,
  o: ShardCliOptions,
  opts: ReplayOptions,
): Promise<ReplayResult | ShardedReplayResult> {
  const plan = shardPlan(o);
  if (plan === null) return replayCaptures(files, settings, opts);
  const ac = new AbortController();
  const onSigint = (): void => {
    process.stderr.write("ctreplay: interrupted, finishing the packets already read\n");
    ac.abort();
  };
  process.once("SIGINT", onSigint);
  try {
    const { onTick, conntrack: _unused, ...rest } = opts;
    const r = await replaySharded(files, settings, {
      ...rest,
      ...plan,
      ...(o.pool ? { pool: o.pool } : {}),
      signal: ac.signal,
      // The timeline/report hooks only read the ConntrackView members of the table they are given.
      ...(onTick ? { onTick: onTick as unknown as (t: number, v: ConntrackView) => void } : {}),
    });
    if (r.interrupted) {
      process.stderr.write(
        `ctreplay: interrupted: the result covers the ${r.packets} packets read before SIGINT\n`,
      );
      process.exitCode = 130;
    }
    return r;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

/** `conntrack -S` with one line per shard (cpu=N), then the sum over shards. */
export function shardedConntrackS(r: ShardedReplayResult): string {
  const sum = addCounters({}, {}) as Record<string, number>;
  let out = "";
  r.perShard.forEach((s, i) => {
    out += `${conntrackS(s as unknown as Record<string, number>, i)}\n`;
    addCounters(sum, s as unknown as Record<string, number>);
  });
  return `${out}# sum over ${r.perShard.length} shards: ${conntrackS(sum, 0).replace(/^cpu=\S*\s*/, "")}\n`;
}
