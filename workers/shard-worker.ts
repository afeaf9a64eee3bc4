/**
 * Shard worker: a piscina task module (one thread per single-thread pool) holding one ShardRunner, the
 * shards this thread owns, across tasks. See engine/shard/shard-runner.ts and docs/sharding.md.
 */
import type { ShardTask } from "../engine/shard/protocol.js";
import { ShardRunner } from "../engine/shard/shard-runner.js";

const runner = new ShardRunner();

/** Task entry point (piscina calls the default export). */
export default function shardTask(t: ShardTask): unknown {
  return runner.task(t);
}
