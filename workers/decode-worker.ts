/**
 * Decode worker (piscina task module of the parallel decode pipeline, engine/shard/decode-pool.ts): decodes
 * record slot k into PacketBatch slot k and writes each row's shard byte. Any worker may take any slot:
 * decoding is stateless here because fragments are deferred to the main thread (Decoder deferFragments).
 * The task's DecodeStats deltas go to the slot's stats vector; the result is a few small fields.
 */
import { parentPort, workerData } from "node:worker_threads";
import { chunkBuffer } from "../engine/capture/chunk-memory.js";
import type { RecordBatch } from "../engine/capture/record-batch.js";
import { Decoder } from "../engine/decode/decoder.js";
import { PacketBatch, PK_DEFER } from "../engine/decode/packet-batch.js";
import {
  type DecodeTask,
  type DecodeTaskResult,
  type DecodeWorkerData,
  packDecodeStats,
  resetDecodeStats,
  sharedRecords,
} from "../engine/shard/decode-protocol.js";
import { WORKER_LOADED } from "../engine/shard/pool-destroy.js";
import { shardOf } from "../engine/shard/shard-hash.js";

interface Slot {
  recs: RecordBatch;
  /** The slot's record bytes (a SharedArrayBuffer, replaced when the main thread grows it: gen). */
  data: Uint8Array;
  gen: number;
  batch: PacketBatch;
  col: Uint8Array;
  stats: Float64Array;
}

let wd: DecodeWorkerData | null = null;
let slots: Slot[] = [];
let decoder: Decoder | null = null;
/**
 * This thread's capture chunk (a WebAssembly memory, engine/capture/chunk-memory.ts): each task's record
 * bytes are copied here from the slot's SharedArrayBuffer in one bulk copy, so the decoder's WebAssembly
 * fast path, which works only in a chunk memory, decodes them (read + decode of bench5m-headers with one
 * decode thread: 0.58-0.65 -> 0.46-0.53 s, the thread's busy time 460-480 -> 300-330 ms).
 */
let chunk: Uint8Array = new Uint8Array(0);

function setup(): DecodeWorkerData {
  // piscina hands its workerData option to the worker thread as is (no need to load piscina here).
  const d = workerData as DecodeWorkerData;
  wd = d;
  decoder = new Decoder({ verifyChecksums: d.verifyChecksums, deferFragments: true });
  slots = d.recCols.map((cols, k) => ({
    recs: sharedRecords(d.capacity, cols, new SharedArrayBuffer(0)),
    data: new Uint8Array(0),
    gen: -1,
    batch: new PacketBatch(d.capacity, d.batches[k]!),
    col: new Uint8Array(d.shardCols[k]!),
    stats: new Float64Array(d.stats[k]!),
  }));
  return d;
}

export default function decodeTask(t: DecodeTask): DecodeTaskResult {
  const t0 = performance.now();
  const d = wd ?? setup();
  const dec = decoder!;
  const s = slots[t.slot]!;
  if (s.gen !== t.gen) {
    s.data = new Uint8Array(t.data);
    s.gen = t.gen;
  }
  const recs = s.recs;
  recs.count = t.count;
  // The slot's records are appended in order: the last one ends the bytes in use.
  const used = t.count > 0 ? recs.offset[t.count - 1]! + recs.caplen[t.count - 1]! : 0;
  if (chunk.length < used) chunk = chunkBuffer(Math.max(used, s.data.length));
  chunk.set(s.data.subarray(0, used));
  recs.data = chunk;
  if (d.failAtPacket !== undefined) {
    for (let i = 0; i < t.count; i++)
      if (recs.packetNo[i] === d.failAtPacket)
        throw new Error(`packet ${d.failAtPacket} (decode): injected failure (failAtPacket)`);
  }
  const st = dec.stats;
  resetDecodeStats(st);
  const b = s.batch;
  b.count = 0;
  // Every record yields at most one row and the slot holds at most `capacity` records: one call.
  const fast0 = dec.fastRows;
  dec.decode(recs, 0, b);
  const n = b.count;
  const col = s.col;
  const shards = d.shards;
  let deferred = 0;
  for (let i = 0; i < n; i++) {
    if (b.kind[i] === PK_DEFER) deferred++;
    else col[i] = shardOf(b, i, shards);
  }
  packDecodeStats(st, s.stats);
  let linkTypes: number[] | null = null;
  if (st.unsupportedLinkTypes.size > 0) {
    linkTypes = [];
    for (const [lt, c] of st.unsupportedLinkTypes) linkTypes.push(lt, c);
  }
  return { rows: n, deferred, linkTypes, fastRows: dec.fastRows - fast0, ms: performance.now() - t0 };
}

// Loaded: the pool may now terminate this thread safely (see engine/shard/pool-destroy.ts).
parentPort?.postMessage(WORKER_LOADED);
