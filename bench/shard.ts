/**
 * Sharded replay bench: end-to-end packets/s (read, decode, full tracking, timeline) on the bench5m
 * capture with the worker-thread driver at 1 and 2 threads, against the in-process single-table driver in
 * the same run (benny, whole-file passes). Prints the 2-vs-1-thread speed-up, each case's peak RSS
 * (VmHWM, reset between cases through /proc/self/clear_refs) and where the time went (main thread
 * read+decode vs waiting, worker busy time, per packet).
 *   node dist/bench/shard.js [--quick] [--no-timeline]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { resolveSettings } from "../engine/conntrack/settings.js";
import { type ReplayProgress, replayCaptures } from "../engine/replay.js";
import { replaySharded, type ShardedReplayResult } from "../engine/shard/index.js";
import { Timeline } from "../engine/stats/timeline.js";
import { benchCapture } from "./captures.js";
import { mpps, type PassCase, runPasses } from "./harness.js";

/** VmHWM in bytes (peak resident set since start or the last reset). */
function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

function resetPeakRss(): void {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
  } catch {
    // not Linux or not permitted: the peak then covers every earlier case too
  }
}

/** The span hint the CLI's report hook gives the timeline (engine/report/cli-output.ts). */
const hint =
  (tl: Timeline) =>
  (p: ReplayProgress): void => {
    if (p.files === 1 && p.totalBytes) tl.progressHint(p.bytesRead / p.totalBytes);
  };

export interface ShardBenchCase {
  name: string;
  mpps: number;
  bestMpps: number;
  peakRssMiB: number;
  timing: ShardedReplayResult["timing"] | null;
  count: number;
}

export async function benchShard(
  quick = false,
  timeline = true,
): Promise<{ packets: number; cases: ShardBenchCase[] }> {
  const settings = resolveSettings();
  const cap = await benchCapture("bench5m", quick);
  const peaks = new Map<string, number>();
  const timings = new Map<string, ShardedReplayResult["timing"]>();
  const counts = new Map<string, number>();
  const wrap = (
    name: string,
    run: () => Promise<{ packets: number; afterEnd: number; count: number }>,
  ): PassCase => ({
    name,
    packets: cap.packets,
    pass: async () => {
      resetPeakRss();
      const r = await run();
      peaks.set(name, Math.max(peaks.get(name) ?? 0, peakRss()));
      counts.set(name, r.count);
      return r.packets + r.afterEnd;
    },
  });
  // Default shards (2T-1: one on the main thread, which also reads and decodes, two per worker thread);
  // mainTracks false: the layout where every tracking thread is a worker and the main thread only reads.
  const sharded = (threads: number, mainTracks = true) => {
    const name = mainTracks
      ? `sharded, ${threads} thread${threads > 1 ? "s" : ""}`
      : `${threads} workers, main reads`;
    return wrap(name, async () => {
      const tl = new Timeline();
      const r = await replaySharded([cap.path], settings, {
        threads,
        mainTracks,
        ...(timeline
          ? {
              onTick: (t, v) => tl.onTick(t, v),
              nextTick: () => tl.nextTick,
              nextTickBound: (at) => tl.nextTickBound(at),
              onProgress: hint(tl),
            }
          : {}),
      });
      timings.set(name, r.timing);
      return { packets: r.packets, afterEnd: r.afterEnd, count: r.conntrack.count };
    });
  };
  const results = await runPasses(`sharded replay: bench5m (${cap.packets} packets)`, [
    wrap("in-process, 1 table", async () => {
      const tl = new Timeline();
      const r = await replayCaptures([cap.path], settings, {
        ...(timeline
          ? {
              onTick: (t, ct) => tl.onTick(t, ct),
              nextTick: () => tl.nextTick,
              nextTickBound: (at) => tl.nextTickBound(at),
              onProgress: hint(tl),
            }
          : {}),
      });
      return { packets: r.packets, afterEnd: r.afterEnd, count: r.conntrack.count };
    }),
    sharded(1),
    sharded(2),
    sharded(2, false),
  ]);
  return {
    packets: cap.packets,
    cases: results.map((r) => ({
      name: r.name,
      mpps: r.pps / 1e6,
      bestMpps: r.packets / r.bestS / 1e6,
      peakRssMiB: (peaks.get(r.name) ?? 0) / 2 ** 20,
      timing: timings.get(r.name) ?? null,
      count: counts.get(r.name) ?? 0,
    })),
  };
}

export function printShard(rep: { packets: number; cases: ShardBenchCase[] }): void {
  console.log(`\nsharded replay, bench5m: ${rep.packets} packets (read, decode, tracking, timeline)`);
  for (const c of rep.cases) {
    let line = `  ${c.name.padEnd(22)} ${mpps(c.mpps * 1e6).padStart(11)} (best pass ${c.bestMpps.toFixed(2)} Mpps)  peak RSS ${c.peakRssMiB.toFixed(0)} MiB  table ${c.count}`;
    const t = c.timing;
    if (t) {
      const ns = (ms: number): string => `${((ms * 1e6) / rep.packets).toFixed(0)} ns/pkt`;
      line += `\n    main: read+copy+scan ${ns(t.decodeMs)} (read+copy ${ns(t.readMs)}), waiting ${ns(t.waitMs)} (for decoded batches ${ns(t.decodeWaitMs)}), merge ${t.mergeMs.toFixed(0)} ms, ${t.tasks} tasks; decode threads busy ${ns(t.decodeWorkerMs)} in all; tracking threads busy ${t.threadBusyMs.map(ns).join(" / ")} (barrier ${t.threadBarrierMs.map((x) => x.toFixed(0)).join("/")} ms)`;
    }
    console.log(line);
  }
  const [inproc, one, two] = rep.cases;
  if (inproc && one && two)
    console.log(
      `  2 threads vs the sharded driver on 1 thread: ${(two.mpps / one.mpps).toFixed(2)}x; 2 threads vs in-process (what the CLI's --threads 1 runs): ${(two.mpps / inproc.mpps).toFixed(2)}x`,
    );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  printShard(await benchShard(process.argv.includes("--quick"), !process.argv.includes("--no-timeline")));
}
