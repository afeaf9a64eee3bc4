/**
 * Read + decode throughput on the 5M-packet bench capture (full-size and headers-only), with pcap-parser
 * iterating the same file in the same run as the baseline. Target (capture issue): read + decode at
 * least 10x pcap-parser's packets/s. Besides the single-threaded pass, the parallel pipeline of the
 * sharded replay (main thread reads, N decode threads decode, fragments resolved in order on the main
 * thread; engine/shard/decode-pool.ts) with N = the available CPUs.
 *   node dist/bench/read-decode.js [--quick] [--rounds N]   (default 3 rounds, 1 with --quick)
 */
import os from "node:os";
import { pathToFileURL } from "node:url";
import { openCapture, RecordBatch } from "../engine/capture/index.js";
import { Decoder } from "../engine/decode/index.js";
import { PacketBatch } from "../engine/decode/packet-batch.js";
import { readDecodeParallel } from "../engine/shard/decode-pool.js";
import { type BenchCaptureName, benchCapture } from "./captures.js";
import { median, mpps, type PassCase, type PassResult, runPasses } from "./harness.js";
import { pcapParserCount } from "./pcap-parser-baseline.js";

export const TARGET_RATIO = 10;

const rec = new RecordBatch(8192);
const rows = new PacketBatch(8192);

/** One pass of the capture reader alone. */
async function readPass(file: string): Promise<number> {
  const reader = await openCapture(file);
  if (!("readBatch" in reader)) throw new Error(reader.toString());
  let n = 0;
  for (;;) {
    const c = await reader.readBatch(rec);
    if (c === 0) break;
    n += c;
  }
  const err = reader.error;
  await reader.close();
  if (err) throw new Error(err.toString());
  return n;
}

/**
 * One pass of reader + decoder. With `verifyChecksums` (the default, as the replay runs it) the decoder also
 * verifies every L4 checksum, which the kernel does inside conntrack's protocol handlers (tcp_error,
 * udp_error), not while parsing; without it the pass is parsing alone. `fastPath` false: the JavaScript
 * decoder alone (engine/decode/fast-path.ts off). The rows come as the in-process replay takes them
 * (Decoder.decodeInPlace: the decoder's own batch, the fast path's window over a capture chunk), or with
 * `copyOut` into a batch of the caller's (Decoder.decode, as the sharded driver's slots take them).
 */
async function readDecodePass(
  file: string,
  verifyChecksums = true,
  fastPath = true,
  copyOut = false,
): Promise<number> {
  const reader = await openCapture(file);
  if (!("readBatch" in reader)) throw new Error(reader.toString());
  const dec = new Decoder({ verifyChecksums, fastPath });
  let n = 0;
  for (;;) {
    const c = await reader.readBatch(rec);
    if (c === 0) break;
    if (copyOut) {
      for (let from = 0; from < c; ) {
        rows.count = 0;
        from = dec.decode(rec, from, rows);
        n += rows.count;
      }
    } else {
      for (let from = 0; from < c; from = dec.next) n += dec.decodeInPlace(rec, from).count;
    }
  }
  dec.finish();
  const err = reader.error;
  await reader.close();
  if (err) throw new Error(err.toString());
  return n;
}

export interface ReadDecodeReport {
  capture: string;
  packets: number;
  bytes: number;
  rounds: number;
  /** Each case over the rounds: pps = the median of the rounds' (benny's mean) packets/s. */
  results: PassResult[];
  /** read+decode (checksums verified) pps / pcap-parser pps: the median of the rounds' ratios, and each. */
  ratio: number;
  roundRatios: number[];
  /** Decode threads of the parallel case, and its pps / pcap-parser pps (median of rounds, best passes). */
  threads: number;
  parallelRatio: number;
  bestParallelRatio: number;
  /** read+decode without checksum verification / pcap-parser. */
  parseRatio: number;
  /** read+decode / pcap-parser fed 1 MiB chunks. */
  tunedRatio: number;
  readRatio: number;
  /** read+decode with the JavaScript decoder alone / pcap-parser. */
  jsRatio: number;
  /** read+decode into a batch of the caller's (rows copied out of the fast path's window) / pcap-parser. */
  copyRatio: number;
  /** The same ratio from each case's fastest pass (less sensitive to load from other processes). */
  bestRatio: number;
  holds: boolean;
}

/** Cases of one capture, in the order runPasses reports them. */
function cases(path: string, packets: number, parallel: string, threads: number): PassCase[] {
  return [
    { name: "ctreplay read+decode", packets, file: path, pass: () => readDecodePass(path) },
    {
      name: parallel,
      packets,
      file: path,
      pass: async () => (await readDecodeParallel([path], { threads })).records,
    },
    { name: "ctreplay read", packets, file: path, pass: () => readPass(path) },
    { name: "pcap-parser iterate", packets, file: path, pass: () => pcapParserCount(path) },
    { name: "read+decode no csum", packets, file: path, pass: () => readDecodePass(path, false) },
    { name: "pcap-parser 1MiB", packets, file: path, pass: () => pcapParserCount(path, true) },
    {
      name: "read+decode, JavaScript only",
      packets,
      file: path,
      pass: () => readDecodePass(path, true, false),
    },
    {
      name: "read+decode, rows copied out",
      packets,
      file: path,
      pass: () => readDecodePass(path, true, true, true),
    },
  ];
}
const RD = 0;
const PAR = 1;
const READ = 2;
const PP = 3;
const NOCSUM = 4;
const PP_TUNED = 5;
const JS = 6;
const COPY = 7;

