/**
 * Fuzz: deterministic mutations of corpus captures (bit flips, truncations, length fields overwritten with
 * random or huge values, gzip-wrapped and gzip-truncated variants). openCapture/readBatch must never throw,
 * must terminate, must keep every record inside its chunk, and must keep the buffer bounded.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { CaptureError, openCapture, RecordBatch } from "../engine/capture/index.js";
import { capturesDir, haveCaptures, prng, readFile, readManifest } from "./capture-util.js";

const dir = mkdtempSync(path.join(tmpdir(), "ctreplay-fuzz-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BUF = 64 * 1024;
const HUGE = [
  0xffffffff, 0x7fffffff, 0x80000000, 0x04000000, 0x04000004, 0x00040001, 0xfffffff0, 13, 0, 8, 12,
];

describe.skipIf(!haveCaptures)("capture fuzz", () => {
  const files = haveCaptures
    ? readManifest()
        .map((r) => r.file)
        .filter((f) => !f.startsWith("tcp-echo-many")) // 80k packets: too slow for hundreds of mutants
    : [];

  it("never throws, terminates, stays bounded", async () => {
    const rnd = prng(0xc0ffee);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
    // Length-field positions come from a clean read (record/block header offsets).
    const corpus: { name: string; bytes: Uint8Array; fields: number[]; le: boolean }[] = [];
    for (const f of files) {
      const raw = readFileSync(path.join(capturesDir, f));
      const bytes = f.endsWith(".gz") ? new Uint8Array(gunzipSync(raw)) : new Uint8Array(raw);
      const { reader, records } = await readFile(path.join(capturesDir, f));
      const fields: number[] = [];
      for (const r of records.slice(0, 200)) {
        if (reader.info.format === "pcap") fields.push(r.fileOffset + 8, r.fileOffset + 12);
        else fields.push(r.fileOffset + 4, r.fileOffset + 20, r.fileOffset + r.caplen + 28);
      }
      if (reader.info.format === "pcapng") fields.push(4, 32, 36);
      corpus.push({ name: f, bytes, fields, le: reader.info.byteOrder === "LE" });
    }
    const stats = { mutants: 0, openErrors: 0, readErrors: 0, clean: 0, records: 0 };
    for (let iter = 0; iter < 1000; iter++) {
      const src = pick(corpus);
      let m = src.bytes.slice();
      const kind = iter % 5;
      if (kind === 0) {
        const flips = 1 + Math.floor(rnd() * 16);
        for (let i = 0; i < flips; i++) m[Math.floor(rnd() * m.length)]! ^= 1 << Math.floor(rnd() * 8);
      } else if (kind === 1) {
        m = m.subarray(0, Math.floor(rnd() * m.length));
      } else if (kind === 2 || kind === 3) {
        const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
        const writes = 1 + Math.floor(rnd() * 3);
        for (let i = 0; i < writes; i++) {
          const at = pick(src.fields);
          if (at + 4 > m.length) continue;
          const v = rnd() < 0.5 ? pick(HUGE) : Math.floor(rnd() * 4294967296);
          dv.setUint32(at, v, src.le);
        }
        if (kind === 3) m = m.subarray(0, m.length - Math.floor(rnd() * 64));
      } else {
        // gzip-wrapped, possibly cut mid-stream, possibly with a flipped compressed byte.
        let gz = gzipSync(m, { level: 1 });
        if (rnd() < 0.5) gz = gz.subarray(0, Math.floor(rnd() * gz.length));
        else gz[10 + Math.floor(rnd() * (gz.length - 10))]! ^= 0x10;
        m = new Uint8Array(gz);
      }
      const file = path.join(dir, `m${iter}`);
      writeFileSync(file, m);
      stats.mutants++;
      let r: Awaited<ReturnType<typeof openCapture>>;
      try {
        // Every other mutant through the read-ahead path (files in the page cache are read synchronously).
        r = await openCapture(file, { bufferSize: BUF, readAhead: iter % 2 === 1 });
      } catch (e) {
        throw new Error(`openCapture threw on mutant ${iter} of ${src.name}: ${String(e)}`);
      }
      if (r instanceof CaptureError) {
        stats.openErrors++;
        expect(r.toString()).toContain(file);
        continue;
      }
      // Decompressed input is at most the source size (gzip mutants cannot inflate beyond it much).
      const dataBound = Math.max(src.bytes.length, m.length) + 1024;
      const batch = new RecordBatch(64);
      let total = 0;
      let batches = 0;
      try {
        for (;;) {
          const n = await r.readBatch(batch);
          expect(r.bufferBytes).toBeLessThanOrEqual(Math.max(BUF, 2 * dataBound));
          if (n === 0) break;
          for (let k = 0; k < n; k++) {
            expect(batch.offset[k]! + batch.caplen[k]!).toBeLessThanOrEqual(batch.data.length);
            expect(batch.tsNsec[k]!).toBeLessThan(1e9);
            expect(batch.packetNo[k]).toBe(total + k + 1);
          }
          total += n;
          batches++;
          // Each record costs >= 12 input bytes: anything more means a loop.
          expect(total).toBeLessThanOrEqual(dataBound / 12 + 1);
          expect(batches).toBeLessThan(1e5);
        }
        expect(await r.readBatch(batch)).toBe(0);
      } catch (e) {
        throw new Error(`readBatch threw on mutant ${iter} of ${src.name}: ${String(e)}`);
      } finally {
        await r.close();
      }
      stats.records += total;
      if (r.error) {
        stats.readErrors++;
        expect(r.error.packetNo).toBe(total + 1);
        expect(r.error.offset).toBeGreaterThanOrEqual(0);
      } else stats.clean++;
    }
    console.log("capture fuzz:", JSON.stringify(stats));
    // The mutations must actually reach the error paths, not only produce clean files.
    expect(stats.openErrors).toBeGreaterThan(10);
    expect(stats.readErrors).toBeGreaterThan(100);
  });
});
