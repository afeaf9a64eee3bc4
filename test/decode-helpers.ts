/** Test helpers for the decode tests: decode single frames, read frames from the shared corpus, addresses. */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CaptureError, chunkBuffer, openCapture, RecordBatch } from "../engine/capture/index.js";
import { type DecodeOptions, Decoder } from "../engine/decode/index.js";
import { L4_ICMP_INNER_OK, PacketBatch } from "../engine/decode/packet-batch.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const capturesDir = path.resolve(repoRoot, "../shared/captures");
export const haveCorpus = existsSync(path.join(capturesDir, "MANIFEST.md"));
if (!haveCorpus) console.log(`decode tests: ${capturesDir} absent, corpus-based cases skipped`);

export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
}

export interface Frame {
  linkType: number;
  bytes: Uint8Array;
  /** Original length on the wire (default: bytes.length). */
  orig?: number;
  /** Capture time (s), or exact seconds + nanoseconds (records read from a capture). */
  t?: number;
  ts?: [number, number];
}

/**
 * Decodes frames as consecutive records of one batch with one Decoder. `inChunk`: the records lie in a
 * capture chunk memory (as the reader hands them out), where the WebAssembly fast path runs.
 */
export function decodeFrames(frames: Frame[], opts?: Partial<DecodeOptions>, finish = true, inChunk = false) {
  const dec = new Decoder(opts);
  const rec = new RecordBatch(frames.length);
  let total = 0;
  for (const f of frames) total += f.bytes.length + 3;
  // Odd start offsets on purpose: the checksum fast path must not depend on alignment.
  const data = inChunk ? chunkBuffer(total + 8) : new Uint8Array(total + 8);
  let off = 1;
  frames.forEach((f, i) => {
    data.set(f.bytes, off);
    rec.offset[i] = off;
    rec.caplen[i] = f.bytes.length;
    rec.origlen[i] = f.orig ?? f.bytes.length;
    const t = f.t ?? 1000 + i;
    rec.tsSec[i] = f.ts ? f.ts[0] : Math.floor(t);
    rec.tsNsec[i] = f.ts ? f.ts[1] : Math.round((t - Math.floor(t)) * 1e9);
    rec.linkType[i] = f.linkType;
    rec.packetNo[i] = i + 1;
    off += f.bytes.length + 3;
  });
  rec.data = data;
  rec.count = frames.length;
  const out = new PacketBatch(Math.max(8, frames.length));
  const next = dec.decode(rec, 0, out);
  if (finish) dec.finish();
  return { out, stats: dec.stats, next, dec };
}

export function decodeOne(linkType: number, bytes: Uint8Array, orig?: number, opts?: Partial<DecodeOptions>) {
  return decodeFrames([{ linkType, bytes, ...(orig === undefined ? {} : { orig }) }], opts);
}

/** Reads records (1-based numbers) of a corpus capture in place, copied out of the reader's buffer. */
export async function readFrames(file: string, numbers: number[]): Promise<Frame[]> {
  const r = await openCapture(path.join(capturesDir, file));
  if (r instanceof CaptureError) throw new Error(r.toString());
  const want = new Set(numbers);
  const got = new Map<number, Frame>();
  const rec = new RecordBatch(4096);
  try {
    while (got.size < want.size && (await r.readBatch(rec)) > 0) {
      for (let i = 0; i < rec.count; i++) {
        const n = rec.packetNo[i]!;
        if (!want.has(n)) continue;
        const o = rec.offset[i]!;
        got.set(n, {
          linkType: rec.linkType[i]!,
          bytes: rec.data.slice(o, o + rec.caplen[i]!),
          orig: rec.origlen[i]!,
          ts: [rec.tsSec[i]!, rec.tsNsec[i]!],
        });
      }
    }
  } finally {
    await r.close();
  }
  return numbers.map((n) => {
    const f = got.get(n);
    if (!f) throw new Error(`${file}: record ${n} not found`);
    return f;
  });
}

export function ip4(s: string): number[] {
  const p = s.split(".").map(Number);
  return [((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0, 0, 0, 0];
}

export function ip6(s: string): number[] {
  const [head, tail] = s.includes("::") ? s.split("::") : [s, undefined];
  const h = head ? head.split(":").filter((x) => x !== "") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t].map((g) => Number.parseInt(g, 16));
  return [0, 1, 2, 3].map((k) => ((groups[2 * k]! << 16) | groups[2 * k + 1]!) >>> 0);
}

export function words(a: Uint32Array, row: number): number[] {
  return Array.from(a.subarray(row * 4, row * 4 + 4));
}

function w4(a: Uint32Array, i: number): string {
  return `${a[i * 4]},${a[i * 4 + 1]},${a[i * 4 + 2]},${a[i * 4 + 3]}`;
}

/** The columns valid for row i (PacketBatch's row contract), as one string. */
export function rowKey(o: PacketBatch, i: number): string {
  let k = `${o.tsSec[i]}.${o.tsNsec[i]}#${o.packetNo[i]} k${o.kind[i]} l3${o.l3[i]} p${o.proto[i]} ${w4(o.src, i)}>${w4(o.dst, i)} ${o.sport[i]}>${o.dport[i]} len${o.l4len[i]} f${o.l4flags[i]} l3f${o.l3flags[i]}`;
  const p = o.proto[i];
  if (p === 6)
    k += ` tcp ${o.tcpFlags[i]} ${o.tcpDoff[i]} ${o.seq[i]} ${o.ack[i]} ${o.win[i]} ${o.tcpOpt[i]} ${o.wscale[i]} ${o.sackEdge[i]} ${o.payload[i]}`;
  if (p === 17 || p === 136) k += ` udp ${o.payload[i]}`;
  if (p === 132) k += ` sctp ${o.x0[i]} ${o.x1[i]} ${o.nchunks[i]}`;
  if (p === 47) k += ` gre ${o.x0[i]} ${o.x1[i]}`;
  if (o.l4flags[i]! & L4_ICMP_INNER_OK)
    k += ` inner ${o.il3[i]} ${o.iproto[i]} ${w4(o.isrc, i)}>${w4(o.idst, i)} ${o.isport[i]}>${o.idport[i]}`;
  return k;
}
