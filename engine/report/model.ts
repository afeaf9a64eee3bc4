/**
 * The report of one replay run as a stable, versioned JSON object (`schema`), built from what the replay
 * returned, the timeline and the memory model. Every output format (terminal, JSON, CSV, Prometheus, HTML,
 * baseline checks) renders this object, so they agree with each other.
 */
import type { MemoryModel, SlabGeometry } from "../stats/memory.js";
import type { Timeline, TimelineRow } from "../stats/timeline.js";

export const REPLAY_SCHEMA = "ctreplay.replay/1";

/** What a replay run produced, independent of how the driver names things. */
export interface ReplayOutcome {
  files: string[];
  packets: number;
  /** Captured bytes read (for MB/s). */
  bytes: number;
  /** Capture time (epoch s) of the first and last packet. */
  firstTime: number | null;
  lastTime: number | null;
  /** conntrack -S counters summed over shards (CtStatsCounters). */
  counters: Record<string, number>;
  /** nf_conntrack_count after the last packet (and GC up to the end time). */
  finalCount: number;
  /** Exact highest nf_conntrack_count after any packet (epoch seconds), when the driver knows it. */
  exactPeak?: { count: number; time: number } | null;
  max: number;
  buckets: number;
  hz: number;
  /** Wall-clock seconds the replay took. */
  elapsedSec: number;
  /** Decode statistics (DecodeStats.toJSON()). */
  decode?: Record<string, unknown>;
  /** Capture errors (CaptureError.toString()). */
  errors: string[];
  /** Profile label (compare) or settings source. */
  label?: string;
}

export interface ReplayReport {
  schema: typeof REPLAY_SCHEMA;
  label: string | null;
  files: string[];
  packets: number;
  bytes: number;
  capture: { start: number | null; end: number | null; spanSec: number };
  settings: { nf_conntrack_max: number; nf_conntrack_buckets: number; hz: number };
  /**
   * Largest nf_conntrack_count seen at a tick, `time` in seconds since the first packet; `upperBound`: the
   * count cannot have been higher between ticks (equal = exact; a smaller --interval narrows it).
   */
  peak: { count: number; time: number; upperBound: number };
  percentiles: { p50: number; p95: number; p99: number };
  /** nf_conntrack_count at the end of the capture. */
  final: number;
  counters: Record<string, number>;
  memory: {
    /** Total (slab + ext + hash) at the peak count. */
    peakBytes: number;
    slabBytes: number;
    extBytes: number;
    hashBytes: number;
    /** §9.5 seed formula at the peak, for comparison. */
    seedBytes: number;
    finalBytes: number;
    extension: boolean;
    geometry: SlabGeometry;
  };
  chains: { buckets: number; maxLen: number };
  throughput: { elapsedSec: number; packetsPerSec: number; mbPerSec: number };
  timelineInterval: number;
  timeline: TimelineRow[];
  decode: Record<string, unknown> | null;
  errors: string[];
}

export function buildReplayReport(o: ReplayOutcome, tl: Timeline, mem: MemoryModel): ReplayReport {
  if (tl.origin === null && o.firstTime !== null) tl.origin = o.firstTime;
  const s = tl.summary();
  const tickPeak = Math.max(s.peak.count, o.finalCount);
  const exact = o.exactPeak ?? null;
  const peak = exact !== null ? Math.max(exact.count, tickPeak) : tickPeak;
  const peakTime =
    exact !== null && exact.count >= tickPeak && o.firstTime !== null
      ? exact.time - o.firstTime
      : s.peak.count >= o.finalCount
        ? s.peak.t
        : o.lastTime !== null && o.firstTime !== null
          ? o.lastTime - o.firstTime
          : 0;
  const atPeak = mem.breakdown(peak, o.buckets);
  const elapsed = Math.max(o.elapsedSec, 1e-9);
  return {
    schema: REPLAY_SCHEMA,
    label: o.label ?? null,
    files: o.files,
    packets: o.packets,
    bytes: o.bytes,
    capture: {
      start: o.firstTime,
      end: o.lastTime,
      spanSec: o.firstTime !== null && o.lastTime !== null ? o.lastTime - o.firstTime : 0,
    },
    settings: { nf_conntrack_max: o.max, nf_conntrack_buckets: o.buckets, hz: o.hz },
    peak: { count: peak, time: peakTime, upperBound: Math.max(peak, s.peakUpperBound) },
    percentiles: { p50: s.p50, p95: s.p95, p99: s.p99 },
    final: o.finalCount,
    counters: { ...o.counters },
    memory: {
      peakBytes: atPeak.totalBytes,
      slabBytes: atPeak.slabBytes,
      extBytes: atPeak.extBytes,
      hashBytes: atPeak.hashBytes,
      seedBytes: atPeak.seedBytes,
      finalBytes: mem.totalBytes(o.finalCount, o.buckets),
      extension: mem.ext,
      geometry: mem.geometry,
    },
    chains: { buckets: o.buckets, maxLen: s.chainMax },
    throughput: {
      elapsedSec: o.elapsedSec,
      packetsPerSec: o.packets / elapsed,
      mbPerSec: o.bytes / 1e6 / elapsed,
    },
    timelineInterval: s.interval,
    timeline: tl.toRows(mem, o.buckets),
    decode: o.decode ?? null,
    errors: o.errors,
  };
}

/** Seconds the table spent at nf_conntrack_max and when it first got there (tick resolution). */
export function fullness(r: ReplayReport): { firstFullAt: number | null; secondsFull: number } {
  let first: number | null = null;
  let secs = 0;
  const max = r.settings.nf_conntrack_max;
  for (let i = 0; i < r.timeline.length; i++) {
    const row = r.timeline[i]!;
    if (max > 0 && row.count >= max) {
      if (first === null) first = row.t;
      if (i + 1 < r.timeline.length) secs += r.timeline[i + 1]!.t - row.t;
    }
  }
  if (first === null && max > 0 && r.peak.count >= max) first = r.peak.time;
  return { firstFullAt: first, secondsFull: secs };
}
