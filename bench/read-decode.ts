/**
 * Read + decode throughput on the 5M-packet bench capture (full-size and headers-only), with pcap-parser
 * iterating the same file in the same run as the baseline. Target (capture issue): read + decode at
 * least 10x pcap-parser's packets/s. Besides the single-threaded pass, the parallel pipeline of the
 * sharded replay (main thread reads, N decode threads decode, fragments resolved in order on the main
 * thread; engine/shard/decode-pool.ts) with N = the available CPUs.
 */
import os from "node:os";
import { pathToFileURL } from "node:url";
import { openCapture, RecordBatch } from "../engine/capture/index.js";
import { Decoder } from "../engine/decode/index.js";
import { PacketBatch } from "../engine/decode/packet-batch.js";
import { readDecodeParallel } from "../engine/shard/decode-pool.js";
import { type BenchCaptureName, benchCapture } from "./captures.js";
import { mpps, type PassResult, runPasses } from "./harness.js";
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
 * decoder alone (engine/decode/fast-path.ts off).
 */
async function readDecodePass(file: string, verifyChecksums = true, fastPath = true): Promise<number> {
  const reader = await openCapture(file);
  if (!("readBatch" in reader)) throw new Error(reader.toString());
  const dec = new Decoder({ verifyChecksums, fastPath });
  let n = 0;
  for (;;) {
    const c = await reader.readBatch(rec);
    if (c === 0) break;
    let from = 0;
    while (from < c) {
      rows.count = 0;
      from = dec.decode(rec, from, rows);
      n += rows.count;
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
  results: PassResult[];
  /** read+decode (checksums verified) pps / pcap-parser pps. */
  ratio: number;
  /** Decode threads of the parallel case, and its pps / pcap-parser pps (mean and best passes). */
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
  /** The same ratio from each case's fastest pass (less sensitive to load from other processes). */
  bestRatio: number;
  holds: boolean;
}

export async function benchReadDecode(quick = false): Promise<ReadDecodeReport[]> {
  const reports: ReadDecodeReport[] = [];
  const threads = os.availableParallelism();
  const parallel = `ctreplay read+decode, ${threads} threads`;
  for (const name of ["bench5m-headers", "bench5m"] as BenchCaptureName[]) {
    const cap = await benchCapture(name, quick);
    const results = await runPasses(`read + decode: ${name} (${cap.packets} packets)`, [
      {
        name: "ctreplay read+decode",
        packets: cap.packets,
        file: cap.path,
        pass: () => readDecodePass(cap.path),
      },
      {
        name: parallel,
        packets: cap.packets,
        file: cap.path,
        pass: async () => (await readDecodeParallel([cap.path], { threads })).records,
      },
      { name: "ctreplay read", packets: cap.packets, file: cap.path, pass: () => readPass(cap.path) },
      {
        name: "pcap-parser iterate",
        packets: cap.packets,
        file: cap.path,
        pass: () => pcapParserCount(cap.path),
      },
      {
        name: "read+decode no csum",
        packets: cap.packets,
        file: cap.path,
        pass: () => readDecodePass(cap.path, false),
      },
      {
        name: "pcap-parser 1MiB",
        packets: cap.packets,
        file: cap.path,
        pass: () => pcapParserCount(cap.path, true),
      },
      {
        name: "read+decode, JavaScript only",
        packets: cap.packets,
        file: cap.path,
        pass: () => readDecodePass(cap.path, true, false),
      },
    ]);
    const [rd, par, r, pp, rdn, ppt, rdjs] = results as [
      PassResult,
      PassResult,
      PassResult,
      PassResult,
      PassResult,
      PassResult,
      PassResult,
    ];
    const ratio = rd.pps / pp.pps;
    reports.push({
      capture: name,
      packets: cap.packets,
      bytes: cap.bytes,
      results,
      ratio,
      threads,
      parallelRatio: par.pps / pp.pps,
      bestParallelRatio: pp.bestS / par.bestS,
      parseRatio: rdn.pps / pp.pps,
      tunedRatio: rd.pps / ppt.pps,
      readRatio: r.pps / pp.pps,
      jsRatio: rdjs.pps / pp.pps,
      bestRatio: pp.bestS / rd.bestS,
      holds: Math.max(ratio, par.pps / pp.pps) >= TARGET_RATIO,
    });
  }
  return reports;
}

export function printReadDecode(reports: ReadDecodeReport[]): void {
  for (const rep of reports) {
    console.log(`\n${rep.capture}: ${rep.packets} packets, ${(rep.bytes / 1e6).toFixed(0)} MB`);
    for (const r of rep.results) {
      console.log(
        `  ${r.name.padEnd(34)} ${mpps(r.pps).padStart(11)}   best pass ${r.bestS.toFixed(2)} s = ` +
          `${mpps(r.packets / r.bestS)} (${r.calls} passes: ${r.passS.map((x) => x.toFixed(2)).join(" ")} s)`,
      );
    }
    console.log(
      `  read+decode / pcap-parser = ${rep.ratio.toFixed(1)}x single-threaded (best passes ` +
        `${rep.bestRatio.toFixed(1)}x), ${rep.parallelRatio.toFixed(1)}x with ${rep.threads} decode threads ` +
        `(best passes ${rep.bestParallelRatio.toFixed(1)}x); target >= ${TARGET_RATIO}x: ` +
        `${rep.holds ? "HOLDS" : "MISSED"}; ` +
        `read alone / pcap-parser = ${rep.readRatio.toFixed(1)}x; without checksum verification ` +
        `${rep.parseRatio.toFixed(1)}x; against pcap-parser fed 1 MiB chunks ${rep.tunedRatio.toFixed(1)}x; ` +
        `JavaScript decoder alone ${rep.jsRatio.toFixed(1)}x`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const reports = await benchReadDecode(process.argv.includes("--quick"));
  printReadDecode(reports);
}
