/**
 * Shard worker: a piscina task module (one thread per single-thread pool) holding one ShardRunner, the
 * shards this thread owns, across tasks. See engine/shard/shard-runner.ts and docs/sharding.md.
 */
import { parentPort } from "node:worker_threads";
import { WORKER_LOADED } from "../engine/shard/pool-destroy.js";
import type { ShardTask } from "../engine/shard/protocol.js";
import { ShardRunner } from "../engine/shard/shard-runner.js";

const runner = new ShardRunner();

/** Task entry point (piscina calls the default export). */
export default function shardTask(t: ShardTask): unknown {
  return runner.task(t);
}

// Loaded: the pool may now terminate this thread safely (see engine/shard/pool-destroy.ts).
parentPort?.postMessage(WORKER_LOADED);
