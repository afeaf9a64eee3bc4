/**
 * Single-shard replay driver: capture -> decode -> Conntrack. Files are read one after the other in the
 * order given (merge interleaved captures with mergecap first); one decoder spans all files so IP
 * reassembly state carries over. Capture errors end a file and are returned (what was read stays counted).
 */
import { CaptureError, type CaptureInfo, openCapture, RecordBatch } from "./capture/index.js";
import type { CtStateCounters, CtStatsCounters } from "./conntrack/ct-stats.js";
import type { GcMode } from "./conntrack/gc.js";
import { Conntrack } from "./conntrack/nf-conntrack-in.js";
import type { CtSettings } from "./conntrack/settings.js";
import { Decoder, type DecodeStats } from "./decode/index.js";
import { TickSchedule } from "./tick-schedule.js";

export interface ReplayProgress {
  file: string;
  fileIndex: number;
  files: number;
  bytesRead: number;
  totalBytes: number | null;
  /** Rows handed to conntrack so far (all files). */
  packets: number;
}

/** Records per capture read (both drivers; tickHint's granularity). */
export const READ_BATCH = 8192;

export interface ReplayOptions {
  gc?: GcMode;
  seed?: number;
  capacity?: number;
  /** Epoch seconds at which the table is evaluated (advanceTo); packets after it are not replayed. */
  endTime?: number;
  /**
   * Called at timeline boundaries with the table advanced to that time. The next boundary is asked from
   * `nextTick()` after each call (e.g. Timeline.nextTick); without it a fixed grid of `tickInterval`
   * seconds (default 1) from the first packet is used.
   */
  onTick?: (tSec: number, ct: Conntrack) => void;
  nextTick?: () => number;
  /**
   * A lower bound of what `nextTick()` will return once `onTick(at)` returned (e.g.
   * Timeline.nextTickBound). The sharded driver hands the shards the rows up to it while the tick's samples
   * are on their way back, instead of letting them wait for onTick (without it they wait). The next tick must
   * not come before it: the sharded driver fails if it does.
   */
  nextTickBound?: (at: number) => number;
  tickInterval?: number;
  /**
   * Called right before a tick fires at a row, with the share of the input read up to that row's batch of
   * READ_BATCH records (the reader's position after it / the file size; single-file replays of a sized
   * input only), e.g. Timeline.progressHint. Both drivers read in batches of READ_BATCH records and call
   * it at the same rows with the same value, so an auto grid coarsens the same way whatever the thread
   * count (onProgress, called as bytes arrive, depends on read-ahead timing).
   */
  tickHint?: (fractionRead: number) => void;
  /** Called after every capture batch. */
  onProgress?: (p: ReplayProgress) => void;
  /** Records per read batch (default READ_BATCH); rows come a fast-path window (up to 2048) at a time. */
  batchSize?: number;
  /** An existing table to continue (e.g. a test); default: a new one from settings. */
  conntrack?: Conntrack;
}

export interface ReplayFileResult {
  file: string;
  info: CaptureInfo | null;
  records: number;
  error: CaptureError | null;
  skipped: Record<string, number>;
}

export interface ReplayResult {
  conntrack: Conntrack;
  stats: CtStatsCounters;
  ctstate: CtStateCounters;
  decode: DecodeStats;
  files: ReplayFileResult[];
  captureErrors: CaptureError[];
  /** Rows handed to nf_conntrack_in. */
  packets: number;
  /** Rows not replayed because they are later than endTime. */
  afterEnd: number;
  /** Capture time (epoch s) of the first / last replayed row; null without any. */
  firstTime: number | null;
  lastTime: number | null;
  /** Time the table was evaluated at (endTime, else the last row), and the same in jiffies. */
  endTime: number | null;
  endJiffies: number;
  elapsedMs: number;
}

export async function replayCaptures(
  files: readonly string[],
  settings: CtSettings,
  opts: ReplayOptions = {},
): Promise<ReplayResult> {
  const started = performance.now();
  const ct =
    opts.conntrack ??
    new Conntrack(settings, {
      ...(opts.gc !== undefined ? { gc: opts.gc } : {}),
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(opts.capacity !== undefined ? { capacity: opts.capacity } : {}),
    });
  const decoder = new Decoder({ verifyChecksums: settings.checksum });
  const rec = new RecordBatch(opts.batchSize ?? READ_BATCH);
  const endTime = opts.endTime;
  const onTick = opts.onTick;
  const ticks = new TickSchedule(opts);
  const tickHint = files.length === 1 ? opts.tickHint : undefined;
  /** tickHint's value for the rows of the batch being replayed (NaN: none). */
  let hintFraction = Number.NaN;
  /** Fires every boundary <= t (table advanced to each), then returns. */
  const ticksUpTo = (t: number): void => {
    if (!onTick) return;
    if (tickHint && hintFraction >= 0) {
      tickHint(hintFraction);
      ticks.resync();
    }
    for (let guard = 0; ticks.at <= t && guard < 1_000_000; guard++) {
      const at = ticks.fireTime(t);
      ct.advanceTo(at);
      onTick(at, ct);
      ticks.fired(at);
    }
  };

  const result: ReplayFileResult[] = [];
  const errors: CaptureError[] = [];
  let packets = 0;
  let afterEnd = 0;
  let first: number | null = null;
  let last: number | null = null;

  for (let f = 0; f < files.length; f++) {
    const file = files[f]!;
    const reader = await openCapture(file);
    if (reader instanceof CaptureError) {
      errors.push(reader);
      result.push({ file, info: null, records: 0, error: reader, skipped: {} });
      continue;
    }
    let records = 0;
    for (;;) {
      const n = await reader.readBatch(rec);
      if (n === 0) break;
      records += n;
      hintFraction = reader.totalBytes ? reader.position / reader.totalBytes : Number.NaN;
      let from = 0;
      while (from < n) {
        // The decoder's own batch: over a capture chunk the fast path's window, rows never copied.
        const rows = decoder.decodeInPlace(rec, from);
        from = decoder.next;
        for (let i = 0; i < rows.count; i++) {
          const t = rows.tsSec[i]! + rows.tsNsec[i]! / 1e9;
          if (endTime !== undefined && t > endTime) {
            afterEnd++;
            continue;
          }
          if (t >= ticks.at) ticksUpTo(t);
          ct.process(rows, i);
          packets++;
          if (first === null) first = t;
          last = t;
        }
      }
      opts.onProgress?.({
        file,
        fileIndex: f,
        files: files.length,
        bytesRead: reader.bytesRead,
        totalBytes: reader.totalBytes,
        packets,
      });
    }
    if (reader.error) errors.push(reader.error);
    result.push({ file, info: reader.info, records, error: reader.error, skipped: { ...reader.skipped } });
    await reader.close();
  }
  decoder.finish();

  const end = endTime ?? last;
  if (end !== null) {
    ticksUpTo(end);
    ct.advanceTo(end);
  }
  return {
    conntrack: ct,
    stats: ct.stats,
    ctstate: ct.ctstate,
    decode: decoder.stats,
    files: result,
    captureErrors: errors,
    packets,
    afterEnd,
    firstTime: first,
    lastTime: last,
    endTime: end,
    endJiffies: ct.now,
    elapsedMs: performance.now() - started,
  };
}
