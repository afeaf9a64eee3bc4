/**
 * Byte sources the reader pulls chunks from: a plain file (fs read straight into the reader's buffer), a
 * Node stream (stdin), or a gunzip stream over either. Failures are returned as -1 + `failure`, never thrown.
 */
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
  close(): Promise<void>;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class FileSource implements ByteSource {
  failure: string | null = null;
  bytesRead = 0;
  private closed = false;

  constructor(readonly fh: FileHandle) {}

  async read(dst: Uint8Array, off: number, len: number): Promise<number> {
    try {
      const { bytesRead } = await this.fh.read(dst, off, len, this.bytesRead);
      this.bytesRead += bytesRead;
      return bytesRead;
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

/** Pulls Buffers from an async iterator and copies them out on demand. */
export class StreamSource implements ByteSource {
  failure: string | null = null;
  bytesRead = 0;
  private chunk: Uint8Array | null = null;
  private chunkOff = 0;
  private ended = false;

  constructor(
    private readonly it: AsyncIterator<Uint8Array>,
    private readonly onClose: () => void = () => undefined,
  ) {}

  async read(dst: Uint8Array, off: number, len: number): Promise<number> {
    while (this.chunk === null) {
      if (this.ended) return 0;
      try {
        const r = await this.it.next();
        if (r.done) {
          this.ended = true;
          return 0;
        }
        if (r.value.length > 0) {
          this.chunk = r.value;
          this.chunkOff = 0;
        }
      } catch (e) {
        this.ended = true;
        this.failure = message(e);
        return -1;
      }
    }
    const n = Math.min(len, this.chunk.length - this.chunkOff);
    dst.set(this.chunk.subarray(this.chunkOff, this.chunkOff + n), off);
    this.chunkOff += n;
    if (this.chunkOff === this.chunk.length) this.chunk = null;
    this.bytesRead += n;
    return n;
  }

  /** What has not been read yet (pending chunk, then the rest), for handing over to a gunzip stream. */
  async *remaining(): AsyncGenerator<Uint8Array> {
    if (this.chunk !== null) {
      const c = this.chunk.subarray(this.chunkOff);
      this.chunk = null;
      yield c;
    }
    while (!this.ended) {
      const r = await this.it.next();
      if (r.done) break;
      yield r.value;
    }
    this.ended = true;
  }

  async close(): Promise<void> {
    this.ended = true;
    this.chunk = null;
    try {
      await this.it.return?.();
    } catch {
      // already failed; nothing to release
    }
    this.onClose();
  }
}

/** Gunzips a raw byte iterable; bytesRead counts the compressed bytes consumed. */
export class GzipSource implements ByteSource {
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
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    this.input.on("error", (e) => gunzip.destroy(e));
    this.input.pipe(gunzip);
    this.out = new StreamSource(gunzip[Symbol.asyncIterator](), () => {
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
