/**
 * Byte sources the reader pulls chunks from: a plain file (fs read straight into the reader's buffer), a
 * Node stream (stdin), or a gunzip stream over either. Failures are returned as -1 + `failure`, never thrown.
 */
import { readSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";

export interface ByteSource {
  /** Copies up to len bytes into dst at off. Resolves the count, 0 at end of input, -1 on failure. */
  read(dst: Uint8Array, off: number, len: number): Promise<number>;
  /** Why the last read() returned -1. */
  readonly failure: string | null;
  /** Raw (file / compressed) bytes consumed so far. */
  readonly bytesRead: number;
  /** The reader should keep one read in flight ahead of parsing (files read from disk; see FileSource). */
  readonly readAhead: boolean;
  close(): Promise<void>;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A read slower than this (bytes per ms, i.e. 1 GB/s) and longer than SLOW_READ_MS waited for the disk. */
const PAGE_CACHE_BYTES_PER_MS = 1e6;
const SLOW_READ_MS = 0.25;

/**
 * A plain file. While it comes from the page cache it is read with fs.readSync straight into the reader's
 * chunk: an async read went through the threadpool and back through the event loop, ~70 us per 512 KiB
 * chunk against ~25 us for the copy itself, on another core, and the decoder then pulled the chunk across
 * cores (bench5m full-size, hot page cache: reader alone 0.31 -> 0.13-0.16 s; read + decode 0.66-0.69 ->
 * 0.56-0.59 s; in-process replay 4.6-4.8 -> 4.4 s). A synchronous read from the disk, though, stops all
 * work meanwhile (bench5m evicted from the page cache: in-process replay 7.3 s): the first read that had
 * to wait for it (slower than 1 GB/s) turns on read-ahead, async reads overlapped with decoding, for the
 * rest of the file (5.1 s).
 */
export class FileSource implements ByteSource {
  failure: string | null = null;
  bytesRead = 0;
  private closed = false;

  constructor(
    readonly fh: FileHandle,
    public readAhead = false,
  ) {}

  async read(dst: Uint8Array, off: number, len: number): Promise<number> {
    try {
      let n: number;
      if (this.readAhead) {
        n = (await this.fh.read(dst, off, len, this.bytesRead)).bytesRead;
      } else {
        const t0 = performance.now();
        n = readSync(this.fh.fd, dst, off, len, this.bytesRead);
        const ms = performance.now() - t0;
        if (ms > SLOW_READ_MS && ms * PAGE_CACHE_BYTES_PER_MS > n) this.readAhead = true;
      }
      this.bytesRead += n;
      return n;
    } catch (e) {
      this.failure = `read failed: ${message(e)}`;
      return -1;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch(() => undefined);
  }
}

/** Queue limits for a stream source: pause the producer above HIGH, resume below LOW (bounded memory). */
const QUEUE_HIGH = 8 * 1024 * 1024;
const QUEUE_LOW = 2 * 1024 * 1024;

/**
 * Buffers a Readable's chunks (flow-controlled) and copies them out on demand. Chunks that arrived before a
 * stream error are still delivered; the error is reported after them (a truncated gzip keeps its prefix).
 */
export class StreamSource implements ByteSource {
  failure: string | null = null;
  bytesRead = 0;
  /** Streams queue ahead by themselves. */
  readonly readAhead = false;
  private readonly queue: Uint8Array[] = [];
  private queueHead = 0;
  private chunkOff = 0;
  private queued = 0;
  private paused = false;
  private ended = false;
  private streamError: string | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly stream: Readable,
    private readonly onClose: () => void = () => undefined,
  ) {
    stream.on("data", (c: Uint8Array) => {
      if (c.length === 0) return;
      this.queue.push(c);
      this.queued += c.length;
      if (this.queued > QUEUE_HIGH && !this.paused) {
        this.paused = true;
        stream.pause();
      }
      this.notify();
    });
    stream.on("end", () => {
      this.ended = true;
      this.notify();
    });
    stream.on("error", (e: unknown) => {
      this.streamError ??= message(e);
      this.ended = true;
      this.notify();
    });
    stream.on("close", () => {
      this.ended = true;
      this.notify();
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async read(dst: Uint8Array, off: number, len: number): Promise<number> {
    while (this.queueHead === this.queue.length) {
      if (this.ended) {
        if (this.streamError !== null) {
          this.failure = this.streamError;
          return -1;
        }
        return 0;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    let n = 0;
    while (n < len && this.queueHead < this.queue.length) {
      const c = this.queue[this.queueHead]!;
      const k = Math.min(len - n, c.length - this.chunkOff);
      dst.set(c.subarray(this.chunkOff, this.chunkOff + k), off + n);
      n += k;
      this.chunkOff += k;
      if (this.chunkOff === c.length) {
        this.queueHead++;
        this.chunkOff = 0;
      }
    }
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 1024) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    this.queued -= n;
    this.bytesRead += n;
    if (this.paused && this.queued < QUEUE_LOW) {
      this.paused = false;
      this.stream.resume();
    }
    return n;
  }

  async close(): Promise<void> {
    this.ended = true;
    this.queue.length = 0;
    this.queueHead = 0;
    this.stream.destroy();
    this.onClose();
    this.notify();
  }
}

/** Gunzips a raw byte iterable; bytesRead counts the compressed bytes consumed. */
export class GzipSource implements ByteSource {
  readonly readAhead = false;
  private readonly out: StreamSource;
  private raw = 0;
  private readonly input: Readable;

  constructor(rawChunks: AsyncIterable<Uint8Array>, onClose: () => void = () => undefined) {
    const counted = async function* (this: GzipSource): AsyncGenerator<Uint8Array> {
      for await (const c of rawChunks) {
        this.raw += c.length;
        yield c;
      }
    }.call(this);
    this.input = Readable.from(counted, { objectMode: false });
    const gunzip = createGunzip({ chunkSize: 64 * 1024 });
    this.input.on("error", (e) => gunzip.destroy(e));
    this.input.pipe(gunzip);
    this.out = new StreamSource(gunzip, () => {
      this.input.destroy();
      onClose();
    });
  }

  get failure(): string | null {
    return this.out.failure === null ? null : `gzip: ${this.out.failure}`;
  }

  get bytesRead(): number {
    return this.raw;
  }

  read(dst: Uint8Array, off: number, len: number): Promise<number> {
    return this.out.read(dst, off, len);
  }

  close(): Promise<void> {
    return this.out.close();
  }
}
