/**
 * Parallel read + decode: the main thread only reads captures and copies each batch of records into a
 * SharedArrayBuffer record slot; a piscina pool of decode threads decodes record slot k into PacketBatch
 * slot k (also SAB) and writes each row's shard byte. Slots come back to the consumer strictly in capture
 * order. IP fragments are the one stateful part of decoding: workers leave them as PK_DEFER rows and the
 * consumer resolves those rows in order on the main thread (resolve(): its own, defragmenting Decoder), so
 * the rows and DecodeStats are exactly those of one Decoder over the whole input.
 *
 * The ring is bounded (K slots): a slot is refilled only after the consumer released it and its `busy`
 * promise (e.g. the shard workers still reading the batch) settled, so memory is bounded on any input and
 * reading pauses while no slot is free. With 0 decode threads the main thread decodes into the slot itself
 * (no copy, no workers). See docs/sharding.md.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import {
  CaptureError,
  type CaptureReader,
  openCapture,
  RecordBatch,
  recordBatchBytes,
} from "../capture/index.js";
import { Decoder } from "../decode/decoder.js";
import { PacketBatch, PK_DEFER, packetBatchBytes } from "../decode/packet-batch.js";
import type { DecodeStats } from "../decode/stats.js";
import { READ_BATCH, type ReplayFileResult, type ReplayProgress } from "../replay.js";
import {
  addDecodeStats,
  type DecodeTask,
  type DecodeTaskResult,
  type DecodeWorkerData,
  STATS_WORDS,
  sharedRecords,
} from "./decode-protocol.js";
import { destroyPool, watchLoaded } from "./pool-destroy.js";
import { ShardWorkerError } from "./protocol.js";
import { shardOf } from "./shard-hash.js";

export interface DecodePipelineOptions {
  /** Decode worker threads; 0 = the calling thread decodes (no copy, no workers). */
  threads: number;
  /** Shard count for the per-row shard byte (1: all rows get 0). */
  shards: number;
  /** Rows (and records) per slot. */
  batchSize: number;
  /** Slots in the ring (>= 2). */
  ring: number;
  verifyChecksums: boolean;
  /** Stops reading; what was read is still delivered. */
  signal?: AbortSignal;
  onProgress?: (p: ReplayProgress) => void;
  /** The consumer's packet count, for onProgress. */
  packets?: () => number;
  /** Record bytes per slot (default batchSize * 512, at least 64 KiB); a larger record grows its slot. */
  slotBytes?: number;
  /** Test hook: the decode worker holding this capture packet number throws. */
  failAtPacket?: number;
  /** Record where each batch read ends, for hintAt (tickHint); otherwise nothing is kept. */
  tickHints?: boolean;
  /**
   * Called before next() waits for a slot's `busy` (the ring is full): work the caller deferred that the
   * slot may wait on must run now (the main thread's shard tasks, see engine/shard/index.ts).
   */
  beforeWait?: () => void;
}

// Slot states.
const FREE = 0; // refillable once `busy` settled
const QUEUED = 1; // filled, decoding or decoded, not yet handed to the consumer
const TAKEN = 2; // the consumer's until release()

export interface DecodeSlot {
  readonly index: number;
  /** Decoded rows (count set); shard byte of row i in col[i]. */
  readonly batch: PacketBatch;
  readonly col: Uint8Array;
  /** Index of the input file the slot's rows come from (a slot holds one file's rows). */
  fileIndex: number;
  /** Consumer-owned: next row to scan. */
  scan: number;
  /** Consumer-owned: the slot's rows are still being read elsewhere (busy not settled yet). */
  pending: boolean;
  /** Consumer-owned: settles when the slot's rows are no longer needed; the slot is refilled after it. */
  busy: Promise<void>;
  /** PK_DEFER rows in the batch (0: nothing to resolve). */
  deferred: number;
  state: number;
  readonly recs: RecordBatch | null;
  readonly recCols: SharedArrayBuffer | null;
  dataBuf: SharedArrayBuffer | null;
  gen: number;
  /** Records copied in / bytes of dataBuf used (copy mode). */
  nrec: number;
  used: number;
  decoded: Promise<DecodeTaskResult> | null;
  readonly stats: Float64Array;
}

