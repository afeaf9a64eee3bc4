/**
 * Parallel decoding (engine/shard/decode-pool.ts): the Decoder's deferFragments mode (fragments left as
 * PK_DEFER rows, resolved in order by a defragmenting Decoder) and the read + decode pipeline with decode
 * worker threads, against one Decoder over the same corpus captures: same rows, same DecodeStats. Needs
 * `npm run build` for the pipeline cases (the worker runs from dist/workers).
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CaptureError, openCapture, RecordBatch } from "../engine/capture/index.js";
import { Decoder } from "../engine/decode/decoder.js";
import { PacketBatch, PK_DEFER, PK_IP } from "../engine/decode/packet-batch.js";
import { decodeWorkerFile, readDecodeParallel } from "../engine/shard/decode-pool.js";
import { capturesDir, haveCorpus, repoRoot, rowKey } from "./decode-helpers.js";

const built = (() => {
  try {
    decodeWorkerFile();
    return true;
  } catch {
    return false;
  }
})();

const FRAGMENTED = [
  "ip46-frag-udp-dns.pcap",
  "ipv4-frag-icmp-echo.pcap",
  "ipv4-frag-tcp-http.pcap",
  "ipv6-frag-udp-dns.pcap",
];

/** All records of a (small) capture in one RecordBatch. */
async function readAll(file: string): Promise<RecordBatch> {
  const r = await openCapture(file);
  if (r instanceof CaptureError) throw new Error(r.toString());
  const rec = new RecordBatch(4096);
  const n = await r.readBatch(rec);
  // The batch points into the reader's buffer: keep a copy before closing.
  rec.data = rec.data.slice();
  expect(await r.readBatch(new RecordBatch(8))).toBe(0);
  await r.close();
  rec.count = n;
  return rec;
}

/** Row i of a batch as plain values (every column), for comparing rows across batches. */
function rowOf(b: PacketBatch, i: number): number[] {
  const cols = [b.tsSec, b.tsNsec, b.packetNo, b.kind, b.l3, b.proto, b.sport, b.dport, b.l4len, b.l4flags];
  const more = [b.l3flags, b.il3, b.iproto, b.isport, b.idport, b.tcpFlags, b.tcpDoff, b.seq, b.ack, b.win];
  const out: number[] = [];
  for (const c of [...cols, ...more, b.tcpOpt, b.wscale, b.sackEdge, b.payload, b.x0, b.x1, b.nchunks])
    out.push(c[i]!);
  for (const c of [b.src, b.dst, b.isrc, b.idst]) for (let k = 0; k < 4; k++) out.push(c[i * 4 + k]!);
  return out;
}

describe.skipIf(!haveCorpus)("Decoder deferFragments", () => {
  for (const name of FRAGMENTED) {
    it(`${name}: PK_DEFER rows resolved in order give one decoder's rows and stats`, async () => {
      const rec = await readAll(path.join(capturesDir, name));
      const one = new Decoder();
      const ref = new PacketBatch(rec.count);
      expect(one.decode(rec, 0, ref)).toBe(rec.count);
      one.finish();
      expect(one.stats.fragments).toBeGreaterThan(0);

      const worker = new Decoder({ deferFragments: true });
      const rows = new PacketBatch(rec.count);
      worker.decode(rec, 0, rows);
      // Fragments are rows of their own kind carrying the record index; nothing about them is counted.
      const deferred: number[] = [];
      for (let i = 0; i < rows.count; i++) if (rows.kind[i] === PK_DEFER) deferred.push(rows.x0[i]!);
      expect(deferred.length).toBe(one.stats.fragments);
      expect(worker.stats.fragments).toBe(0);
      expect(worker.stats.frag.reassembled).toBe(0);
      expect(worker.stats.packets).toBe(one.stats.packets - one.stats.fragments);
      expect(worker.stats.ipv4 + worker.stats.ipv6).toBe(
        one.stats.ipv4 + one.stats.ipv6 - one.stats.fragments,
      );
      for (const k of deferred) expect(rec.packetNo[k]).toBeGreaterThan(0);

      const main = new Decoder();
      const got: number[][] = [];
      for (let i = 0; i < rows.count; i++) {
        if (rows.kind[i] !== PK_DEFER || main.decodeOne(rec, rows.x0[i]!, rows, i)) {
          expect(rows.kind[i]).toBe(PK_IP);
          got.push(rowOf(rows, i));
        }
      }
      main.finish();
      const want: number[][] = [];
      for (let i = 0; i < ref.count; i++) want.push(rowOf(ref, i));
      expect(got).toEqual(want);
      // decodeOne left the batch's count alone and counted only the fragments.
      expect(main.stats.packets).toBe(one.stats.fragments);
      expect(main.stats.fragments).toBe(one.stats.fragments);
      expect(main.stats.frag.reassembled).toBe(one.stats.frag.reassembled);
      expect(main.stats.rows + worker.stats.rows).toBe(one.stats.rows);
    });
  }
});

