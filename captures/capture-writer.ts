/**
 * Streaming pcap / pcapng writer: records are written into one large preallocated chunk which is handed
 * to a sink when it fills, so generating a multi-gigabyte capture needs a few megabytes of memory.
 * Little-endian files; pcap in microseconds (magic a1b2c3d4), pcapng with if_tsresol = 6 (microseconds).
 */
import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import type { Writable } from "node:stream";

export type CaptureFormat = "pcap" | "pcapng";

export const LINKTYPE_ETHERNET = 1;

/** Largest record a writer must hold past the flush threshold (EPB overhead + max frame + padding). */
const MAX_RECORD = 32 + 65536 + 4;

export interface ChunkSink {
  /** Consumes bytes; the writer reuses the memory only after the promise resolves. */
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export class CaptureWriter {
  readonly format: CaptureFormat;
  readonly buf: Uint8Array;
  private readonly view: DataView;
  private readonly flushAt: number;
  pos = 0;
  /** Bytes already handed to the sink. */
  flushed = 0;
  records = 0;

  constructor(format: CaptureFormat, snaplen: number, linkType = LINKTYPE_ETHERNET, chunkSize = 8 << 20) {
    this.format = format;
    this.buf = new Uint8Array(chunkSize + MAX_RECORD);
    this.view = new DataView(this.buf.buffer);
    this.flushAt = chunkSize;
    const v = this.view;
    if (format === "pcap") {
      v.setUint32(0, 0xa1b2c3d4, true);
      v.setUint16(4, 2, true);
      v.setUint16(6, 4, true);
      v.setInt32(8, 0, true); // thiszone
      v.setUint32(12, 0, true); // sigfigs
      v.setUint32(16, snaplen, true);
      v.setUint32(20, linkType, true);
      this.pos = 24;
    } else {
      // Section Header Block
      v.setUint32(0, 0x0a0d0d0a, true);
      v.setUint32(4, 28, true);
      v.setUint32(8, 0x1a2b3c4d, true);
      v.setUint16(12, 1, true);
      v.setUint16(14, 0, true);
      v.setInt32(16, -1, true); // section length unknown (-1, 64-bit)
      v.setInt32(20, -1, true);
      v.setUint32(24, 28, true);
      // Interface Description Block with if_tsresol = 6
      v.setUint32(28, 1, true);
      v.setUint32(32, 32, true);
      v.setUint16(36, linkType, true);
      v.setUint16(38, 0, true);
      v.setUint32(40, snaplen, true);
      v.setUint16(44, 9, true); // if_tsresol
      v.setUint16(46, 1, true);
      this.buf[48] = 6;
      v.setUint32(52, 0, true); // opt_endofopt
      v.setUint32(56, 32, true);
      this.pos = 60;
    }
  }

  /** Writes a record header; the caller then writes `caplen` frame bytes at the returned offset and calls endRecord. */
  beginRecord(tsUs: number, caplen: number, origlen: number): number {
    const v = this.view;
    const p = this.pos;
    if (this.format === "pcap") {
      const sec = Math.floor(tsUs / 1e6);
      v.setUint32(p, sec, true);
      v.setUint32(p + 4, tsUs - sec * 1e6, true);
      v.setUint32(p + 8, caplen, true);
      v.setUint32(p + 12, origlen, true);
      return p + 16;
    }
    const padded = (caplen + 3) & ~3;
    const total = 32 + padded;
    const hi = Math.floor(tsUs / 4294967296);
    v.setUint32(p, 6, true);
    v.setUint32(p + 4, total, true);
    v.setUint32(p + 8, 0, true);
    v.setUint32(p + 12, hi, true);
    v.setUint32(p + 16, tsUs - hi * 4294967296, true);
    v.setUint32(p + 20, caplen, true);
    v.setUint32(p + 24, origlen, true);
    return p + 28;
  }

  endRecord(caplen: number): void {
    this.records++;
    if (this.format === "pcap") {
      this.pos += 16 + caplen;
      return;
    }
    const padded = (caplen + 3) & ~3;
    const p = this.pos + 28 + caplen;
    for (let i = caplen; i < padded; i++) this.buf[this.pos + 28 + i] = 0;
    const total = 32 + padded;
    this.view.setUint32(p + (padded - caplen), total, true);
    this.pos += total;
  }

  get needsFlush(): boolean {
    return this.pos >= this.flushAt;
  }

  async flush(sink: ChunkSink): Promise<void> {
    if (this.pos === 0) return;
    await sink.write(this.buf.subarray(0, this.pos));
    this.flushed += this.pos;
    this.pos = 0;
  }
}

/** Sink writing to a file (created or truncated). */
export async function fileSink(path: string): Promise<ChunkSink> {
  const fh: FileHandle = await open(path, "w");
  return {
    async write(bytes) {
      let off = 0;
      while (off < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
        off += bytesWritten;
      }
    },
    close: () => fh.close(),
  };
}

/**
 * Sink writing to a stream (stdout); waits for each chunk to be flushed before the writer reuses it.
 * A stream error (EPIPE when the reader went away) rejects the pending write instead of crashing.
 */
export function streamSink(stream: Writable): ChunkSink {
  let failed: Error | null = null;
  const onError = (err: Error): void => {
    failed = err;
  };
  stream.on("error", onError);
  return {
    write: (bytes) =>
      new Promise<void>((resolve, reject) => {
        if (failed) {
          reject(failed);
          return;
        }
        stream.write(bytes, (err) => (err ? reject(err) : resolve()));
      }),
    close: async () => {
      stream.off("error", onError);
    },
  };
}

/** Sink collecting copies in memory (small scenario captures, tests). */
export class MemorySink implements ChunkSink {
  private parts: Uint8Array[] = [];
  private size = 0;
  async write(bytes: Uint8Array): Promise<void> {
    this.parts.push(bytes.slice());
    this.size += bytes.length;
  }
  async close(): Promise<void> {}
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let p = 0;
    for (const part of this.parts) {
      out.set(part, p);
      p += part.length;
    }
    return out;
  }
}
