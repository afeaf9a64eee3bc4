/**
 * Table occupancy over capture time, sampled at timeline ticks through the replay driver's
 * onTick(tSec, ct) hook: the count the kernel enforces nf_conntrack_max on (incl. expired entries not yet
 * reaped), live entries, entries by protocol and TCP state, ASSURED / UNREPLIED, the cumulative conntrack -S
 * counters (per-interval numbers are their differences), hash chain lengths. Rows live in one growable
 * Float64Array; a tick allocates nothing per entry.
 */
import {
  PROTO_NAMES,
  TALLY_ASSURED,
  TALLY_EXPIRED,
  TALLY_LEN,
  TALLY_LIVE,
  TALLY_PROTO,
  TALLY_TCP,
  TALLY_UNREPLIED,
} from "../conntrack/tally.js";
import { TCP_STATE_NAMES } from "../conntrack/tcp-states.js";
import type { MemoryModel } from "./memory.js";

/** What the timeline reads from the table (the core's Conntrack satisfies it). */
export interface ConntrackView {
  readonly count: number;
  readonly stats: Readonly<Record<TickCounter, number>>;
  /**
   * The entries linked in the table at capture time tSec counted by the tally marginals (live / expired,
   * ASSURED, UNREPLIED, protocol group, TCP state) into v[0, TALLY_LEN) (engine/conntrack/tally.ts).
   */
  tally(tSec: number, v: Float64Array): void;
  chainStats(): { buckets: number; used: number; maxLen: number; meanLen: number };
}

export { PROTO_INDEX, PROTO_NAMES } from "../conntrack/tally.js";

/** tcp_conntrack_names[] (TCP_CONNTRACK_NONE..SYN_SENT2); index = store.state of a TCP entry. */
export const TCP_STATES = TCP_STATE_NAMES;

/** Cumulative counters sampled at every tick (names as in CtStatsCounters / conntrack -S). */
export const TICK_COUNTERS = ["new", "delete", "early_drop", "drop", "insert_failed", "invalid"] as const;
export type TickCounter = (typeof TICK_COUNTERS)[number];

// Column layout of one row.
const C_T = 0;
const C_COUNT = 1;
const C_LIVE = 2;
const C_ASSURED = 3;
const C_UNREPLIED = 4;
const C_CHAIN_MEAN = 5;
const C_CHAIN_MAX = 6;
const C_BUCKETS_USED = 7;
const C_EXPIRED = 8;
const C_PROTO = 9;
const C_TCP = C_PROTO + PROTO_NAMES.length;
const C_CTR = C_TCP + TCP_STATES.length;
const NCOL = C_CTR + TICK_COUNTERS.length;

/** 1, 2, 5 x 10^k at or above x (x > 0). */
export function niceCeil(x: number): number {
  const k = Math.floor(Math.log10(x));
  for (let e = k - 1; e <= k + 1; e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= x * (1 - 1e-12)) return Number(v.toPrecision(12));
    }
  }
  return 10 ** (k + 1);
}

/** Default tick interval for a capture span: span/200 rounded up to 1/2/5 x 10^k seconds, at least 1 s. */
export function defaultInterval(spanSec: number, targetTicks = 200): number {
  if (!(spanSec > 0)) return 1;
  return Math.max(1, niceCeil(spanSec / targetTicks));
}

/** One row for reports (allocated when reporting, never during the replay). */
export interface TimelineRow {
  /** Seconds since the capture's first packet. */
  t: number;
  count: number;
  live: number;
  expired: number;
  assured: number;
  unreplied: number;
  byProto: Record<string, number>;
  tcpStates: Record<string, number>;
  /** Per-interval deltas of the cumulative counters (since the previous row). */
  new: number;
  delete: number;
  early_drop: number;
  drop: number;
  insert_failed: number;
  invalid: number;
  chainMean: number;
  chainMax: number;
  bucketsUsed: number;
  /** Memory at this count in a fresh cache (whole slabs for the live objects). */
  memoryBytes: number;
  /**
   * Memory if the nf_conntrack slabs stay at the high-water mark so far: SLUB frees a slab only when all
   * its objects are free, so after churn a host keeps close to its peak's slabs (ground truth: count
   * 1000 -> 949 left the cache at 1008 objects).
   */
  memoryRetainedBytes: number;
}

export interface TimelineSummary {
  interval: number;
  ticks: number;
  /** Largest count seen at any onTick call (also calls between recorded rows), time since origin. */
  peak: { count: number; t: number };
  /** The count cannot have exceeded this between ticks (== peak.count when the peak is exact). */
  peakUpperBound: number;
  p50: number;
  p95: number;
  p99: number;
  /** Largest hash chain seen at a tick. */
  chainMax: number;
}

export interface TimelineOptions {
  /** Fixed tick interval in seconds; omitted = auto (starts at 1 s, coarsens along 1/2/5 x 10^k). */
  interval?: number;
  /** Rows kept in auto mode before coarsening halves them again (default 200). */
  targetTicks?: number;
}

