/**
 * Sharded replay bench: end-to-end packets/s (read, decode, full tracking, timeline) on the bench5m
 * capture with the worker-thread driver at 1 and 2 threads (worker threads kept from pass to pass, and new
 * ones every pass), against the in-process single-table driver in the same run (benny, whole-file passes). Prints the 2-vs-1-thread speed-up, each case's peak RSS
 * (VmHWM of one pass in a fresh process) and where the time went (main thread
 * read+decode vs waiting, worker busy time, per packet).
 *
 * The cases run in rounds (each round one benny suite over every case, in turn), and the speed-ups are
 * the median of each round's ratios: this machine's speed drifts by ±15 % over minutes, so a ratio of two
 * passes minutes apart measured the drift as much as the code.
 *   node dist/bench/shard.js [--quick] [--no-timeline] [--rounds N]   (default 3 rounds, 1 with --quick)
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { resolveSettings } from "../engine/conntrack/settings.js";
import { replayCaptures } from "../engine/replay.js";
import { replaySharded, type ShardedReplayResult, ShardPool } from "../engine/shard/index.js";
import { Timeline } from "../engine/stats/timeline.js";
import { benchCapture } from "./captures.js";
import { median, mpps, type PassCase, runPasses } from "./harness.js";

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
// Worker threads are kept from pass to pass in a ShardPool, as `size`, `compare` and `check` keep them
// from replay to replay: the passes then compare code warmed up alike (the in-process case's code is
// compiled once for all its passes too). newThreads: new threads every pass (one `ctreplay replay` run,
// whose worker isolate compiles the conntrack code again while it tracks).
const pools: ShardPool[] = [];
const sharded = (threads: number, mainTracks = true, newThreads = false): BenchCase => {
  const pool = newThreads ? undefined : new ShardPool();
  if (pool) pools.push(pool);
  return {
    name: mainTracks
      ? `sharded, ${threads} thread${threads > 1 ? "s" : ""}${newThreads ? ", new" : ""}`
      : `${threads} workers, main reads`,
    run: async (file, timeline) => {
      const r = await replaySharded([file], resolveSettings(), {
        threads,
        mainTracks,
        ...(pool ? { pool } : {}),
        ...hooks(timeline, (tl) => (t, v) => tl.onTick(t, v)),
      });
      return { packets: r.packets, afterEnd: r.afterEnd, count: r.conntrack.count, timing: r.timing };
    },
  };
};

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
  sharded(2, true, true),
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
  /** Median over the rounds of benny's mean packets/s. */
  mpps: number;
  /** Each round's Mpps. */
  roundMpps: number[];
  bestMpps: number;
  peakRssMiB: number;
  timing: ShardedReplayResult["timing"] | null;
  count: number;
}

export interface ShardBenchReport {
  packets: number;
  timeline: boolean;
  rounds: number;
  cases: ShardBenchCase[];
}

export async function benchShard(
  quick = false,
  timeline = true,
  rounds = quick ? 1 : 3,
): Promise<ShardBenchReport> {
  const cap = await benchCapture("bench5m", quick);
  const timings = new Map<string, ShardedReplayResult["timing"]>();
  const counts = new Map<string, number>();
  const perRound: Awaited<ReturnType<typeof runPasses>>[] = [];
  for (let round = 0; round < rounds; round++) {
    perRound.push(
      await runPasses(
        `sharded replay: bench5m (${cap.packets} packets), round ${round + 1} of ${rounds}`,
        CASES.map(
          (c): PassCase => ({
            name: c.name,
            packets: cap.packets,
            file: cap.path,
            pass: async () => {
              const r = await c.run(cap.path, timeline);
              if (r.timing) timings.set(c.name, r.timing);
              counts.set(c.name, r.count);
              return r.packets + r.afterEnd;
            },
          }),
        ),
      ),
    );
  }
  await Promise.all(pools.map((p) => p.close()));
  return {
    packets: cap.packets,
    timeline,
    rounds,
    cases: CASES.map((c, k) => {
      const runs = perRound.map((res) => res[k]!);
      const roundMpps = runs.map((r) => r.pps / 1e6);
      return {
        name: c.name,
        mpps: median(roundMpps),
        roundMpps,
        bestMpps: Math.max(...runs.map((r) => r.packets / r.bestS / 1e6)),
        peakRssMiB: childPeakRss(k, quick, timeline) / 2 ** 20,
        timing: timings.get(c.name) ?? null,
        count: counts.get(c.name) ?? 0,
      };
    }),
  };
}

