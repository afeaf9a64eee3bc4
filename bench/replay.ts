/**
 * End-to-end replay packets/s (capture -> decode -> conntrack, kernel-default sysctls) on the bench
 * captures, in-process on one thread. The sharded (worker-thread) variant is compared here once the
 * sharding stage lands.
 * TODO(sharding): add a "sharded N workers" case next to "in-process" when engine/shard has a runner.
 */
import { pathToFileURL } from "node:url";
import { resolveSettings } from "../engine/conntrack/settings.js";
import { replayCaptures } from "../engine/replay.js";
import { type BenchCaptureName, benchCapture } from "./captures.js";
import { mpps, type PassResult, runPasses } from "./harness.js";

export interface ReplayBenchReport {
  capture: string;
  packets: number;
  results: PassResult[];
  /** Entries in the table at the end of the last pass, and conntrack -S style counters. */
  count: number;
  stats: Record<string, number>;
}

export async function benchReplay(quick = false): Promise<ReplayBenchReport[]> {
  const reports: ReplayBenchReport[] = [];
  const settings = resolveSettings();
  for (const name of ["bench5m-headers", "bench5m"] as BenchCaptureName[]) {
    const cap = await benchCapture(name, quick);
    let count = 0;
    let stats: Record<string, number> = {};
    const results = await runPasses(`replay: ${name} (${cap.packets} packets)`, [
      {
        name: "replay in-process",
        packets: cap.packets,
        pass: async () => {
          const r = await replayCaptures([cap.path], settings);
          count = r.conntrack.count;
          stats = { ...r.stats } as unknown as Record<string, number>;
          return r.packets + r.afterEnd;
        },
      },
    ]);
    reports.push({ capture: name, packets: cap.packets, results, count, stats });
  }
  return reports;
}

export function printReplay(reports: ReplayBenchReport[]): void {
  for (const rep of reports) {
    console.log(`\nreplay ${rep.capture}: ${rep.packets} packets`);
    for (const r of rep.results) {
      console.log(
        `  ${r.name.padEnd(22)} ${mpps(r.pps).padStart(11)}   best pass ${r.bestS.toFixed(2)} s = ` +
          `${mpps(r.packets / r.bestS)} (${r.calls} passes)`,
      );
    }
    const s = rep.stats;
    console.log(
      `  table at end: ${rep.count} entries; new ${s.new ?? "?"}, drop ${s.drop ?? "?"}, ` +
        `early_drop ${s.early_drop ?? "?"}, invalid ${s.invalid ?? "?"}`,
    );
  }
  console.log("  sharded replay: not benchmarked yet (no sharding runner in engine/shard)");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  printReplay(await benchReplay(process.argv.includes("--quick")));
}