/** The compiled decode worker module (next to this module's build, or under dist/). */
export function decodeWorkerFile(): string {
  for (const rel of ["../../workers/decode-worker.js", "../../dist/workers/decode-worker.js"]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error("decode worker not built: run `npm run build` (dist/workers/decode-worker.js)");
}

export class DecodePipeline {
  readonly slots: DecodeSlot[] = [];
  /** The main thread's decoder: fragments (resolve) and, with 0 threads, everything. Holds the stats sum. */
  readonly decoder: Decoder;
  readonly files: ReplayFileResult[] = [];
  readonly errors: CaptureError[] = [];
  interrupted = false;
  /** Main thread: reading + copying (+ decoding with 0 threads), waiting for decoded slots (ms). */
  readMs = 0;
  waitMs = 0;
  /** Sum of the decode workers' time in tasks (ms). */
  workerMs = 0;
  /** Rows the decode threads' WebAssembly fast path decoded. */
  fastRows = 0;
  tasks = 0;

  private readonly o: DecodePipelineOptions;
  private readonly paths: readonly string[];
  private readonly K: number;
  private readonly cap: number;
  private readonly dataBytes: number;
  private pool: Piscina | null = null;
  /** Threads of the pool that finished loading (see pool-destroy.ts). */
  private loaded: () => number = () => 0;
  private readonly rec: RecordBatch;
  private f = 0;
  private reader: CaptureReader | null = null;
  private records = 0;
  private recFrom = 0;
  private recN = 0;
  /**
   * [file index, last packetNo, share of the file read] per batch read and not yet passed by hintAt (which
   * the consumer calls at every tick, so this holds about the ring's batches).
   */
  private readonly marks: number[] = [];
  private inputDone = false;
  /** Slots filled so far (the next one to fill is filled % K). */
  private filled = 0;
  private readonly queue: DecodeSlot[] = [];

  constructor(files: readonly string[], opts: DecodePipelineOptions) {
    this.o = opts;
    this.paths = files;
    this.K = Math.max(2, opts.ring);
    this.decoder = new Decoder({ verifyChecksums: opts.verifyChecksums });
    const cap = (Math.max(1, opts.batchSize) + 7) & ~7; // PacketBatch's own rounding
    this.cap = cap;
    // Reads in batches of READ_BATCH records, as the single-table driver does, whatever the slot size:
    // tickHint's values are the reader's position after each such batch (see hintAt).
    this.rec = new RecordBatch(READ_BATCH);
    // Room for cap records of 512 bytes; a bigger single record gets a bigger buffer (see copyIn).
    this.dataBytes = Math.max(1, opts.slotBytes ?? Math.max(1 << 16, cap * 512));
    const copy = opts.threads > 0;
    for (let k = 0; k < this.K; k++) {
      const batch = new PacketBatch(cap, new SharedArrayBuffer(packetBatchBytes(cap)));
      const recCols = copy ? new SharedArrayBuffer(recordBatchBytes(cap)) : null;
      const dataBuf = copy ? new SharedArrayBuffer(this.dataBytes) : null;
      this.slots.push({
        index: k,
        batch,
        col: new Uint8Array(new SharedArrayBuffer(batch.capacity)),
        fileIndex: 0,
        scan: 0,
        pending: false,
        busy: Promise.resolve(),
        deferred: 0,
        state: FREE,
        recs: recCols && dataBuf ? sharedRecords(cap, recCols, dataBuf) : null,
        recCols,
        dataBuf,
        gen: 0,
        nrec: 0,
        used: 0,
        decoded: null,
        stats: new Float64Array(copy ? new SharedArrayBuffer(8 * STATS_WORDS) : new ArrayBuffer(0)),
      });
    }
  }

  get decodeStats(): DecodeStats {
    return this.decoder.stats;
  }

  /** Starts the decode threads (none with threads = 0). */
  async start(): Promise<void> {
    if (this.o.threads <= 0) return;
    const wd: DecodeWorkerData = {
      recCols: this.slots.map((s) => s.recCols!),
      batches: this.slots.map((s) => s.batch.buffer as SharedArrayBuffer),
      shardCols: this.slots.map((s) => s.col.buffer as SharedArrayBuffer),
      stats: this.slots.map((s) => s.stats.buffer as SharedArrayBuffer),
      capacity: this.cap,
      verifyChecksums: this.o.verifyChecksums,
      shards: this.o.shards,
      ...(this.o.failAtPacket !== undefined ? { failAtPacket: this.o.failAtPacket } : {}),
    };
    this.pool = new Piscina({
      filename: decodeWorkerFile(),
      minThreads: this.o.threads,
      maxThreads: this.o.threads,
      idleTimeout: 2 ** 31 - 1,
      recordTiming: false,
      workerData: wd,
    });
    this.loaded = watchLoaded(this.pool);
  }

  /**
   * The next decoded slot in capture order (null: input exhausted). Fills every free slot first, so
   * decoding runs ahead of the consumer by up to the ring. The consumer scans it, resolves its PK_DEFER
   * rows in order, and calls release() when done with it.
   */
  async next(): Promise<DecodeSlot | null> {
    for (;;) {
      // Decode threads: keep them all busy. Main-thread decoding: a decoded slot waiting in the queue is
      // handed out at once (decoding every free slot first would leave the shards idle meanwhile).
      await this.fillAhead(this.pool !== null ? Number.POSITIVE_INFINITY : this.queue.length === 0 ? 1 : 0);
      if (this.queue.length === 0) {
        if (this.inputDone) return null;
        // No free slot without waiting: wait for the oldest one to settle.
        const s = this.slots[this.filled % this.K]!;
        if (s.state === TAKEN) throw new Error("DecodePipeline: every slot is taken (release them)");
        this.o.beforeWait?.();
        const w0 = performance.now();
        await s.busy;
        this.waitMs += performance.now() - w0;
        await this.fillOne(s);
        continue;
      }
      const s = this.queue.shift()!;
      if (s.decoded !== null) {
        const w0 = performance.now();
        let r: DecodeTaskResult;
        try {
          r = await s.decoded;
        } catch (e) {
          throw this.failure(e, s);
        }
        this.waitMs += performance.now() - w0;
        s.decoded = null;
        s.batch.count = r.rows;
        s.deferred = r.deferred;
        this.workerMs += r.ms;
        this.fastRows += r.fastRows;
        addDecodeStats(this.decoder.stats, s.stats, r.linkTypes);
      }
      if (s.batch.count === 0) {
        s.state = FREE; // all records skipped: nothing for the consumer
        continue;
      }
      s.state = TAKEN;
      s.scan = 0;
      return s;
    }
  }

  /**
   * Fills up to `limit` free slots (whose busy already settled) without waiting for any; decoding continues
   * meanwhile. Returns the number filled.
   */
  async fillAhead(limit = Number.POSITIVE_INFINITY): Promise<number> {
    let n = 0;
    for (; n < limit; n++) {
      if (this.inputDone) break;
      const s = this.slots[this.filled % this.K]!;
      if (s.state !== FREE || s.pending) break;
      await s.busy; // settled: pending is false
      await this.fillOne(s);
    }
    return n;
  }

  /** The consumer is done scanning the slot; it is refilled once slot.busy settles. */
  release(s: DecodeSlot): void {
    s.state = FREE;
  }

  /**
   * Decodes the PK_DEFER row i (an IP fragment record) with the main thread's defragmenting decoder;
   * must be called in capture order. True: the row is now the datagram this fragment completed (shard
   * byte set); false: the fragment was held or dropped, the row must be skipped.
   */
  resolve(s: DecodeSlot, i: number): boolean {
    const b = s.batch;
    if (!this.decoder.decodeOne(s.recs!, b.x0[i]!, b, i)) return false;
    s.col[i] = shardOf(b, i, this.o.shards);
    return true;
  }

  /** Ends decoding (open fragment queues count as incomplete); the stats are complete after it. */
  finish(): DecodeStats {
    this.decoder.finish();
    return this.decoder.stats;
  }

  /** Closes the open capture and stops the decode threads. */
  async destroy(): Promise<void> {
    const r = this.reader;
    this.reader = null;
    if (r !== null) await r.close();
    const p = this.pool;
    this.pool = null;
    if (p !== null) await destroyPool(p, this.loaded);
  }

  private failure(e: unknown, s: DecodeSlot): ShardWorkerError {
    const detail = e instanceof Error ? e.message : String(e);
    const file = this.paths[s.fileIndex] ?? "?";
    const m = /^packet (\d+) \(decode\): /.exec(detail);
    if (m) return new ShardWorkerError(file, Number(m[1]), detail.slice(m[0].length), "decode");
    const recs = s.recs!;
    const range = s.nrec > 0 ? ` (batch of packets ${recs.packetNo[0]}-${recs.packetNo[s.nrec - 1]})` : "";
    return new ShardWorkerError(file, null, `${detail}${range}`, "decode");
  }

  private async closeFile(): Promise<void> {
    const r = this.reader!;
    if (r.error) this.errors.push(r.error);
    this.files.push({
      file: this.paths[this.f]!,
      info: r.info,
      records: this.records,
      error: r.error,
      skipped: { ...r.skipped },
    });
    this.reader = null;
    await r.close();
    this.f++;
  }

  /**
   * The share of the input read up to the READ_BATCH-record batch that held record `packetNo` of file
   * `fileIndex` (NaN when unknown), for tickHint. Asked in capture order: earlier batches are dropped.
   */
  hintAt(fileIndex: number, packetNo: number): number {
    const m = this.marks;
    while (m.length > 0 && (m[0]! < fileIndex || (m[0] === fileIndex && m[1]! < packetNo))) m.splice(0, 3);
    return m.length > 0 && m[0] === fileIndex ? m[2]! : Number.NaN;
  }

  /** Fills slot s from the input and submits it (a slot holds one file's records); queues it if not empty. */
  private async fillOne(s: DecodeSlot): Promise<void> {
    this.filled++;
    const t0 = performance.now();
    const copy = this.pool !== null;
    const b = s.batch;
    b.count = 0;
    s.nrec = 0;
    s.used = 0;
    s.deferred = 0;
    s.fileIndex = this.f;
    const filled = (): boolean => (copy ? s.nrec > 0 : b.count > 0);
    for (;;) {
      if (this.recFrom < this.recN) {
        this.recFrom = copy ? this.copyIn(s) : this.decoder.decode(this.rec, this.recFrom, b);
        if (this.recFrom < this.recN) break; // slot full
        continue;
      }
      if (this.reader === null) {
        if (this.f >= this.paths.length || filled()) break;
        const file = this.paths[this.f]!;
        const r = await openCapture(file);
        if (r instanceof CaptureError) {
          this.errors.push(r);
          this.files.push({ file, info: null, records: 0, error: r, skipped: {} });
          this.f++;
          continue;
        }
        this.reader = r;
        this.records = 0;
        s.fileIndex = this.f;
      }
      if (this.o.signal?.aborted) {
        this.interrupted = true;
        while (this.reader !== null) await this.closeFile();
        this.f = this.paths.length;
        break;
      }
      const n = await this.reader.readBatch(this.rec);
      if (n === 0) {
        await this.closeFile();
        if (filled()) break;
        continue;
      }
      this.records += n;
      this.recFrom = 0;
      this.recN = n;
      const total = this.reader.totalBytes;
      if (this.o.tickHints && total) {
        this.marks.push(this.f, this.rec.packetNo[n - 1]!, this.reader.position / total);
      }
      this.o.onProgress?.({
        file: this.paths[this.f]!,
        fileIndex: this.f,
        files: this.paths.length,
        bytesRead: this.reader.bytesRead,
        totalBytes: this.reader.totalBytes,
        packets: this.o.packets?.() ?? 0,
      });
    }
    if (this.recFrom >= this.recN && this.reader === null && this.f >= this.paths.length)
      this.inputDone = true;
    if (copy) {
      if (s.nrec > 0) {
        const recs = s.recs!;
        recs.count = s.nrec;
        const task: DecodeTask = { slot: s.index, count: s.nrec, data: s.dataBuf!, gen: s.gen };
        s.decoded = this.pool!.run(task) as Promise<DecodeTaskResult>;
        // Rejections are reported by next(), in order; keep an early one from being "unhandled".
        s.decoded.catch(() => {});
        this.tasks++;
        s.state = QUEUED;
        this.queue.push(s);
      }
    } else if (b.count > 0) {
      const shards = this.o.shards;
      for (let i = 0; i < b.count; i++) s.col[i] = shardOf(b, i, shards);
      s.decoded = null;
      s.state = QUEUED;
      this.queue.push(s);
    }
    this.readMs += performance.now() - t0;
  }

  /**
   * Copies records recFrom.. of the read batch into s (one `set` for their bytes, offsets rebased) while
   * they fit; returns the next record to copy. A record larger than an empty slot's buffer gets a new,
   * larger buffer for that slot (decode workers pick it up by generation).
   */
  private copyIn(s: DecodeSlot): number {
    const rec = this.rec;
    const recs = s.recs!;
    const from = this.recFrom;
    let j = from;
    const lo = rec.offset[from]!;
    let hi = lo;
    let n = s.nrec;
    // Start at the source's address mod 8: V8 copies into a SharedArrayBuffer word by word only when both
    // sides are aligned alike, else byte by byte (measured 1 vs 5-6 GB/s).
    const start = s.used + ((rec.data.byteOffset + lo - s.used) & 7);
    const room = s.dataBuf!.byteLength - start;
    for (; j < this.recN && n < this.cap; j++, n++) {
      const o = rec.offset[j]!;
      const e = o + rec.caplen[j]!;
      if (o < lo || e - lo > room) break;
      if (e > hi) hi = e;
    }
    if (j === from) {
      if (n >= this.cap || s.nrec > 0) return from; // slot full
      // One record larger than the whole buffer: grow this slot's buffer (rare: records up to 64 MiB).
      let size = s.dataBuf!.byteLength;
      while (size < rec.caplen[from]! + 8) size *= 2;
      s.dataBuf = new SharedArrayBuffer(size);
      recs.data = new Uint8Array(s.dataBuf);
      s.gen++;
      return this.copyIn(s);
    }
    const k0 = s.nrec;
    const cnt = j - from;
    recs.data.set(rec.data.subarray(lo, hi), start);
    const shift = start - lo;
    for (let k = 0; k < cnt; k++) recs.offset[k0 + k] = rec.offset[from + k]! + shift;
    recs.caplen.set(rec.caplen.subarray(from, j), k0);
    recs.origlen.set(rec.origlen.subarray(from, j), k0);
    recs.tsSec.set(rec.tsSec.subarray(from, j), k0);
    recs.tsNsec.set(rec.tsNsec.subarray(from, j), k0);
    recs.linkType.set(rec.linkType.subarray(from, j), k0);
    recs.packetNo.set(rec.packetNo.subarray(from, j), k0);
    s.nrec += cnt;
    s.used = start + (hi - lo);
    return j;
  }
}

/** Rows and stats of a read + decode pass (readDecodeParallel). */
export interface ReadDecodeResult {
  /** Capture records read. */
  records: number;
  /** Rows decoded (datagrams after reassembly): what conntrack would see. */
  rows: number;
  decode: DecodeStats;
  files: ReplayFileResult[];
  captureErrors: CaptureError[];
  timing: { readMs: number; waitMs: number; workerMs: number; tasks: number };
  /** Rows the decode threads' WebAssembly fast path decoded (0 with no decode thread). */
  fastRows: number;
}

/**
 * Read + decode only, through the parallel pipeline: the main thread reads, `threads` decode threads
 * decode, the main thread resolves fragments in order and counts rows. Stats equal one Decoder's.
 */
export async function readDecodeParallel(
  files: readonly string[],
  opts: {
    threads: number;
    verifyChecksums?: boolean;
    batchSize?: number;
    ring?: number;
    slotBytes?: number;
    /** Called with every row, in capture order (fragments resolved), while its batch is in hand. */
    onRow?: (batch: PacketBatch, row: number) => void;
  },
): Promise<ReadDecodeResult> {
  const pipe = new DecodePipeline(files, {
    threads: opts.threads,
    shards: 1,
    batchSize: opts.batchSize ?? 16384,
    ring: opts.ring ?? 2 * opts.threads + 2,
    verifyChecksums: opts.verifyChecksums ?? true,
    ...(opts.slotBytes !== undefined ? { slotBytes: opts.slotBytes } : {}),
  });
  try {
    await pipe.start();
    let rows = 0;
    const onRow = opts.onRow;
    for (let s = await pipe.next(); s !== null; s = await pipe.next()) {
      const b = s.batch;
      if (s.deferred === 0 && onRow === undefined) rows += b.count;
      else
        for (let i = 0; i < b.count; i++) {
          if (b.kind[i] === PK_DEFER && !pipe.resolve(s, i)) continue;
          rows++;
          onRow?.(b, i);
        }
      pipe.release(s);
    }
    const decode = pipe.finish();
    return {
      records: pipe.files.reduce((a, f) => a + f.records, 0),
      rows,
      decode,
      files: pipe.files,
      captureErrors: pipe.errors,
      timing: { readMs: pipe.readMs, waitMs: pipe.waitMs, workerMs: pipe.workerMs, tasks: pipe.tasks },
      fastRows: pipe.fastRows,
    };
  } finally {
    await pipe.destroy();
  }
}
