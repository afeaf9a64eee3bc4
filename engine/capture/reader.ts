/**
 * The chunked reader shared by both formats: one reusable buffer holds the current chunk; records lying
 * fully inside it are handed out zero-copy (RecordBatch offsets into the buffer); the unread tail moves to
 * the front before the next refill. Format subclasses implement parse().
 *
 * A file is read synchronously into the chunk while that is a copy from the page cache (see FileSource).
 * Once a read had to wait for the disk, the source asks for read-ahead: when a batch is handed out, the next
 * chunk is already being read into a second buffer of the same size (after a headroom), so the caller
 * decodes while the read is in flight. The refill then copies just the unread tail into the headroom and
 * swaps buffers. Bytes the swap cannot use (a tail larger than the headroom) are served to the ordinary
 * refill loop before the source is read again, so buffer growth, offsets and errors are those of the plain
 * loop.
 */
import { chunkBuffer } from "./chunk-memory.js";
import { CaptureError } from "./error.js";
import type { RecordBatch } from "./record-batch.js";
import type { ByteSource } from "./source.js";
import type { CaptureInfo, CaptureReader } from "./types.js";

export const MiB = 1024 * 1024;
/** Largest record/block accepted (a length field above this is an error, checked before any allocation). */
export const MAX_RECORD_BYTES = 64 * MiB;
/** Upper bound of the chunk buffer: one maximal block plus slack. */
export const MAX_BUFFER_BYTES = MAX_RECORD_BYTES + 4 * MiB;
/**
 * Chunk size: small enough that the chunk and its read-ahead twin stay in one core's L2 (1 MiB here) while
 * they are decoded. With 4 MiB chunks the 8 MiB of streaming packet bytes crowded the shared L3, and a
 * tracking thread on the other core paid for it (bench5m, main thread + 1 worker, interleaved A/B pairs:
 * 512 KiB faster in 6 of 6, 5-22 % less wall time). Bigger records grow the buffer as before.
 */
export const DEFAULT_BUFFER_BYTES = 512 * 1024;
/** A refill keeps reading a stream until it has at least this much (or the buffer is full / input ends). */
const MIN_REFILL_BYTES = 256 * 1024;
/** Read-ahead buffers only up to this size (a grown buffer for huge records reads on demand). */
const READ_AHEAD_MAX_BUFFER = 16 * MiB;

/** parse() results besides "bytes needed". */
export const PARSE_FULL = 0;
export const PARSE_FATAL = -1;

export interface ReaderInit {
  info: CaptureInfo;
  src: ByteSource;
  totalBytes: number | null;
  buf: Uint8Array;
  /** Bytes already in buf (from detection), and where parsing starts. */
  end: number;
  start: number;
  eof: boolean;
  strict: boolean;
  /** OpenOptions.wasmRecords. */
  wasmRecords: boolean;
}

export abstract class BaseReader implements CaptureReader {
  readonly info: CaptureInfo;
  error: CaptureError | null = null;
  readonly skipped: Record<string, number> = {};
  readonly totalBytes: number | null;
  protected buf: Uint8Array;
  protected dv: DataView;
  /** Next unparsed byte in buf; end of valid data in buf; stream offset of buf[0]. */
  protected start: number;
  protected end: number;
  protected base = 0;
  protected eof: boolean;
  /** Packet records delivered so far (the last packetNo). */
  protected packets = 0;
  protected readonly strict: boolean;
  /** What parse() was waiting for when it asked for more bytes (for the truncation message). */
  protected wanting = "record";
  private readonly src: ByteSource;
  private finished = false;
  /** Set when the source failed (e.g. gzip cut short): reported once the bytes before it are parsed. */
  private inputFailure: string | null = null;
  private closed = false;
  /** Read-ahead: the second buffer, the read in flight into it (at aheadAt), and its delivered result. */
  private spare: Uint8Array | null = null;
  private spareDv: DataView | null = null;
  private ahead: Promise<number> | null = null;
  private aheadAt = 0;
  /** Read-ahead bytes not swapped in, spare[pendStart, pendEnd), then pendStatus (0 end / -1 failure). */
  private pendStart = 0;
  private pendEnd = 0;
  private pendStatus: number | null = null;

  constructor(init: ReaderInit) {
    this.info = init.info;
    this.src = init.src;
    this.totalBytes = init.totalBytes;
    this.buf = init.buf;
    this.dv = new DataView(init.buf.buffer, init.buf.byteOffset, init.buf.byteLength);
    this.start = init.start;
    this.end = init.end;
    this.eof = init.eof;
    this.strict = init.strict;
  }

  get bytesRead(): number {
    return this.src.bytesRead;
  }

  /**
   * Input consumed by the records handed out so far: the stream offset just past the last one, which does
   * not depend on read-ahead timing (bytesRead does). For gzip, whose stream offsets are not file offsets,
   * the compressed bytes read.
   */
  get position(): number {
    return this.info.gzip ? this.src.bytesRead : this.base + this.start;
  }

  get bufferBytes(): number {
    return this.buf.length;
  }

  /**
   * Appends complete records at this.start.. to batch. Returns PARSE_FULL when the batch is full,
   * PARSE_FATAL after setting this.error, or the number of contiguous bytes needed at this.start.
   */
  protected abstract parse(batch: RecordBatch): number;

