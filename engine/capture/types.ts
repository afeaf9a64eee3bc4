import type { CaptureError } from "./error.js";
import type { RecordBatch } from "./record-batch.js";

export interface CaptureInterface {
  /** LINKTYPE_* of the interface (classic pcap: the file's link type). */
  linkType: number;
  /** Snapshot length (0 = unlimited, pcapng only). */
  snaplen: number;
  /** Timestamp resolution, e.g. "1e-6", "1e-9", "2^-8". */
  tsresol: string;
  /** if_tsoffset in seconds (added to every timestamp); 0 for classic pcap. */
  tsoffset: number;
  /** 0-based section (pcapng SHB) the interface belongs to; 0 for classic pcap. */
  section: number;
}

export interface CaptureInfo {
  file: string;
  format: "pcap" | "pcapng";
  gzip: boolean;
  /** Byte order of the file header (pcapng: of the first section). */
  byteOrder: "LE" | "BE";
  /** Classic pcap with magic a1b23c4d. */
  nanosecond: boolean;
  interfaces: CaptureInterface[];
  sections: number;
}

export interface CaptureReader {
  readonly info: CaptureInfo;
  /** Fills batch (count), returns count; 0 = end of input or fatal error. Records stay valid until the next call. */
  readBatch(batch: RecordBatch): Promise<number>;
  /** Fatal input error that ended reading (what was read before it stays valid). */
  readonly error: CaptureError | null;
  /** Non-fatal: skipped blocks/records and delivered-but-odd records, by reason. */
  readonly skipped: Record<string, number>;
  /** Compressed/file bytes consumed so far (for progress). */
  readonly bytesRead: number;
  /** Input consumed by the records handed out (timing-independent for plain files; see the reader). */
  readonly position: number;
  /** File size when known (compressed size for gzip). */
  readonly totalBytes: number | null;
  /** Current size of the reader's chunk buffer (bounded: a few MiB, at most 64 MiB + 4 MiB). */
  readonly bufferBytes: number;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Any malformed record is fatal (default: odd-but-sane records are delivered and counted in skipped). */
  strict?: boolean;
  /** Initial chunk buffer size in bytes (default 512 KiB; tests use small values to exercise refills). */
  bufferSize?: number;
  /**
   * Files: read ahead asynchronously from the first chunk on (default: synchronous reads until one has to
   * wait for the disk, see FileSource). Tests use it to run the read-ahead path on files in the page cache.
   */
  readAhead?: boolean;
  /**
   * Classic pcap: parse runs of ordinary records with the WebAssembly record parser (record-window.ts;
   * default true). The records are the same either way; off, the JavaScript loop parses them all.
   */
  wasmRecords?: boolean;
}