export class Timeline {
  interval: number;
  readonly auto: boolean;
  readonly targetTicks: number;
  /** Capture time (s) reported as t = 0; set by the caller (first packet), else the first tick. */
  origin: number | null = null;
  private rows: Float64Array;
  private n = 0;
  private next = Number.NEGATIVE_INFINITY;
  private peakCount = 0;
  private peakT = 0;
  /** Bound on the count between recorded ticks: count at the previous tick + entries confirmed since. */
  private peakBound = 0;
  private prevCount = 0;
  private prevNew = 0;
  // Row and tally scratch: a tick allocates nothing.
  private readonly scratch = new Float64Array(NCOL);
  private readonly tallied = new Float64Array(TALLY_LEN);

  constructor(opts: TimelineOptions = {}) {
    this.auto = opts.interval === undefined;
    this.interval = opts.interval ?? 1;
    if (!(this.interval > 0)) throw new RangeError(`timeline interval must be > 0, got ${this.interval}`);
    this.targetTicks = opts.targetTicks ?? 200;
    this.rows = new Float64Array(64 * NCOL);
  }

  /** Number of recorded rows. */
  get length(): number {
    return this.n;
  }

  /** Capture time (s) of the next tick the timeline wants. */
  get nextTick(): number {
    return this.next;
  }

  /**
   * A lower bound of nextTick once onTick(at) returned, whatever spanHint does meanwhile: the interval only
   * grows, to multiples of itself, so the next tick is at least the current grid's next multiple after
   * `at` (less a margin for rounding). Lets the sharded driver run rows ahead while a tick is sampled.
   */
  nextTickBound(at: number): number {
    const i = this.interval;
    const grid = at < this.next - 1e-9 ? this.next : (Math.floor(at / i + 1e-9) + 1) * i;
    return grid - i * 1e-6;
  }

  /** The replay driver's hook: records a row when tSec reached the next tick of the grid. */
  onTick(tSec: number, ct: ConntrackView): void {
    this.notePeak(ct.count, tSec);
    if (tSec < this.next - 1e-9) return;
    this.record(tSec, ct);
  }

  /** Records a row at tSec unconditionally (e.g. the end of the capture). */
  record(tSec: number, ct: ConntrackView): void {
    if (this.origin === null) this.origin = tSec;
    this.notePeak(ct.count, tSec);
    if (this.n > 0 && tSec <= this.rows[(this.n - 1) * NCOL + C_T]!) return;
    const s = this.scratch;
    s.fill(0);
    s[C_T] = tSec;
    s[C_COUNT] = ct.count;
    const c = this.tallied;
    ct.tally(tSec, c);
    s[C_LIVE] = c[TALLY_LIVE]!;
    s[C_EXPIRED] = c[TALLY_EXPIRED]!;
    s[C_ASSURED] = c[TALLY_ASSURED]!;
    s[C_UNREPLIED] = c[TALLY_UNREPLIED]!;
    for (let g = 0; g < PROTO_NAMES.length; g++) s[C_PROTO + g] = c[TALLY_PROTO + g]!;
    for (let k = 0; k < TCP_STATES.length; k++) s[C_TCP + k] = c[TALLY_TCP + k]!;
    const ch = ct.chainStats();
    s[C_CHAIN_MEAN] = ch.meanLen;
    s[C_CHAIN_MAX] = ch.maxLen;
    s[C_BUCKETS_USED] = ch.used;
    for (let i = 0; i < TICK_COUNTERS.length; i++) s[C_CTR + i] = ct.stats[TICK_COUNTERS[i]!];
    // Entries only enter the table at confirm (stats.new), so between two ticks the count never exceeds
    // the earlier count plus the confirms in between.
    const newNow = ct.stats.new;
    this.peakBound = Math.max(this.peakBound, this.prevCount + (newNow - this.prevNew), ct.count);
    this.prevCount = ct.count;
    this.prevNew = newNow;
    if ((this.n + 1) * NCOL > this.rows.length) {
      const grown = new Float64Array(this.rows.length * 2);
      grown.set(this.rows);
      this.rows = grown;
    }
    this.rows.set(s, this.n * NCOL);
    this.n++;
    this.next = (Math.floor(tSec / this.interval + 1e-9) + 1) * this.interval;
    if (this.auto && this.n > 2 * this.targetTicks) this.coarsen();
  }

  /** Lets the driver report an exact peak (e.g. tracked per packet) that fell between ticks. */
  notePeak(count: number, tSec: number): void {
    if (count > this.peakCount) {
      this.peakCount = count;
      this.peakT = tSec;
    }
  }

  /**
   * Auto mode: an estimate of the whole capture's span (e.g. from the share of the file read so far), so
   * the interval reaches span/target early instead of scanning the table every second until it coarsens.
   */
  spanHint(totalSpanSec: number): void {
    if (!this.auto || !(totalSpanSec > 0) || this.n === 0) return;
    const want = defaultInterval(totalSpanSec, this.targetTicks);
    if (want > this.interval) this.coarsen(want);
  }

