/**
 * The chunked reader shared by both formats: one reusable buffer holds the current chunk; records lying
 * fully inside it are handed out zero-copy (RecordBatch offsets into the buffer); the unread tail moves to
 * the front before the next refill. Format subclasses implement parse().
 *
 * Files are read synchronously into the chunk (see FileSource), so a refill holds the thread for the copy
 * from the page cache (~25 us for 512 KiB) and the chunk is warm in this core's cache when it is decoded.
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
 * Chunk size: small enough that the chunk stays in one core's L2 while it is decoded. With 4 MiB chunks (and
 * a read-ahead twin) the 8 MiB of streaming packet bytes crowded the shared L3, and a tracking thread on the
 * other core paid for it (bench5m, main thread + 1 worker, interleaved A/B pairs: 512 KiB faster in 6 of 6,
 * 5-22 % less wall time). Bigger records grow the buffer as before.
 */
export const DEFAULT_BUFFER_BYTES = 512 * 1024;
/** A refill keeps reading a stream until it has at least this much (or the buffer is full / input ends). */
const MIN_REFILL_BYTES = 256 * 1024;

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
   * not depend on how much was read ahead (bytesRead does). For gzip, whose stream offsets are not file offsets,
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
      if (need === PARSE_FULL) return batch.count;
      if (need === PARSE_FATAL) {
        this.finished = true;
        return batch.count;
      }
      // Records already in the batch point into buf: hand them out before moving bytes.
      if (batch.count > 0) return batch.count;
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
    await this.src.close();
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
    let got = 0;
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.base += this.start;
      this.end -= this.start;
      this.start = 0;
    }
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
      const n = await this.src.read(this.buf, this.end, this.buf.length - this.end);
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
