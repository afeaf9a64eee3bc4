/**
 * The decoder's WebAssembly fast path: Decoder.fast()'s shapes (untagged Ethernet, a 20-byte IPv4 header
 * or an IPv6 header without extensions, TCP / UDP / non-error ICMP and ICMPv6), and ICMPv4 errors over
 * IPv4 with the tuple they quote (Decoder.inner(); not when it is GRE), decoded by wasm/fast-path.ts
 * (AssemblyScript, built to wasm/fast-path.wasm) over the capture chunk's own WebAssembly memory, a window
 * of records at a time; the module lists the records of other shapes and the JavaScript decoder takes them
 * (Decoder.decode keeps capture order). Read +
 * decode of the generated bench captures: 1.3-1.9x the JavaScript decoder's packets/s (bench/read-decode).
 *
 * A run works in a window laid out in the spare room after the chunk (CHUNK_SPARE_BYTES): a header the
 * module and this file share (time range, counters, ICMP error tables), the window's record columns
 * (copied from the RecordBatch, a few bytes a record) and a PacketBatch-layout scratch batch whose rows are
 * copied out in bulk, column by column (Decoder.decode), or handed out as they are (Decoder.decodeInPlace).
 * The module addresses them at constant offsets from the window
 * (its exports give them, and each window checks them against PacketBatch's layout when it is made).
 */
import { CHUNK_SPARE_BYTES, ChunkModule } from "../capture/chunk-memory.js";
import { RecordBatch, recordBatchBytes } from "../capture/record-batch.js";
import { RECORD_WINDOW_BYTES } from "../capture/record-window.js";
import { icmpIsError, icmpv6IsError } from "./icmp-error.js";
import { PacketBatch, type PacketColumn, packetBatchBytes } from "./packet-batch.js";
import type { DecodeStats } from "./stats.js";

/** Records one run decodes at most (the window's slots). */
export const FAST_SLOTS = 2048;

// Window layout: the same offsets as wasm/fast-path.ts (which exports the ones after the header).
const FIRST = 128; // f64 first time, then f64 last time

const COUNTS = 144;
const ICMP_ERR = 256;
const ICMPV6_ERR = 512;
const INPUT = 768;

/** The scratch columns the module writes, in the order of its columnOffset(). */
const FAST_COLUMNS = [
  "kind",
  "l3",
  "proto",
  "src",
  "dst",
  "sport",
  "dport",
  "l4len",
  "l4flags",
  "l3flags",
  "tcpFlags",
  "tcpDoff",
  "seq",
  "ack",
  "win",
  "tcpOpt",
  "wscale",
  "sackEdge",
  "payload",
] as const satisfies readonly PacketColumn[];
/** The quoted tuple of an ICMPv4 error, which the module writes for those rows only (columnOffset 19-24). */
const INNER_COLUMNS = [
  "il3",
  "iproto",
  "isrc",
  "idst",
  "isport",
  "idport",
] as const satisfies readonly PacketColumn[];

/** The record columns the module reads. */
const INPUT_COLUMNS = ["offset", "caplen", "origlen", "tsNsec", "tsSec", "linkType"] as const;

// Counters (the module's N_* order).
const N_IPV4 = 0;
const N_IPV6 = 1;
const N_TRUNCATED = 2;
const N_MARTIAN = 3;
/** L4 protocol of each l4 counter (N_L4_* = 4..7) and bad-checksum counter (N_BAD_* = 8..11). */
const COUNTED_PROTOS = [1, 6, 17, 58] as const;
const N_INNER = 12;
const NCOUNTS = 13;

/** The slow list (u32 slots) after the input columns, and the window's size up to the scratch batch. */
const SLOW_LIST = (INPUT + recordBatchBytes(FAST_SLOTS) + 3) & ~3;
const WINDOW_BYTES = (SLOW_LIST + 4 * FAST_SLOTS + 7) & ~7;

type DecodeFn = (win: number, data: number, n: number, verify: number) => number;

/** The module's layout constants (its exports), checked against this file's and PacketBatch's. */
function checkLayout(exp: Record<string, unknown>, scratch: PacketBatch, base: number): void {
  const value = (name: string): unknown => (exp[name] as WebAssembly.Global).value;
  const columnOffset = exp.columnOffset as (c: number) => number;
  const views = scratch as unknown as Record<PacketColumn, { byteOffset: number }>;
  const wrong = [
    value("SLOTS") === FAST_SLOTS ? null : "SLOTS",
    value("SLOW") === SLOW_LIST ? null : "SLOW",
    value("SCRATCH") === WINDOW_BYTES ? null : "SCRATCH",
    ...[...FAST_COLUMNS, ...INNER_COLUMNS].map((c, k) =>
      columnOffset(k) === views[c].byteOffset - base ? null : c,
    ),
  ].filter((x) => x !== null);
  if (wrong.length > 0)
    throw new Error(`fast path: wasm/fast-path.ts's layout differs in ${wrong.join(", ")}`);
}