  /**
   * Auto mode: moves to the smallest 1/2/5 x 10^k interval that is a multiple of the current one, at least
   * `atLeast` and keeping <= target rows, and drops the rows off the new grid.
   */
  private coarsen(atLeast = 0): void {
    const t0 = this.rows[C_T]!;
    const span = this.rows[(this.n - 1) * NCOL + C_T]! - t0;
    let next = this.interval;
    while (span / next > this.targetTicks || next === this.interval || next < atLeast) {
      let cand = niceCeil(next * 1.5);
      while (Math.abs(cand / this.interval - Math.round(cand / this.interval)) > 1e-9)
        cand = niceCeil(cand * 1.5);
      next = cand;
    }
    this.interval = next;
    // Keep the first row at or after each multiple of the new interval (cumulative counters stay exact).
    let kept = 0;
    let lastBin = Number.NEGATIVE_INFINITY;
    for (let r = 0; r < this.n; r++) {
      const t = this.rows[r * NCOL + C_T]!;
      const bin = Math.floor(t / next + 1e-9);
      const last = r === this.n - 1;
      if (bin > lastBin || last) {
        if (bin === lastBin && kept > 0) kept--; // the newest row replaces a same-bin row
        if (kept !== r) this.rows.copyWithin(kept * NCOL, r * NCOL, (r + 1) * NCOL);
        kept++;
        lastBin = bin;
      }
    }
    this.n = kept;
    const tl = this.rows[(this.n - 1) * NCOL + C_T]!;
    this.next = (Math.floor(tl / next + 1e-9) + 1) * next;
  }

  /** spanHint from the fraction of the input read so far (ignored below 1 %: too early to extrapolate). */
  progressHint(fractionRead: number): void {
    if (this.n < 2 || !(fractionRead >= 0.01) || fractionRead > 1) return;
    this.spanHint((this.lastT - this.rows[C_T]!) / fractionRead);
  }

  /** Capture time of the last recorded row (NaN before any). */
  get lastT(): number {
    return this.n === 0 ? Number.NaN : this.rows[(this.n - 1) * NCOL + C_T]!;
  }

  private col(r: number, c: number): number {
    return this.rows[r * NCOL + c]!;
  }

  /** Count column as a typed array (for percentiles and charts). */
  counts(): Float64Array {
    const out = new Float64Array(this.n);
    for (let r = 0; r < this.n; r++) out[r] = this.col(r, C_COUNT);
    return out;
  }

  /** Cumulative counter value at the last row. */
  lastCounter(name: TickCounter): number {
    return this.n === 0 ? 0 : this.col(this.n - 1, C_CTR + TICK_COUNTERS.indexOf(name));
  }

  summary(): TimelineSummary {
    const sorted = this.counts().sort();
    const q = (p: number): number =>
      sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
    let chainMax = 0;
    for (let r = 0; r < this.n; r++) chainMax = Math.max(chainMax, this.col(r, C_CHAIN_MAX));
    return {
      interval: this.interval,
      ticks: this.n,
      peak: { count: this.peakCount, t: this.peakT - (this.origin ?? this.peakT) },
      peakUpperBound: Math.max(this.peakBound, this.peakCount),
      p50: q(0.5),
      p95: q(0.95),
      p99: q(0.99),
      chainMax,
    };
  }

  /** Rows for reports; memoryBytes from the model at each row's count. */
  toRows(mem?: MemoryModel, buckets = 0): TimelineRow[] {
    const out: TimelineRow[] = [];
    const origin = this.origin ?? 0;
    let highWater = 0;
    for (let r = 0; r < this.n; r++) {
      const byProto: Record<string, number> = {};
      PROTO_NAMES.forEach((p, i) => {
        byProto[p] = this.col(r, C_PROTO + i);
      });
      const tcpStates: Record<string, number> = {};
      TCP_STATES.forEach((s, i) => {
        tcpStates[s] = this.col(r, C_TCP + i);
      });
      const d = (name: TickCounter): number => {
        const c = C_CTR + TICK_COUNTERS.indexOf(name);
        return this.col(r, c) - (r === 0 ? 0 : this.col(r - 1, c));
      };
      const count = this.col(r, C_COUNT);
      highWater = Math.max(highWater, count);
      out.push({
        t: this.col(r, C_T) - origin,
        count,
        live: this.col(r, C_LIVE),
        expired: this.col(r, C_EXPIRED),
        assured: this.col(r, C_ASSURED),
        unreplied: this.col(r, C_UNREPLIED),
        byProto,
        tcpStates,
        new: d("new"),
        delete: d("delete"),
        early_drop: d("early_drop"),
        drop: d("drop"),
        insert_failed: d("insert_failed"),
        invalid: d("invalid"),
        chainMean: this.col(r, C_CHAIN_MEAN),
        chainMax: this.col(r, C_CHAIN_MAX),
        bucketsUsed: this.col(r, C_BUCKETS_USED),
        memoryBytes: mem ? mem.totalBytes(count, buckets) : 0,
        memoryRetainedBytes: mem
          ? mem.slabBytes(highWater) + mem.extBytes(highWater) + mem.hashBytes(buckets)
          : 0,
      });
    }
    return out;
  }
}
