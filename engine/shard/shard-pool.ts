/**
 * Shard worker threads kept from one sharded replay to the next (ShardedReplayOptions.pool). A new worker
 * thread is a fresh V8 isolate that interprets, profiles and compiles the conntrack code again while it
 * tracks: on bench5m with `--threads 2` the worker was busy ~0.5 s longer in a replay on a new thread than
 * on one reused from an earlier replay (2.8-3.0 against 2.3-2.6 s), and the whole replay ran at 1.53-1.59
 * against 1.76-1.93 Mpps. Commands that replay several times in one process (size, compare, check) keep
 * their threads in one ShardPool. A replay that fails destroys the threads it used instead of returning
 * them: their state is not trusted.
 */
import { Piscina } from "piscina";
import { destroyPool, watchLoaded } from "./pool-destroy.js";

/** One shard worker thread: a single-thread piscina pool running workers/shard-worker.js. */
export interface ShardWorkerThread {
  readonly pool: Piscina;
  /** The running replay's handler of pool-level errors (a thread that died outside a task). */
  onError: ((e: unknown) => void) | null;
  /** Set by a pool-level error: the thread is not used again. */
  failed: boolean;
  destroy(): Promise<void>;
}

export function startShardWorker(file: string): ShardWorkerThread {
  const pool = new Piscina({
    filename: file,
    minThreads: 1,
    maxThreads: 1,
    // Enough for every task in flight (never queued on the main thread, where a task could wait
    // behind a main-thread shard blocked at the epoch barrier): the worker orders them by epoch.
    concurrentTasksPerWorker: 1 << 16,
    idleTimeout: 2 ** 31 - 1,
    recordTiming: false,
  });
  const loaded = watchLoaded(pool);
  const t: ShardWorkerThread = {
    pool,
    onError: null,
    failed: false,
    destroy: () => destroyPool(pool, loaded),
  };
  // A pool-level error is a failure for the replay to report, not a crash.
  pool.on("error", (e: unknown) => {
    t.failed = true;
    t.onError?.(e);
  });
  return t;
}

export class ShardPool {
  private idle: ShardWorkerThread[] = [];
  private closed = false;

  /** Idle threads held. */
  get size(): number {
    return this.idle.length;
  }

  /** An idle thread, or a new one. */
  take(file: string): ShardWorkerThread {
    if (this.closed) throw new Error("ShardPool: take() after close()");
    for (let t = this.idle.pop(); t !== undefined; t = this.idle.pop()) {
      if (!t.failed) return t;
      void t.destroy();
    }
    return startShardWorker(file);
  }

  /** Returns a thread whose replay ended cleanly (destroyed instead once the pool is closed). */
  async give(t: ShardWorkerThread): Promise<void> {
    t.onError = null;
    if (this.closed || t.failed) await t.destroy();
    else this.idle.push(t);
  }

  /** Destroys the idle threads; threads given back later are destroyed too. */
  async close(): Promise<void> {
    this.closed = true;
    const idle = this.idle;
    this.idle = [];
    await Promise.all(idle.map((t) => t.destroy()));
  }
}