export function printShard(rep: ShardBenchReport): void {
  const tl = rep.timeline ? "timeline (auto interval)" : "no timeline";
  console.log(
    `\nsharded replay, bench5m: ${rep.packets} packets (read, decode, tracking, ${tl}); median of ${rep.rounds} round(s)`,
  );
  for (const c of rep.cases) {
    const rounds =
      c.roundMpps.length > 1 ? ` [rounds ${c.roundMpps.map((x) => x.toFixed(2)).join(" / ")}]` : "";
    let line = `  ${c.name.padEnd(22)} ${mpps(c.mpps * 1e6).padStart(11)}${rounds} (best pass ${c.bestMpps.toFixed(2)} Mpps)  peak RSS ${c.peakRssMiB.toFixed(0)} MiB  table ${c.count}`;
    const t = c.timing;
    if (t) {
      const ns = (ms: number): string => `${((ms * 1e6) / rep.packets).toFixed(0)} ns/pkt`;
      line += `\n    main: read+copy+scan ${ns(t.decodeMs)} (read+copy ${ns(t.readMs)}), waiting ${ns(t.waitMs)} (for decoded batches ${ns(t.decodeWaitMs)}), merge ${t.mergeMs.toFixed(0)} ms, ${t.tasks} tasks; decode threads busy ${ns(t.decodeWorkerMs)} in all; tracking threads busy ${t.threadBusyMs.map(ns).join(" / ")} (barrier ${t.threadBarrierMs.map((x) => x.toFixed(0)).join("/")} ms)`;
    }
    console.log(line);
  }
  const [inproc, one, two, twoNew] = rep.cases;
  if (inproc && one && two && twoNew) {
    // Each round's ratio (passes seconds apart), then their median.
    const ratios = (a: ShardBenchCase, b: ShardBenchCase): number[] =>
      a.roundMpps.map((x, r) => x / b.roundMpps[r]!);
    const show = (xs: number[]): string =>
      `${median(xs).toFixed(2)}x${xs.length > 1 ? ` (rounds ${xs.map((x) => x.toFixed(2)).join(" / ")})` : ""}`;
    console.log(
      `  2 threads vs the sharded driver on 1 thread: ${show(ratios(two, one))}; 2 threads vs in-process (what the CLI's --threads 1 runs): ${show(ratios(two, inproc))}; on new threads every replay: ${show(ratios(twoNew, one))} / ${show(ratios(twoNew, inproc))}`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const quick = process.argv.includes("--quick");
  const timeline = !process.argv.includes("--no-timeline");
  const rssAt = process.argv.indexOf("--rss");
  const roundsAt = process.argv.indexOf("--rounds");
  const rounds = roundsAt >= 0 ? Math.max(1, Number(process.argv[roundsAt + 1]) || 1) : undefined;
  if (rssAt >= 0) {
    // One pass of one case, for childPeakRss.
    const c = CASES[Number(process.argv[rssAt + 1])];
    if (!c) throw new Error(`--rss: no case ${process.argv[rssAt + 1]}`);
    await c.run((await benchCapture("bench5m", quick)).path, timeline);
    console.log(`peakRss ${peakRss()}`);
    await Promise.all(pools.map((p) => p.close()));
  } else printShard(await benchShard(quick, timeline, rounds));
}
