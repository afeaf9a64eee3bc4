/**
 * Shared memory layout between the parallel decode pipeline's main thread (engine/shard/decode-pool.ts)
 * and its decode workers (workers/decode-worker.ts): record slots (a copy of capture records: a
 * RecordBatch whose columns and bytes live in SharedArrayBuffers), the task message, and DecodeStats packed as a Float64Array so a
 * task's counter deltas cross threads without an object per counter.
 */
import { RecordBatch } from "../capture/record-batch.js";
import type { DecodeStats } from "../decode/stats.js";
import { SKIP_REASONS } from "../decode/stats.js";

/** A ring slot's records: a RecordBatch over shared columns whose bytes live in `data` (also shared). */
export function sharedRecords(
  capacity: number,
  cols: SharedArrayBuffer,
  data: SharedArrayBuffer,
): RecordBatch {
  const r = new RecordBatch(capacity, cols);
  r.data = new Uint8Array(data);
  return r;
}

/** What every decode worker gets once (piscina workerData). */
export interface DecodeWorkerData {
  /** Per slot: record columns, PacketBatch buffer, shard column, stats vector. */
  recCols: SharedArrayBuffer[];
  batches: SharedArrayBuffer[];
  shardCols: SharedArrayBuffer[];
  stats: SharedArrayBuffer[];
  capacity: number;
  verifyChecksums: boolean;
  /** Shard count for the shard byte (1: every row gets 0). */
  shards: number;
  /** Test hook: throw while decoding this capture packet number. */
  failAtPacket?: number;
}

export interface DecodeTask {
  slot: number;
  /** Records in the slot. */
  count: number;
  /** The slot's record bytes (a SAB: shared, not copied) and its generation (bumped when replaced). */
  data: SharedArrayBuffer;
  gen: number;
}

export interface DecodeTaskResult {
  /** Rows written (batch.count). */
  rows: number;
  /** PK_DEFER rows among them (fragments for the main thread). */
  deferred: number;
  /** SKIP_UNSUPPORTED_LINKTYPE per link type in this task, [linkType, n] pairs in first-seen order. */
  linkTypes: number[] | null;
  /** Rows the decoder's WebAssembly fast path decoded (the rest took the JavaScript decoder). */
  fastRows: number;
  /** Time in the task (ms). */
  ms: number;
}

// Packed DecodeStats: scalars, then skipped[], l4[256], badChecksum[256].
const ST_PACKETS = 0;
const ST_IPV4 = 1;
const ST_IPV6 = 2;
const ST_ROWS = 3;
const ST_TRUNCATED = 4;
const ST_MARTIAN = 5;
const ST_FRAGMENTS = 6;
const ST_FIRST = 7;
const ST_LAST = 8;
const ST_SKIPPED = 9;
const ST_L4 = ST_SKIPPED + SKIP_REASONS.length;
const ST_BAD = ST_L4 + 256;
export const STATS_WORDS = ST_BAD + 256;

/** Zeroes the counters a decode worker counts (defragmentation is never used there). */
export function resetDecodeStats(st: DecodeStats): void {
  st.packets = st.ipv4 = st.ipv6 = st.rows = st.truncated = st.martian = st.fragments = 0;
  st.firstTime = st.lastTime = Number.NaN;
  st.skipped.fill(0);
  st.l4.fill(0);
  st.badChecksum.fill(0);
  st.unsupportedLinkTypes.clear();
}

export function packDecodeStats(st: DecodeStats, v: Float64Array): void {
  v[ST_PACKETS] = st.packets;
  v[ST_IPV4] = st.ipv4;
  v[ST_IPV6] = st.ipv6;
  v[ST_ROWS] = st.rows;
  v[ST_TRUNCATED] = st.truncated;
  v[ST_MARTIAN] = st.martian;
  v[ST_FRAGMENTS] = st.fragments;
  v[ST_FIRST] = st.firstTime;
  v[ST_LAST] = st.lastTime;
  v.set(st.skipped, ST_SKIPPED);
  v.set(st.l4, ST_L4);
  v.set(st.badChecksum, ST_BAD);
}

/** Adds a packed task delta (and its link-type pairs) to st; first/last time merge as min/max. */
export function addDecodeStats(st: DecodeStats, v: Float64Array, linkTypes: number[] | null): void {
  st.packets += v[ST_PACKETS]!;
  st.ipv4 += v[ST_IPV4]!;
  st.ipv6 += v[ST_IPV6]!;
  st.rows += v[ST_ROWS]!;
  st.truncated += v[ST_TRUNCATED]!;
  st.martian += v[ST_MARTIAN]!;
  st.fragments += v[ST_FRAGMENTS]!;
  const first = v[ST_FIRST]!;
  const last = v[ST_LAST]!;
  if (!(first >= st.firstTime)) st.firstTime = Number.isNaN(first) ? st.firstTime : first;
  if (!(last <= st.lastTime)) st.lastTime = Number.isNaN(last) ? st.lastTime : last;
  for (let r = 0; r < SKIP_REASONS.length; r++) st.skipped[r] = st.skipped[r]! + v[ST_SKIPPED + r]!;
  for (let p = 0; p < 256; p++) {
    st.l4[p] = st.l4[p]! + v[ST_L4 + p]!;
    st.badChecksum[p] = st.badChecksum[p]! + v[ST_BAD + p]!;
  }
  if (linkTypes) {
    const m = st.unsupportedLinkTypes;
    for (let k = 0; k < linkTypes.length; k += 2) {
      const lt = linkTypes[k]!;
      m.set(lt, (m.get(lt) ?? 0) + linkTypes[k + 1]!);
    }
  }
}