  async readBatch(batch: RecordBatch): Promise<number> {
    batch.count = 0;
    while (!this.finished) {
      batch.data = this.buf;
      const need = this.parse(batch);
      if (need === PARSE_FULL) {
        this.readAhead();
        return batch.count;
      }
      if (need === PARSE_FATAL) {
        this.finished = true;
        return batch.count;
      }
      // Records already in the batch point into buf: hand them out before moving bytes.
      if (batch.count > 0) {
        this.readAhead();
        return batch.count;
      }
      if (this.eof) {
        const avail = this.end - this.start;
        if (this.inputFailure !== null) {
          // Everything before the broken input has been delivered; report where the data stopped.
          this.fail(this.end, this.inputFailure);
        } else if (avail > 0) {
          this.fail(this.start, `truncated ${this.wanting}: ${avail} of ${need} bytes before end of input`);
        }
        this.finished = true;
        return 0;
      }
      await this.refill(need);
    }
    batch.data = this.buf;
    return 0;
  }

  async close(): Promise<void> {
    this.finished = true;
    if (this.closed) return;
    this.closed = true;
    const a = this.ahead;
    this.ahead = null;
    // FileHandle.close waits for the read in flight; the result is dropped (reads never reject).
    await this.src.close();
    if (a !== null) await a;
  }

  /** Starts reading the next chunk into the spare buffer, unless one is in flight or bytes are pending. */
  private readAhead(): void {
    if (!this.src.readAhead || this.ahead !== null || this.eof || this.finished) return;
    if (this.pendStatus !== null) return;
    if (this.pendStart < this.pendEnd) return;
    const size = this.buf.length;
    if (size > READ_AHEAD_MAX_BUFFER) return;
    if (this.spare === null || this.spare.length !== size) {
      this.spare = chunkBuffer(size);
      this.spareDv = new DataView(this.spare.buffer);
    }
    // Headroom for the unread tail: 1/16 of the buffer (32 KiB for the default 512 KiB).
    this.aheadAt = size >>> 4;
    this.ahead = this.src.read(this.spare, this.aheadAt, size - this.aheadAt);
  }

  /** src.read, serving read-ahead bytes (and then its end/failure result) first. */
  private async readSource(dst: Uint8Array, off: number, len: number): Promise<number> {
    if (this.pendStart < this.pendEnd) {
      const k = Math.min(len, this.pendEnd - this.pendStart);
      dst.set(this.spare!.subarray(this.pendStart, this.pendStart + k), off);
      this.pendStart += k;
      return k;
    }
    if (this.pendStatus !== null) {
      const r = this.pendStatus;
      this.pendStatus = null;
      return r;
    }
    return this.src.read(dst, off, len);
  }

  /**
   * Collects the read-ahead: swaps it in (tail copied into the headroom) when the tail fits there and the
   * needed bytes fit after it; otherwise leaves its bytes pending for the refill loop. Returns bytes swapped in.
   */
  private async takeAhead(need: number): Promise<number> {
    const a = this.ahead;
    if (a === null) return 0;
    this.ahead = null;
    const n = await a;
    const spare = this.spare!;
    const at = this.aheadAt;
    const tail = this.end - this.start;
    if (n > 0 && tail <= at && at - tail + need <= spare.length && spare.length === this.buf.length) {
      spare.set(this.buf.subarray(this.start, this.end), at - tail);
      const dv = this.spareDv!;
      this.spare = this.buf;
      this.spareDv = this.dv;
      this.buf = spare;
      this.dv = dv;
      this.base += this.start - (at - tail);
      this.start = at - tail;
      this.end = at + n;
      return n;
    }
    if (n > 0) {
      this.pendStart = at;
      this.pendEnd = at + n;
    } else {
      this.pendStatus = n;
    }
    return 0;
  }

  /** Records a fatal error at buffer position `at` for the next packet. */
  protected fail(at: number, message: string): number {
    this.error = new CaptureError(this.info.file, this.base + at, this.packets + 1, message);
    return PARSE_FATAL;
  }

  /** Counts a non-fatal anomaly or skipped block. */
  protected count(reason: string): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }

  /** A malformed-but-readable record: counted, or fatal (false, error set) in strict mode. */
  protected anomaly(at: number, reason: string, detail: string): boolean {
    if (this.strict) {
      this.fail(at, detail);
      return false;
    }
    this.count(reason);
    return true;
  }

  /** Moves the unread tail to the front, grows the buffer if one record needs more, reads more input. */
  private async refill(need: number): Promise<void> {
    let got = await this.takeAhead(need);
    if (got === 0 && this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.base += this.start;
      this.end -= this.start;
      this.start = 0;
    }
    // After a swap start > 0, but start + need fits the buffer, so the loop never grows it then.
    while (this.end - this.start < need || (got < MIN_REFILL_BYTES && this.end < this.buf.length)) {
      if (this.end === this.buf.length) {
        // Grow only once the buffer is full of real input, so a huge length field in a short or
        // streamed input costs at most 2x the bytes actually present (need <= MAX_RECORD_BYTES + header).
        const size = Math.min(this.buf.length * 2, MAX_BUFFER_BYTES);
        const grown = chunkBuffer(size);
        grown.set(this.buf.subarray(0, this.end));
        this.buf = grown;
        this.dv = new DataView(grown.buffer);
      }
      const n = await this.readSource(this.buf, this.end, this.buf.length - this.end);
      if (n < 0) {
        this.inputFailure = this.src.failure ?? "read failed";
        this.eof = true;
        break;
      }
      if (n === 0) {
        this.eof = true;
        break;
      }
      this.end += n;
      got += n;
    }
  }
}