describe.skipIf(!haveCorpus || !built)("readDecodeParallel: main reads, decode threads decode", () => {
  it("every corpus capture: same rows and DecodeStats as one Decoder, for 1 and 2 threads", async () => {
    const names = readdirSync(capturesDir).filter((f) => /\.(pcap|pcapng)(\.gz)?$/.test(f));
    expect(names.length).toBeGreaterThan(10);
    let fragments = 0;
    for (const name of names) {
      const file = path.join(capturesDir, name);
      const refRows: string[] = [];
      const ref = await readDecodeParallel([file], {
        threads: 0,
        onRow: (b, i) => refRows.push(rowKey(b, i)),
      });
      expect(ref.fastRows).toBe(0);
      fragments += ref.decode.fragments;
      // Small batches and ring: many slots, fragments split across slots, slot reuse.
      for (const threads of [1, 2]) {
        const rows: string[] = [];
        const r = await readDecodeParallel([file], {
          threads,
          batchSize: 16,
          ring: 3,
          onRow: (b, i) => rows.push(rowKey(b, i)),
        });
        expect(r.records).toBe(ref.records);
        expect(r.rows).toBe(ref.rows);
        expect(rows).toEqual(refRows);
        expect(JSON.stringify(r.decode)).toBe(JSON.stringify(ref.decode));
        expect(r.captureErrors.map(String)).toEqual(ref.captureErrors.map(String));
      }
    }
    expect(fragments).toBeGreaterThan(10);
  }, 120_000);

  it("decode threads decode in their own chunk memory, with the WebAssembly fast path", async () => {
    const r = await readDecodeParallel([path.join(repoRoot, "captures/default.pcap")], { threads: 1 });
    expect(r.rows).toBeGreaterThan(1000);
    expect(r.fastRows).toBeGreaterThan(0.9 * r.rows);
  });

  it("0 threads is one Decoder over the file; tiny slot buffers split batches and grow for big records", async () => {
    const files = FRAGMENTED.map((n) => path.join(capturesDir, n));
    files.push(path.join(capturesDir, "tcp-echo-many-connections.pcap.gz"));
    // One decoder over all files, as replayCaptures does.
    const one = new Decoder();
    const rows = new PacketBatch(512);
    const rec = new RecordBatch(512);
    let n = 0;
    for (const f of files) {
      const r = await openCapture(f);
      if (r instanceof CaptureError) throw new Error(r.toString());
      for (let c = await r.readBatch(rec); c > 0; c = await r.readBatch(rec)) {
        for (let from = 0; from < c; ) {
          rows.count = 0;
          from = one.decode(rec, from, rows);
          n += rows.count;
        }
      }
      await r.close();
    }
    one.finish();
    const ref = await readDecodeParallel(files, { threads: 0, batchSize: 100 });
    expect(ref.rows).toBe(n);
    expect(JSON.stringify(ref.decode)).toBe(JSON.stringify(one.stats));
    expect(ref.files.map((f) => f.file)).toEqual(files);
    // 200-byte slots: most batches split, every record above 200 bytes gets a bigger buffer.
    const r = await readDecodeParallel(files, { threads: 2, batchSize: 100, ring: 4, slotBytes: 200 });
    expect(r.rows).toBe(n);
    expect(JSON.stringify(r.decode)).toBe(JSON.stringify(one.stats));
    expect(r.timing.tasks).toBeGreaterThan(ref.records / 100);
  }, 120_000);
});
