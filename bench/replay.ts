/**
 * End-to-end replay packets/s (capture -> decode -> conntrack, kernel-default sysctls) on the bench
 * captures: the single-table driver in-process, and the sharded driver with 1 worker thread and with one
 * thread per core. Each case's final table (count, conntrack -S) is printed so the runs can be compared.
 */
import os from "node:os";
import { pathToFileURL } from "node:url";
import { resolveSettings } from "../engine/conntrack/settings.js";
import { replayCaptures } from "../engine/replay.js";
import { replaySharded } from "../engine/shard/index.js";
import { type BenchCaptureName, benchCapture } from "./captures.js";
import { mpps, type PassResult, runPasses } from "./harness.js";

interface TableEnd {
  count: number;
  stats: Record<string, number>;
}

export interface ReplayBenchReport {
  capture: string;
  packets: number;
  /** nf_conntrack_max of the runs (0 = unlimited). */
  max: number;
  results: PassResult[];
  /** Per case: entries in the table at the end of its last pass and its conntrack -S style counters. */
  tables: TableEnd[];
}

/** `ctMax`: nf_conntrack_max for the runs (default: the kernel default; 0 = unlimited). */
export async function benchReplay(quick = false, ctMax?: number): Promise<ReplayBenchReport[]> {
  const reports: ReplayBenchReport[] = [];
  const settings = resolveSettings(ctMax !== undefined ? { nf_conntrack_max: ctMax } : {});
  const cores = Math.max(2, os.availableParallelism());
  for (const name of ["bench5m-headers", "bench5m"] as BenchCaptureName[]) {
    const cap = await benchCapture(name, quick);
    const tables: TableEnd[] = [];
    const keep = (i: number, count: number, stats: object): void => {
      tables[i] = { count, stats: { ...stats } as Record<string, number> };
    };
    const results = await runPasses(`replay: ${name} (${cap.packets} packets, max ${settings.max})`, [
      {
        name: "replay in-process",
        packets: cap.packets,
        file: cap.path,
        pass: async () => {
          const r = await replayCaptures([cap.path], settings);
          keep(0, r.conntrack.count, r.stats);
          return r.packets + r.afterEnd;
        },
      },
      {
        name: "sharded, 1 thread",
        packets: cap.packets,
        file: cap.path,
        pass: async () => {
          const r = await replaySharded([cap.path], settings, { threads: 1, shards: 1 });
          keep(1, r.conntrack.count, r.stats);
          return r.packets + r.afterEnd;
        },
      },
      {
        name: `sharded, ${cores} threads`,
        packets: cap.packets,
        file: cap.path,
        pass: async () => {
          const r = await replaySharded([cap.path], settings, { threads: cores, shards: cores });
          keep(2, r.conntrack.count, r.stats);
          return r.packets + r.afterEnd;
        },
      },
    ]);
    reports.push({ capture: name, packets: cap.packets, max: settings.max, results, tables });
  }
  return reports;
}

export function printReplay(reports: ReplayBenchReport[]): void {
  for (const rep of reports) {
    console.log(`\nreplay ${rep.capture}: ${rep.packets} packets, nf_conntrack_max ${rep.max}`);
    rep.results.forEach((r, i) => {
      const t = rep.tables[i];
      const s = t?.stats ?? {};
      console.log(
        `  ${r.name.padEnd(22)} ${mpps(r.pps).padStart(11)}   best pass ${r.bestS.toFixed(2)} s = ` +
          `${mpps(r.packets / r.bestS)} (${r.calls} passes); table at end ${t?.count ?? "?"} entries, ` +
          `new ${s.new ?? "?"}, drop ${s.drop ?? "?"}, early_drop ${s.early_drop ?? "?"}, invalid ${s.invalid ?? "?"}`,
      );
    });
    const [inproc, one, many] = rep.results;
    console.log(
      `  sharded/in-process: 1 thread ${(one.pps / inproc.pps).toFixed(2)}x, ` +
        `${many.name.replace("sharded, ", "")} ${(many.pps / inproc.pps).toFixed(2)}x`,
    );
  }
}

/** `--ct-max N` on the command line, else undefined. */
export function ctMaxArg(argv: string[]): number | undefined {
  const at = argv.indexOf("--ct-max");
  return at >= 0 ? Number(argv[at + 1]) : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  printReplay(await benchReplay(process.argv.includes("--quick"), ctMaxArg(process.argv)));
}