/**
 * Every case of a capture in rounds (each round one benny suite over all of them, in turn), and each ratio
 * the median of the rounds' ratios: this machine's speed drifts by ±15 % over minutes, and a ratio of two
 * cases measured a minute apart measured the drift as much as the code (bench/shard.ts does the same).
 */
export async function benchReadDecode(quick = false, rounds = quick ? 1 : 3): Promise<ReadDecodeReport[]> {
  const reports: ReadDecodeReport[] = [];
  const threads = os.availableParallelism();
  const parallel = `ctreplay read+decode, ${threads} threads`;
  for (const name of ["bench5m-headers", "bench5m"] as BenchCaptureName[]) {
    const cap = await benchCapture(name, quick);
    const list = cases(cap.path, cap.packets, parallel, threads);
    const byRound: PassResult[][] = [];
    for (let round = 0; round < rounds; round++) {
      const title = `read + decode: ${name} (${cap.packets} packets), round ${round + 1} of ${rounds}`;
      byRound.push(await runPasses(title, list));
    }
    const over = (f: (r: PassResult[]) => number): number => median(byRound.map(f));
    const ratioOf = (a: number, b: number) => (r: PassResult[]) => r[a]!.pps / r[b]!.pps;
    const results = list.map((c, k) => {
      const all = byRound.map((r) => r[k]!);
      return {
        name: c.name,
        packets: c.packets,
        calls: all.reduce((n, r) => n + r.calls, 0),
        pps: median(all.map((r) => r.pps)),
        bestS: Math.min(...all.map((r) => r.bestS)),
        passS: all.flatMap((r) => r.passS),
      };
    });
    const roundRatios = byRound.map(ratioOf(RD, PP));
    const ratio = median(roundRatios);
    const parallelRatio = over(ratioOf(PAR, PP));
    const best = (k: number) => results[k]!.bestS;
    reports.push({
      capture: name,
      packets: cap.packets,
      bytes: cap.bytes,
      rounds,
      results,
      ratio,
      roundRatios,
      threads,
      parallelRatio,
      bestParallelRatio: best(PP) / best(PAR),
      parseRatio: over(ratioOf(NOCSUM, PP)),
      tunedRatio: over(ratioOf(RD, PP_TUNED)),
      readRatio: over(ratioOf(READ, PP)),
      jsRatio: over(ratioOf(JS, PP)),
      copyRatio: over(ratioOf(COPY, PP)),
      bestRatio: best(PP) / best(RD),
      holds: Math.max(ratio, parallelRatio) >= TARGET_RATIO,
    });
  }
  return reports;
}

export function printReadDecode(reports: ReadDecodeReport[]): void {
  for (const rep of reports) {
    console.log(
      `\n${rep.capture}: ${rep.packets} packets, ${(rep.bytes / 1e6).toFixed(0)} MB; median of ${rep.rounds} round(s)`,
    );
    for (const r of rep.results) {
      console.log(
        `  ${r.name.padEnd(34)} ${mpps(r.pps).padStart(11)}   best pass ${r.bestS.toFixed(2)} s = ` +
          `${mpps(r.packets / r.bestS)} (${r.calls} passes: ${r.passS.map((x) => x.toFixed(2)).join(" ")} s)`,
      );
    }
    const rounds =
      rep.roundRatios.length > 1 ? ` (rounds ${rep.roundRatios.map((x) => x.toFixed(1)).join(" / ")})` : "";
    console.log(
      `  read+decode / pcap-parser = ${rep.ratio.toFixed(1)}x single-threaded${rounds} (best passes ` +
        `${rep.bestRatio.toFixed(1)}x), ${rep.parallelRatio.toFixed(1)}x with ${rep.threads} decode threads ` +
        `(best passes ${rep.bestParallelRatio.toFixed(1)}x); target >= ${TARGET_RATIO}x: ` +
        `${rep.holds ? "HOLDS" : "MISSED"}; ` +
        `read alone / pcap-parser = ${rep.readRatio.toFixed(1)}x; without checksum verification ` +
        `${rep.parseRatio.toFixed(1)}x; against pcap-parser fed 1 MiB chunks ${rep.tunedRatio.toFixed(1)}x; ` +
        `JavaScript decoder alone ${rep.jsRatio.toFixed(1)}x; rows copied out into a caller's batch ` +
        `${rep.copyRatio.toFixed(1)}x`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const roundsAt = process.argv.indexOf("--rounds");
  const rounds = roundsAt >= 0 ? Math.max(1, Number(process.argv[roundsAt + 1]) || 1) : undefined;
  const reports = await benchReadDecode(process.argv.includes("--quick"), rounds);
  printReadDecode(reports);
}
