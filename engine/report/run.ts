/**
 * Runs the core replay driver with a timeline and a progress bar attached and turns its result into a
 * ReplayReport (the one place that knows the driver's result shape).
 */
import type { CtSettings } from "../conntrack/settings.js";
import type { ReplayOptions, ReplayResult } from "../replay.js";
import { isSharded, runReplayDriver, type ShardCliOptions } from "../shard/cli.js";
import type { MemoryModel } from "../stats/memory.js";
import type { Timeline } from "../stats/timeline.js";
import { buildReplayReport, type ReplayReport } from "./model.js";
import { type Progress, startProgress } from "./progress.js";

export interface RunOptions extends ShardCliOptions {
  label?: string;
  endTime?: number;
  gc?: "kernel" | "exact";
  seed?: number;
  /** Show a progress bar on stderr when it is a TTY (default true). */
  progress?: boolean;
}

export interface RunOutput {
  report: ReplayReport;
  result: ReplayResult;
}

export async function runReplay(
  files: readonly string[],
  settings: CtSettings,
  mem: MemoryModel,
  tl: Timeline,
  opts: RunOptions = {},
): Promise<RunOutput> {
  const hooks = reportHooks(tl, opts.progress !== false);
  const shard: ShardCliOptions = {
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.shards !== undefined ? { shards: opts.shards } : {}),
    ...(opts.decodeThreads !== undefined ? { decodeThreads: opts.decodeThreads } : {}),
    ...(opts.pool ? { pool: opts.pool } : {}),
  };
  const result = await runReplayDriver(files, settings, shard, {
    ...(opts.endTime !== undefined ? { endTime: opts.endTime } : {}),
    ...(opts.gc !== undefined ? { gc: opts.gc } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    ...hooks.options,
  });
  hooks.stopProgress();
  return {
    report: reportFromResult(result, files, settings, mem, tl, hooks.bytesByFile, opts.label),
    result,
  };
}

/** The driver hooks a report needs: timeline ticks, bytes read per file, a progress bar per file. */
export interface ReportHooks {
  /** Bytes read so far, by file index (the report's input sizes). */
  readonly bytesByFile: Map<number, number>;
  /** Spread into the driver's options. */
  readonly options: Pick<ReplayOptions, "onTick" | "nextTick" | "nextTickBound" | "tickHint" | "onProgress">;
  /** Stops the progress bar of the file read last. */
  stopProgress(): void;
}

export function reportHooks(tl: Timeline, showProgress: boolean): ReportHooks {
  const bytesByFile = new Map<number, number>();
  let bar: Progress | null = null;
  let barFile = -1;
  return {
    bytesByFile,
    options: {
      onTick: (t, ct) => tl.onTick(t, ct),
      nextTick: () => tl.nextTick,
      nextTickBound: (at) => tl.nextTickBound(at),
      tickHint: (f) => tl.progressHint(f),
      onProgress: (p) => {
        bytesByFile.set(p.fileIndex, p.bytesRead);
        if (!showProgress) return;
        if (p.fileIndex !== barFile) {
          bar?.stop();
          barFile = p.fileIndex;
          bar = startProgress(p.totalBytes, p.files > 1 ? `${p.fileIndex + 1}/${p.files}` : "replay");
        }
        bar?.update(p.bytesRead, p.packets);
      },
    },
    stopProgress: () => bar?.stop(),
  };
}

/** Turns the driver's result into a ReplayReport (records the final row of the timeline first). */
export function reportFromResult(
  result: ReplayResult,
  files: readonly string[],
  settings: CtSettings,
  mem: MemoryModel,
  tl: Timeline,
  bytesByFile: ReadonlyMap<number, number> = new Map(),
  label?: string,
): ReplayReport {
  const ct = result.conntrack;
  if (result.endTime !== null) tl.record(result.endTime, ct);
  if (result.firstTime !== null) tl.origin = result.firstTime;
  let bytes = 0;
  for (const b of bytesByFile.values()) bytes += b;
  return buildReplayReport(
    {
      files: [...files],
      packets: result.packets,
      bytes,
      firstTime: result.firstTime,
      lastTime: result.lastTime,
      counters: { ...result.stats },
      finalCount: ct.count,
      // One table knows its exact high-water mark; shards' peaks happen at different times, so a sharded
      // replay keeps the tick-based peak.
      exactPeak:
        !isSharded(result) && ct.peakCount > 0
          ? { count: ct.peakCount, time: ct.clock.secondsAt(ct.peakJiffies) }
          : null,
      max: settings.max,
      buckets: settings.buckets,
      hz: settings.hz,
      elapsedSec: result.elapsedMs / 1000,
      decode: result.decode.toJSON() as unknown as Record<string, unknown>,
      errors: result.captureErrors.map((e) => e.toString()),
      ...(label !== undefined ? { label } : {}),
    },
    tl,
    mem,
  );
}
