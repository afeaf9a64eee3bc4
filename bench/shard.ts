/**
 * Sharded replay bench: end-to-end packets/s (read, decode, full tracking, timeline) on the bench5m
 * capture with the worker-thread driver at 1 and 2 threads, against the in-process single-table driver in
 * the same run (benny, whole-file passes). Prints the 2-vs-1-thread speed-up, each case's peak RSS
 * (VmHWM of one pass in a fresh process) and where the time went (main thread
 * read+decode vs waiting, worker busy time, per packet).
 *   node dist/bench/shard.js [--quick] [--no-timeline]
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { resolveSettings } from "../engine/conntrack/settings.js";
import { replayCaptures } from "../engine/replay.js";
import { replaySharded, type ShardedReplayResult } from "../engine/shard/index.js";
import { Timeline } from "../engine/stats/timeline.js";
import { benchCapture } from "./captures.js";
import { mpps, type PassCase, runPasses } from "./harness.js";

/** VmHWM in bytes: the peak resident set of this process. */
function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

interface CaseRun {
  packets: number;
  afterEnd: number;
  count: number;
  timing: ShardedReplayResult["timing"] | null;
}

interface BenchCase {
  name: string;
  run: (file: string, timeline: boolean) => Promise<CaseRun>;
}

/**
 * Timeline hooks as the CLI wires them (auto interval coarsened by tickHint, which both drivers call at
 * the same rows with the same values, so every case samples the same ticks), or none.
 */
function hooks<V>(timeline: boolean, tick: (tl: Timeline) => (t: number, v: V) => void) {
  if (!timeline) return {};
  const tl = new Timeline();
  return {
    onTick: tick(tl),
    nextTick: () => tl.nextTick,
    nextTickBound: (at: number) => tl.nextTickBound(at),
    tickHint: (f: number) => tl.progressHint(f),
  };
}

// Default shards (2T-1: one on the main thread, which also reads and decodes, two per worker thread);
// mainTracks false: the layout where every tracking thread is a worker and the main thread only reads.
const sharded = (threads: number, mainTracks = true): BenchCase => ({
  name: mainTracks ? `sharded, ${threads} thread${threads > 1 ? "s" : ""}` : `${threads} workers, main reads`,
  run: async (file, timeline) => {
    const r = await replaySharded([file], resolveSettings(), {
      threads,
      mainTracks,
      ...hooks(timeline, (tl) => (t, v) => tl.onTick(t, v)),
    });
    return { packets: r.packets, afterEnd: r.afterEnd, count: r.conntrack.count, timing: r.timing };
  },
});

const CASES: BenchCase[] = [
  {
    name: "in-process, 1 table",
    run: async (file, timeline) => {
      const r = await replayCaptures([file], resolveSettings(), {
        ...hooks(timeline, (tl) => (t, ct) => tl.onTick(t, ct)),
      });
      return { packets: r.packets, afterEnd: r.afterEnd, count: r.conntrack.count, timing: null };
    },
  },
  sharded(1),
  sharded(2),
  sharded(2, false),
];

/**
 * Peak RSS of one pass of case k, in a fresh process (this module with --rss k): in the bench process the
 * earlier passes' garbage, not yet collected, would count toward every later case's peak.
 */
function childPeakRss(k: number, quick: boolean, timeline: boolean): number {
  const args = [fileURLToPath(import.meta.url), "--rss", String(k)];
  if (quick) args.push("--quick");
  if (!timeline) args.push("--no-timeline");
  const out = execFileSync(process.execPath, args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const m = /^peakRss (\d+)$/m.exec(out);
  if (!m) throw new Error(`bench --rss ${k}: no peakRss line in ${JSON.stringify(out.slice(-200))}`);
  return Number(m[1]);
}

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
): Promise<{ packets: number; timeline: boolean; cases: ShardBenchCase[] }> {
  const cap = await benchCapture("bench5m", quick);
  const timings = new Map<string, ShardedReplayResult["timing"]>();
  const counts = new Map<string, number>();
  const results = await runPasses(
    `sharded replay: bench5m (${cap.packets} packets)`,
    CASES.map(
      (c): PassCase => ({
        name: c.name,
        packets: cap.packets,
        pass: async () => {
          const r = await c.run(cap.path, timeline);
          if (r.timing) timings.set(c.name, r.timing);
          counts.set(c.name, r.count);
          return r.packets + r.afterEnd;
        },
      }),
    ),
  );
  return {
    packets: cap.packets,
    timeline,
    cases: results.map((r, k) => ({
      name: r.name,
      mpps: r.pps / 1e6,
      bestMpps: r.packets / r.bestS / 1e6,
      peakRssMiB: childPeakRss(k, quick, timeline) / 2 ** 20,
      timing: timings.get(r.name) ?? null,
      count: counts.get(r.name) ?? 0,
    })),
  };
}

export function printShard(rep: { packets: number; timeline: boolean; cases: ShardBenchCase[] }): void {
  const tl = rep.timeline ? "timeline (auto interval)" : "no timeline";
  console.log(`\nsharded replay, bench5m: ${rep.packets} packets (read, decode, tracking, ${tl})`);
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
  const quick = process.argv.includes("--quick");
  const timeline = !process.argv.includes("--no-timeline");
  const rssAt = process.argv.indexOf("--rss");
  if (rssAt >= 0) {
    // One pass of one case, for childPeakRss.
    const c = CASES[Number(process.argv[rssAt + 1])];
    if (!c) throw new Error(`--rss: no case ${process.argv[rssAt + 1]}`);
    await c.run((await benchCapture("bench5m", quick)).path, timeline);
    console.log(`peakRss ${peakRss()}`);
  } else printShard(await benchShard(quick, timeline));
}
