/** openCapture: opens a file or stdin, detects gzip (by magic) and pcap/pcapng, returns a streaming reader. */
import { open } from "node:fs/promises";
import { Readable } from "node:stream";
import { chunkBuffer } from "./chunk-memory.js";
import { CaptureError } from "./error.js";
import { PCAP_HEADER_BYTES, PcapReader } from "./pcap.js";
import { BT_SHB, BYTE_ORDER_MAGIC, PcapngReader } from "./pcapng.js";
import { DEFAULT_BUFFER_BYTES, MAX_RECORD_BYTES, MiB, type ReaderInit } from "./reader.js";
import { type ByteSource, FileSource, GzipSource, StreamSource } from "./source.js";
import type { CaptureInfo, CaptureReader, OpenOptions } from "./types.js";

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const PCAP_US_SWAPPED = 0xd4c3b2a1;
const PCAP_NS_SWAPPED = 0x4d3cb2a1;
const PCAP_KUZNETZOV = 0xa1b2cd34;
/** Enough to see a pcap file header or the fixed part of an SHB. */
const DETECT_BYTES = 28;

/** Reads into buf from `end` until at least `min` bytes are there or input ends; -1 on failure. */
async function fillTo(
  src: ByteSource,
  buf: Uint8Array,
  end: number,
  min: number,
): Promise<[number, boolean]> {
  let e = end;
  while (e < min) {
    const n = await src.read(buf, e, buf.length - e);
    if (n < 0) return [-1, true];
    if (n === 0) return [e, true];
    e += n;
  }
  return [e, false];
}

/** Hands a source's bytes (after an already-read prefix) to a gunzip stream. */
async function* drain(src: ByteSource, prefix: Uint8Array): AsyncGenerator<Uint8Array> {
  yield prefix;
  for (;;) {
    const chunk = new Uint8Array(MiB);
    const n = await src.read(chunk, 0, chunk.length);
    if (n < 0) throw new Error(src.failure ?? "read failed");
    if (n === 0) return;
    yield chunk.subarray(0, n);
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function openCapture(
  path: string,
  opts: OpenOptions = {},
): Promise<CaptureReader | CaptureError> {
  if (path === "-") return openCaptureStream("-", process.stdin, opts);
  const file = path;
  let src: ByteSource;
  let totalBytes: number | null = null;
  try {
    const fh = await open(path, "r");
    const st = await fh.stat().catch(() => null);
    if (st?.isDirectory()) {
      await fh.close();
      return new CaptureError(file, 0, 0, "cannot read: is a directory");
    }
    totalBytes = st?.isFile() ? st.size : null;
    src = new FileSource(fh, opts.readAhead ?? false);
  } catch (e) {
    return new CaptureError(file, 0, 0, `cannot open: ${errorText(e)}`);
  }
  return openSource(file, src, totalBytes, opts);
}

/** Reads a capture from any byte stream (stdin, a pipe, a socket); `name` is used in errors. */
export function openCaptureStream(
  name: string,
  input: Readable | AsyncIterable<Uint8Array>,
  opts: OpenOptions = {},
): Promise<CaptureReader | CaptureError> {
  const stream = input instanceof Readable ? input : Readable.from(input, { objectMode: false });
  return openSource(name, new StreamSource(stream), null, opts);
}

async function openSource(
  file: string,
  raw: ByteSource,
  totalBytes: number | null,
  opts: OpenOptions,
): Promise<CaptureReader | CaptureError> {
  const strict = opts.strict ?? false;
  const bufSize = Math.max(64 * 1024, Math.min(opts.bufferSize ?? DEFAULT_BUFFER_BYTES, MAX_RECORD_BYTES));
  let src = raw;
  const bail = async (offset: number, message: string): Promise<CaptureError> => {
    await src.close();
    return new CaptureError(file, offset, 0, message);
  };

  const buf = chunkBuffer(bufSize);
  let [end, eof] = await fillTo(src, buf, 0, DETECT_BYTES);
  if (end < 0) return bail(0, src.failure ?? "read failed");
  let gzip = false;
  if (end >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    gzip = true;
    src = new GzipSource(drain(raw, buf.slice(0, end)), () => void raw.close());
    [end, eof] = await fillTo(src, buf, 0, DETECT_BYTES);
    if (end < 0) return bail(0, src.failure ?? "read failed");
  }
  if (end === 0) return bail(0, gzip ? "empty gzip stream" : "empty input: not a capture file");
  if (end < 4) return bail(0, `not a capture file: only ${end} bytes`);

  const dv = new DataView(buf.buffer);
  const magic = dv.getUint32(0, true);
  const info: CaptureInfo = {
    file,
    format: "pcap",
    gzip,
    byteOrder: "LE",
    nanosecond: false,
    interfaces: [],
    sections: 0,
  };
  const wasmRecords = opts.wasmRecords ?? true;
  const init: ReaderInit = { info, src, totalBytes, buf, end, start: 0, eof, strict, wasmRecords };

  if (magic === PCAP_US || magic === PCAP_NS || magic === PCAP_US_SWAPPED || magic === PCAP_NS_SWAPPED) {
    const le = magic === PCAP_US || magic === PCAP_NS;
    const nanosecond = magic === PCAP_NS || magic === PCAP_NS_SWAPPED;
    if (end < PCAP_HEADER_BYTES) return bail(0, `truncated pcap file header: ${end} of 24 bytes`);
    const major = dv.getUint16(4, le);
    const minor = dv.getUint16(6, le);
    if (major !== 2) return bail(4, `unsupported pcap version ${major}.${minor}`);
    const snaplen = dv.getUint32(16, le);
    // Low 16 bits: LINKTYPE_*; the upper bits carry FCS length flags.
    const linkType = dv.getUint32(20, le) & 0xffff;
    info.byteOrder = le ? "LE" : "BE";
    info.nanosecond = nanosecond;
    info.sections = 1;
    info.interfaces.push({
      linkType,
      snaplen,
      tsresol: nanosecond ? "1e-9" : "1e-6",
      tsoffset: 0,
      section: 0,
    });
    init.start = PCAP_HEADER_BYTES;
    return new PcapReader(init, { le, nanosecond, snaplen, linkType });
  }
  if (magic === BT_SHB) {
    if (end < 12) return bail(0, `truncated pcapng section header: ${end} of 28 bytes`);
    const bom = dv.getUint32(8, true);
    let le: boolean;
    if (bom === BYTE_ORDER_MAGIC) le = true;
    else if (bom === 0x4d3c2b1a) le = false;
    else return bail(8, `not a pcapng file: bad byte-order magic 0x${bom.toString(16)}`);
    const len = dv.getUint32(4, le);
    if (len < 28 || len % 4 !== 0 || len > MAX_RECORD_BYTES) {
      return bail(4, `bad section header block length ${len}`);
    }
    if (end < 28) return bail(0, `truncated pcapng section header: ${end} of 28 bytes`);
    info.format = "pcapng";
    info.byteOrder = le ? "LE" : "BE";
    return new PcapngReader(init, le);
  }
  if (magic === PCAP_KUZNETZOV || magic === 0x34cdb2a1) {
    return bail(0, "unsupported capture format: Kuznetzov's modified pcap");
  }
  return bail(0, `not a pcap or pcapng file (magic 0x${magic.toString(16).padStart(8, "0")})`);
}
