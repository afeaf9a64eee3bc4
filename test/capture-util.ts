/** Shared helpers for the capture tests: read a whole capture into plain objects, build capture bytes. */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  CaptureError,
  type CaptureReader,
  type OpenOptions,
  openCapture,
  RecordBatch,
} from "../engine/capture/index.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const capturesDir = path.resolve(repoRoot, "../shared/captures");
export const haveCaptures = existsSync(path.join(capturesDir, "MANIFEST.md"));
if (!haveCaptures) console.log(`capture tests: ${capturesDir} absent, corpus tests skipped`);

export interface Rec {
  sec: number;
  nsec: number;
  caplen: number;
  origlen: number;
  linkType: number;
  packetNo: number;
  fileOffset: number;
  data: Uint8Array;
}

export interface ReadResult {
  reader: CaptureReader;
  records: Rec[];
  maxBuffer: number;
}

/** Reads every record (copying bytes out of the zero-copy batch), bounded by maxBatches. */
export async function readAll(reader: CaptureReader, batchSize = 512, maxBatches = 1e7): Promise<ReadResult> {
  const batch = new RecordBatch(batchSize);
  const records: Rec[] = [];
  let maxBuffer = reader.bufferBytes;
  for (let i = 0; i < maxBatches; i++) {
    const n = await reader.readBatch(batch);
    maxBuffer = Math.max(maxBuffer, reader.bufferBytes);
    if (n === 0) break;
    if (n !== batch.count) throw new Error("readBatch result != batch.count");
    for (let k = 0; k < n; k++) {
      const off = batch.offset[k]!;
      records.push({
        sec: batch.tsSec[k]!,
        nsec: batch.tsNsec[k]!,
        caplen: batch.caplen[k]!,
        origlen: batch.origlen[k]!,
        linkType: batch.linkType[k]!,
        packetNo: batch.packetNo[k]!,
        fileOffset: batch.fileOffset[k]!,
        data: batch.data.slice(off, off + batch.caplen[k]!),
      });
    }
  }
  return { reader, records, maxBuffer };
}

/** Opens (must succeed) and reads everything. */
export async function readFile(file: string, opts: OpenOptions = {}, batchSize = 512): Promise<ReadResult> {
  const r = await openCapture(file, opts);
  if (r instanceof CaptureError) throw new Error(`unexpected open error ${r.toString()}`);
  const res = await readAll(r, batchSize);
  await r.close();
  return res;
}

export interface ManifestRow {
  file: string;
  format: string;
  linkTypes: number[];
  records: number;
}

export function readManifest(): ManifestRow[] {
  const text = readFileSync(path.join(capturesDir, "MANIFEST.md"), "utf8");
  const rows: ManifestRow[] = [];
  let header: string[] | null = null;
  for (const line of text.split("\n")) {
    if (!line.startsWith("|")) continue;
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
    if (header === null) {
      header = cells;
      continue;
    }
    if (cells[0]!.startsWith("---")) continue;
    const col = (name: string): string => cells[header!.indexOf(name)]!;
    rows.push({
      file: col("file").replace(/`/g, ""),
      format: col("format"),
      linkTypes: [...col("link type").matchAll(/\((\d+)\)/g)].map((m) => Number(m[1])),
      records: Number(col("records (header walk)")),
    });
  }
  return rows;
}

// ---------- byte builders ----------

export class Bytes {
  private parts: number[] = [];
  constructor(readonly le: boolean) {}
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff];
    this.parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  u32(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
    this.parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  u64(v: bigint): this {
    const hi = Number((v >> 32n) & 0xffffffffn);
    const lo = Number(v & 0xffffffffn);
    return this.le ? this.u32(lo).u32(hi) : this.u32(hi).u32(lo);
  }
  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.parts.push(b[i]!);
    return this;
  }
  pad4(): this {
    while (this.parts.length % 4 !== 0) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export function payload(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

export function concat(...chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

export interface PcapRec {
  sec: number;
  frac: number;
  data: Uint8Array;
  origlen?: number;
  /** incl_len to write (default data.length). */
  caplen?: number;
}

export function pcapHeader(le: boolean, ns: boolean, snaplen = 65535, linkType = 1): Uint8Array {
  return new Bytes(le)
    .u32(ns ? 0xa1b23c4d : 0xa1b2c3d4)
    .u16(2)
    .u16(4)
    .u32(0)
    .u32(0)
    .u32(snaplen)
    .u32(linkType)
    .bytes();
}

export function pcapRecord(le: boolean, r: PcapRec): Uint8Array {
  return new Bytes(le)
    .u32(r.sec)
    .u32(r.frac)
    .u32(r.caplen ?? r.data.length)
    .u32(r.origlen ?? r.data.length)
    .raw(r.data)
    .bytes();
}

/** A pcapng block: type, total length, body (padded), total length. */
export function block(le: boolean, type: number, body: Uint8Array, lengthOverride?: number): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const total = 12 + padded;
  const b = new Bytes(le)
    .u32(type)
    .u32(lengthOverride ?? total)
    .raw(body)
    .pad4()
    .u32(lengthOverride ?? total);
  return b.bytes();
}

export function shb(le: boolean): Uint8Array {
  return block(le, 0x0a0d0d0a, new Bytes(le).u32(0x1a2b3c4d).u16(1).u16(0).u64(0xffffffffffffffffn).bytes());
}

export function idb(
  le: boolean,
  linkType: number,
  snaplen: number,
  opts: { tsresol?: number; tsoffset?: bigint } = {},
): Uint8Array {
  const b = new Bytes(le).u16(linkType).u16(0).u32(snaplen);
  if (opts.tsresol !== undefined) b.u16(9).u16(1).u8(opts.tsresol).pad4();
  if (opts.tsoffset !== undefined) b.u16(14).u16(8).u64(opts.tsoffset);
  if (opts.tsresol !== undefined || opts.tsoffset !== undefined) b.u16(0).u16(0);
  return block(le, 1, b.bytes());
}

export function epb(le: boolean, ifid: number, ts: bigint, data: Uint8Array, origlen?: number): Uint8Array {
  const b = new Bytes(le)
    .u32(ifid)
    .u32(Number(ts >> 32n))
    .u32(Number(ts & 0xffffffffn))
    .u32(data.length)
    .u32(origlen ?? data.length)
    .raw(data)
    .pad4();
  return block(le, 6, b.bytes());
}

export function spb(le: boolean, origlen: number, data: Uint8Array): Uint8Array {
  return block(le, 3, new Bytes(le).u32(origlen).raw(data).pad4().bytes());
}

/** Obsolete Packet Block (type 2). */
export function pb(le: boolean, ifid: number, ts: bigint, data: Uint8Array): Uint8Array {
  const b = new Bytes(le)
    .u16(ifid)
    .u16(0)
    .u32(Number(ts >> 32n))
    .u32(Number(ts & 0xffffffffn))
    .u32(data.length)
    .u32(data.length)
    .raw(data)
    .pad4();
  return block(le, 2, b.bytes());
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** sha256 over every field and byte of the records (cheap equality for big captures). */
export function digest(records: Rec[]): string {
  const h = createHash("sha256");
  const f = new Float64Array(7);
  for (const r of records) {
    f.set([r.sec, r.nsec, r.caplen, r.origlen, r.linkType, r.packetNo, r.fileOffset]);
    h.update(f);
    h.update(r.data);
  }
  return h.digest("hex");
}
