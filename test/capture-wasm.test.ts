/**
 * The classic pcap reader's WebAssembly record parser (engine/capture/record-window.ts) against its
 * JavaScript loop: the same records, skips and errors for every corpus capture and for classic pcaps with
 * odd, damaged and cut records in both byte orders and time resolutions, whatever the chunk and batch
 * sizes (batches larger than one parser call included).
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CaptureError, type OpenOptions, openCapture, RecordBatch } from "../engine/capture/index.js";
import {
  RECORD_SLOTS,
  recordParserAvailable,
  recordWindowFor,
  wasmParsedRecords,
} from "../engine/capture/record-window.js";
import {
  capturesDir,
  concat,
  digest,
  haveCaptures,
  payload,
  pcapHeader,
  pcapRecord,
  prng,
  readAll,
  repoRoot,
} from "./capture-util.js";

interface Outcome {
  digest: string;
  records: number;
  skipped: string;
  error: string | null;
}

async function outcome(file: string, opts: OpenOptions, batchSize: number): Promise<Outcome> {
  const r = await openCapture(file, opts);
  if (r instanceof CaptureError) return { digest: "", records: 0, skipped: "", error: r.toString() };
  try {
    const res = await readAll(r, batchSize);
    return {
      digest: digest(res.records),
      records: res.records.length,
      skipped: JSON.stringify(r.skipped),
      error: r.error ? r.error.toString() : null,
    };
  } finally {
    await r.close();
  }
}

/** Outcomes with the parser on and off, for two chunk sizes and two batch sizes. */
async function expectSame(file: string): Promise<Outcome> {
  let first: Outcome | null = null;
  for (const bufferSize of [undefined, 64 * 1024]) {
    for (const batchSize of [512, 2 * RECORD_SLOTS + 100]) {
      const js = await outcome(file, { bufferSize, wasmRecords: false }, batchSize);
      const wasm = await outcome(file, { bufferSize }, batchSize);
      expect(wasm).toEqual(js);
      first ??= js;
    }
  }
  return first!;
}

describe("capture: the WebAssembly record parser", () => {
  it("is built and runs on a reader's chunk", async () => {
    expect(recordParserAvailable()).toBe(true);
    const r = await openCapture(path.join(repoRoot, "captures/default.pcap"));
    if (r instanceof CaptureError) throw new Error(r.toString());
    const batch = new RecordBatch(64);
    expect(await r.readBatch(batch)).toBe(64);
    expect(recordWindowFor(batch.data)).not.toBeNull();
    await r.close();
  });

  it("reads the bundled capture like the JavaScript loop", async () => {
    const o = await expectSame(path.join(repoRoot, "captures/default.pcap"));
    expect(o.records).toBeGreaterThan(1000);
  });

  const corpus = haveCaptures ? readdirSync(capturesDir).filter((f) => /\.pcap(ng)?(\.gz)?$/.test(f)) : [];
  for (const f of corpus) {
    it(`reads ${f} like the JavaScript loop`, async () => {
      await expectSame(path.join(capturesDir, f));
    });
  }

  const dir = mkdtempSync(path.join(tmpdir(), "ctreplay-wasm-records-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const le of [true, false]) {
    for (const ns of [false, true]) {
      it(`reads odd, damaged and cut records like the JavaScript loop (${le ? "LE" : "BE"}, ${ns ? "ns" : "us"})`, async () => {
        const rnd = prng(le ? (ns ? 11 : 12) : ns ? 13 : 14);
        const fracLimit = ns ? 1e9 : 1e6;
        const base: Uint8Array[] = [pcapHeader(le, ns, 1500)];
        for (let i = 0; i < 3000; i++) {
          const len = 20 + Math.floor(rnd() * 200);
          const data = payload(len, i);
          const kind = rnd();
          // Mostly ordinary records; some with caplen > origlen, caplen > snaplen, or a fraction >= 1 s.
          const orig = kind < 0.03 ? len - 5 : len + Math.floor(rnd() * 100);
          const frac = kind > 0.97 ? fracLimit + Math.floor(rnd() * 1000) : Math.floor(rnd() * fracLimit);
          const big = kind > 0.95 && kind <= 0.97;
          base.push(
            pcapRecord(le, {
              sec: 1_767_225_600 + i,
              frac,
              data: big ? payload(1600, i) : data,
              origlen: big ? 1700 : Math.max(orig, 0),
            }),
          );
        }
        const whole = concat(...base);
        const variants: [string, Uint8Array][] = [["odd records", whole]];
        // A record with an absurd captured length (fatal) two thirds in; the file cut mid-record.
        const damaged = whole.slice();
        const at = (() => {
          let p = 24;
          const dv = new DataView(damaged.buffer);
          for (let k = 0; k < 2000; k++) p += 16 + dv.getUint32(p + 8, le);
          return p;
        })();
        new DataView(damaged.buffer).setUint32(at + 8, 0x7fffffff, le);
        variants.push(["absurd caplen", damaged], ["cut", whole.subarray(0, whole.length - 77)]);
        for (const [name, bytes] of variants) {
          const file = path.join(
            dir,
            `${le ? "le" : "be"}-${ns ? "ns" : "us"}-${name.replace(/ /g, "-")}.pcap`,
          );
          writeFileSync(file, bytes);
          const parsed = wasmParsedRecords();
          const o = await expectSame(file);
          // The module parsed most records of each of the 4 runs (the odd ones took the JavaScript loop).
          expect(wasmParsedRecords() - parsed).toBeGreaterThan(4 * 0.8 * Math.min(o.records, 2000));
          if (name === "odd records") {
            expect(o.error).toBeNull();
            expect(o.records).toBe(3000);
            expect(o.skipped).not.toBe("{}");
          } else expect(o.error).not.toBeNull();
          const strict = await outcome(file, { strict: true, wasmRecords: false }, 512);
          expect(await outcome(file, { strict: true }, 512)).toEqual(strict);
          if (name === "odd records") expect(strict.error).not.toBeNull();
        }
      });
    }
  }
});