const fastPath = new ChunkModule(new URL("./wasm/fast-path.wasm", import.meta.url), (mem, mod, chunk) => {
  // The window ends the memory; the pcap record parser's window starts the spare room after the chunk.
  const need = WINDOW_BYTES + packetBatchBytes(FAST_SLOTS);
  if (need + RECORD_WINDOW_BYTES + 128 > CHUNK_SPARE_BYTES) {
    throw new Error("fast path: the two windows do not fit in CHUNK_SPARE_BYTES");
  }
  const base = (mem.buffer.byteLength - need) & ~63;
  return base >= chunk.byteOffset + chunk.byteLength ? new FastWindow(mem, mod, base) : null;
});

/** Why the WebAssembly fast path cannot run here, or null when it can. */
export function fastPathUnavailable(): string | null {
  fastPath.compiled();
  return fastPath.unavailable;
}

/** One chunk memory's instance and window. */
export class FastWindow {
  private readonly wasmDecode: DecodeFn;
  private readonly base: number;
  private readonly f64: Float64Array;
  private readonly counts: Uint32Array;
  /** The window's input: the run's records' columns the module reads. */
  private readonly input: RecordBatch;
  /** The window's rows (PacketBatch layout, in the chunk's memory): run() writes them, copyOut() copies them. */
  readonly scratch: PacketBatch;
  /** The slots of the last run's records that the JavaScript decoder must take, in order. */
  readonly slow: Uint32Array;

  constructor(mem: WebAssembly.Memory, mod: WebAssembly.Module, base: number) {
    const inst = new WebAssembly.Instance(mod, { env: { memory: mem } });
    this.wasmDecode = inst.exports.decode as DecodeFn;
    this.base = base;
    const buf = mem.buffer;
    this.f64 = new Float64Array(buf, base + FIRST, 2);
    this.counts = new Uint32Array(buf, base + COUNTS, NCOUNTS);
    const icmp = new Uint8Array(buf, base + ICMP_ERR, 256);
    const icmp6 = new Uint8Array(buf, base + ICMPV6_ERR, 256);
    for (let t = 0; t < 256; t++) {
      icmp[t] = icmpIsError(t) ? 1 : 0;
      icmp6[t] = icmpv6IsError(t) ? 1 : 0;
    }
    this.input = new RecordBatch(FAST_SLOTS, buf, base + INPUT);
    this.slow = new Uint32Array(buf, base + SLOW_LIST, FAST_SLOTS);
    this.scratch = new PacketBatch(FAST_SLOTS, buf, base + WINDOW_BYTES);
    checkLayout(inst.exports, this.scratch, base);
  }

  /**
   * Decodes records [from, from + n) (n <= FAST_SLOTS) into the scratch rows of slots [0, n), the records
   * of fast()'s shapes only, and adds them to `st` like Decoder.decode does. Returns how many records it left
   * to the JavaScript decoder (their slots are slow[0, returned)).
   */
  run(rec: RecordBatch, from: number, n: number, st: DecodeStats, verify: boolean): number {
    const to = from + n;
    const w = this.input;
    for (const c of INPUT_COLUMNS) w[c].set(rec[c].subarray(from, to));
    const f64 = this.f64;
    f64[0] = st.firstTime;
    f64[1] = st.lastTime;
    const nslow = this.wasmDecode(this.base, rec.data.byteOffset, n, verify ? 1 : 0);
    const fast = n - nslow;
    if (fast === 0) return nslow;
    const c = this.counts;
    st.packets += fast;
    st.rows += fast;
    st.ipv4 += c[N_IPV4]!;
    st.ipv6 += c[N_IPV6]!;
    st.truncated += c[N_TRUNCATED]!;
    st.martian += c[N_MARTIAN]!;
    for (let j = 0; j < COUNTED_PROTOS.length; j++) {
      const p = COUNTED_PROTOS[j]!;
      st.l4[p] = st.l4[p]! + c[4 + j]!;
      st.badChecksum[p] = st.badChecksum[p]! + c[8 + j]!;
    }
    st.firstTime = f64[0]!;
    st.lastTime = f64[1]!;
    return nslow;
  }

  /**
   * Copies the last run's scratch rows [0, n) to out's rows [row, row + n), with the records' time and
   * packet number (rows of the slow slots are placeholders until the JavaScript decoder writes them).
   */
  copyOut(rec: RecordBatch, from: number, n: number, out: PacketBatch, row: number): void {
    out.copyRows(this.scratch, 0, n, row, FAST_COLUMNS);
    if (this.counts[N_INNER]! > 0) out.copyRows(this.scratch, 0, n, row, INNER_COLUMNS);
    copyRecordColumns(rec, from, n, out, row);
  }
}

/** The records' time and packet number into out's rows [row, row + n), which the module does not write. */
export function copyRecordColumns(
  rec: RecordBatch,
  from: number,
  n: number,
  out: PacketBatch,
  row: number,
): void {
  out.tsSec.set(rec.tsSec.subarray(from, from + n), row);
  out.tsNsec.set(rec.tsNsec.subarray(from, from + n), row);
  out.packetNo.set(rec.packetNo.subarray(from, from + n), row);
}

/** The fast path's window for a capture chunk, or null (not a chunk memory, no module here, no room). */
export function fastWindowFor(data: Uint8Array): FastWindow | null {
  return fastPath.for(data);
}
