/**
 * The classic pcap reader's WebAssembly record parser (wasm/pcap-records.ts, built to pcap-records.wasm):
 * runs of ordinary records parsed in the chunk's own memory into a window at the start of the chunk's spare
 * room (CHUNK_SPARE_BYTES; the decoder's fast path uses its end), then copied into the RecordBatch one
 * column at a time. The JavaScript loop takes every record the module stops at. Reading alone the
 * headers-only bench capture: 102-108 -> 74-77 ms a pass (the JavaScript parser was ~11 of ~21 ns/record).
 */
import { CHUNK_SPARE_BYTES, ChunkModule } from "./chunk-memory.js";
import { RecordBatch, recordBatchBytes } from "./record-batch.js";

/** Records one call parses at most. */
export const RECORD_SLOTS = 2048;
const NEXT = 0;
const COLUMNS = 64;
/** Window bytes: header, then a RecordBatch's columns (the parser writes all but linkType). */
export const RECORD_WINDOW_BYTES = COLUMNS + recordBatchBytes(RECORD_SLOTS);
/** The columns the parser writes, copied into the caller's batch. */
const PARSED = ["offset", "caplen", "origlen", "tsNsec", "tsSec", "packetNo", "fileOffset"] as const;

type ParseFn = (
  win: number,
  slots: number,
  data: number,
  start: number,
  end: number,
  max: number,
  le: number,
  maxCaplen: number,
  snaplen: number,
  fracLimit: number,
  nsPerFrac: number,
  pn0: number,
  base: number,
) => number;

/** Records the module parsed in this thread (the rest took the JavaScript loop). */
let parsedRecords = 0;

/** Records the WebAssembly record parser has parsed in this thread so far. */
export function wasmParsedRecords(): number {
  return parsedRecords;
}

/** The fixed parameters of one capture's records (PcapReader's). */
export interface PcapRecordFormat {
  le: boolean;
  maxCaplen: number;
  snaplen: number;
  fracLimit: number;
  nsPerFrac: number;
  linkType: number;
}

export class RecordWindow {
  private readonly wasmParse: ParseFn;
  private readonly base: number;
  private readonly next: Uint32Array;
  /** The window's parsed records (the slots of one parse call). */
  private readonly parsed: RecordBatch;
  /** Chunk offset after the last record parsed. */
  end = 0;

  constructor(mem: WebAssembly.Memory, mod: WebAssembly.Module, base: number) {
    const inst = new WebAssembly.Instance(mod, { env: { memory: mem } });
    this.wasmParse = inst.exports.parse as ParseFn;
    this.base = base;
    const buf = mem.buffer;
    this.next = new Uint32Array(buf, base + NEXT, 1);
    this.parsed = new RecordBatch(RECORD_SLOTS, buf, base + COLUMNS);
  }

  /**
   * Parses ordinary records of `data` from `start` (before `end`) into batch rows from n on, at most
   * `max` of them (<= RECORD_SLOTS); `pn` is the packet number of the record before, `base` the stream
   * offset of data[0]. Returns how many; `this.end` is where the next record starts.
   */
  parse(
    data: Uint8Array,
    start: number,
    end: number,
    batch: RecordBatch,
    n: number,
    max: number,
    f: PcapRecordFormat,
    pn: number,
    base: number,
  ): number {
    const k = this.wasmParse(
      this.base,
      RECORD_SLOTS,
      data.byteOffset,
      start,
      end,
      max,
      f.le ? 1 : 0,
      f.maxCaplen,
      f.snaplen,
      f.fracLimit,
      f.nsPerFrac,
      pn,
      base,
    );
    this.end = this.next[0]!;
    if (k === 0) return 0;
    parsedRecords += k;
    const w = this.parsed;
    for (const c of PARSED) batch[c].set(w[c].subarray(0, k), n);
    batch.linkType.fill(f.linkType, n, n + k);
    return k;
  }
}

// At the start of the spare room; the decoder's fast path lays its window at the end of the memory.
const parser = new ChunkModule(new URL("./wasm/pcap-records.wasm", import.meta.url), (mem, mod, chunk) => {
  const end = chunk.byteOffset + chunk.byteLength;
  const base = (end + 63) & ~63;
  return base + RECORD_WINDOW_BYTES + 64 <= end + CHUNK_SPARE_BYTES ? new RecordWindow(mem, mod, base) : null;
});

/** Whether the record parser's module loaded (a build without it reads with the JavaScript loop only). */
export function recordParserAvailable(): boolean {
  return parser.compiled() !== null;
}

/** The record window of a chunk buffer, or null (not a chunk memory, or no module in this build). */
export function recordWindowFor(buf: Uint8Array): RecordWindow | null {
  return parser.for(buf);
}
