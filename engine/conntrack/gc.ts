/**
 * Removal of expired entries besides lazy reaping on lookup.
 *
 * `kernel` (default): gc_worker of 6.x (nf_conntrack_core.c), driven by capture time. One run scans buckets
 * from where the last run stopped: expired entries are deleted (at most GC_SCAN_EXPIRED_MAX per run, then
 * it reschedules after 1 jiffy), live ones feed the running mean of remaining lifetimes (clamped to
 * 1..300 s) that sets the pause after a full pass (1..60 s minus the pass duration). After a "table full"
 * drop, runs evict early-droppable entries while the count is >= 95 % of nf_conntrack_max.
 *
 * The kernel stops a run after GC_SCAN_MAX_DURATION (10 ms) of wall-clock time. ctreplay maps that onto
 * capture time with a work budget: scanning a bucket costs 1 unit, visiting a node NODE_COST units, and a
 * run that spends `scanBudget` units (default 2,000,000 ~ 5 ns per empty bucket, 100 ns per cache-missing
 * node) has taken 10 ms + 1 jiffy: it yields and the next run starts at that later jiffy. Smaller runs take
 * a proportional part of that time. So big tables take several runs per pass, as on a real host.
 *
 * `exact`: every entry disappears exactly at its expiry (a min-heap on ct->timeout). The count is then a
 * lower bound of the kernel's (which includes expired entries not yet reaped).
 */

import { jdiff } from "./clock.js";
import { H_NEXT, H_STATUS, H_TIMEOUT, HOT_WORDS } from "./ct-store.js";
import type { L4Tracker } from "./l4proto.js";
import { IPS_ASSURED, IPS_CONFIRMED, IPS_DYING } from "./l4proto.js";
import type { CtSettings } from "./settings.js";
import type { CtTable } from "./table.js";
import { NIL } from "./table.js";

/** What a GC needs from the core. */
export interface GcHost {
  readonly table: CtTable;
  readonly settings: CtSettings;
  readonly trackers: readonly L4Tracker[];
  /** Entries in other shards' tables (sharded replay; 0 for one table): part of the global count. */
  readonly countOthers?: number;
  /** nf_ct_gc_expired / nf_ct_kill from the GC: evicted = 95 % mode kill, else expiry. */
  gcDelete(ct: number, evicted: boolean): void;
}

export type GcMode = "kernel" | "exact";

export interface CtGc {
  readonly mode: GcMode;
  /** gc_work.early_drop: set by a "table full" drop, cleared by the GC. */
  earlyDrop: boolean;
  /** Starts the schedule at the first time seen (first run 1 s later, as after module init). */
  start(now: number): void;
  /** Runs everything scheduled at or before `now` (u32 jiffies). */
  runUntil(now: number): void;
  onConfirm(ct: number): void;
  onRefresh(ct: number): void;
  onDelete(ct: number): void;
}

export const GC_NODE_COST = 20;
export const GC_DEFAULT_SCAN_BUDGET = 2_000_000;
/** Buckets whose first two nodes are prefetched together (see KernelGc.prefetch). */
const GC_AHEAD = 32;

export class KernelGc implements CtGc {
  readonly mode = "kernel";
  earlyDrop = false;
  /** Runs executed and passes completed (for reports/tests). */
  runs = 0;
  passes = 0;
  private readonly host: GcHost;
  private readonly budget: number;
  private readonly intervalMin: number;
  private readonly intervalMax: number;
  private readonly intervalClamp: number;
  private readonly maxDuration: number;
  private readonly expiredMax: number;
  private started = false;
  private nextRunAt = 0;
  private nextBucket = 0;
  private avgTimeout = 0;
  private avgCount = 0;
  private passStart = 0;
  /** Sums the prefetched words so the loads are not optimised away. */
  private sink = 0;

  /** Jiffies from the first packet to the first run (the kernel's worker phase is unknown: default 1 s). */
  private readonly firstRun: number;

  constructor(host: GcHost, scanBudget = GC_DEFAULT_SCAN_BUDGET, firstRunSec = 1) {
    this.host = host;
    this.budget = Math.max(1, scanBudget);
    const hz = host.settings.hz;
    this.firstRun = Math.max(0, Math.round(firstRunSec * hz));
    this.intervalMin = hz; // GC_SCAN_INTERVAL_MIN (1 s)
    this.intervalMax = 60 * hz; // GC_SCAN_INTERVAL_MAX = _INIT (60 s)
    this.intervalClamp = 300 * hz; // GC_SCAN_INTERVAL_CLAMP (300 s)
    this.maxDuration = Math.ceil((10 * hz) / 1000); // msecs_to_jiffies(GC_SCAN_MAX_DURATION = 10 ms)
    this.expiredMax = Math.floor(64000 / hz); // GC_SCAN_EXPIRED_MAX
  }

  /** Jiffies of the next scheduled run. */
  get nextRun(): number {
    return this.nextRunAt;
  }

  start(now: number): void {
    if (this.started) return;
    this.started = true;
    this.nextRunAt = (now + this.firstRun) >>> 0;
  }

  runUntil(now: number): void {
    if (!this.started) return;
    while (jdiff(now, this.nextRunAt) >= 0) this.runOnce(this.nextRunAt);
  }

  onConfirm(_ct: number): void {}
  onRefresh(_ct: number): void {}
  onDelete(_ct: number): void {}

  /**
   * Touches the hot records of the first two nodes of buckets [from, from + GC_AHEAD) with plain loads,
   * each wave's loads independent of each other, so their cache misses overlap instead of the scan paying
   * one memory latency per node in turn. Reads only. Returns the end of the range.
   */
  private prefetch(table: CtTable, from: number): number {
    const head = table.head;
    const hi = table.store.hotI;
    const end = Math.min(table.buckets, from + GC_AHEAD);
    let sink = this.sink;
    for (let b = from; b < end; b++) {
      const node = head[b]!;
      if (node !== NIL) sink += hi[(node >> 1) * HOT_WORDS + H_TIMEOUT]!;
    }
    for (let b = from; b < end; b++) {
      const node = head[b]!;
      if (node === NIL) continue;
      const next = hi[(node >> 1) * HOT_WORDS + H_NEXT + (node & 1) * 2]!;
      if (next !== NIL) sink += hi[(next >> 1) * HOT_WORDS + H_TIMEOUT]!;
    }
    this.sink = sink | 0;
    return end;
  }

  // gc_worker
  private runOnce(t: number): void {
    this.runs++;
    const host = this.host;
    const table = host.table;
    const hsize = table.buckets;
    const max = host.settings.max;
    const max95 = this.earlyDrop ? Math.floor(max / 100) * 95 : 0;
    let i = this.nextBucket;
    if (i === 0) {
      this.avgTimeout = this.intervalMax;
      this.avgCount = 100; // GC_SCAN_INITIAL_COUNT
      this.passStart = t;
    }
    let nextRun = this.avgTimeout;
    let count = this.avgCount;
    let now = t;
    let units = 0;
    let expiredCount = 0;
    let early = false;

    if (table.linked === 0) {
      // Nothing to scan: the pass costs only the bucket heads and ends with the running mean unchanged.
      units = hsize - i;
      i = hsize;
    }
    // Time advances with the work done: now = t + floor(units * (maxDuration + 1) / budget), computed only
    // where it is read (a non-empty bucket, a yield); past endTime exactly when units >= budget.
    const md1 = this.maxDuration + 1;
    const budget = this.budget;
    let prefetched = i;
    scan: while (i < hsize) {
      if (i >= prefetched) prefetched = this.prefetch(table, i);
      let node = table.head[i]!;
      if (node !== NIL) now = (t + Math.floor((units * md1) / budget)) >>> 0;
      while (node !== NIL) {
        const store = table.store;
        const hi = store.hotI;
        const ct = node >> 1;
        const r = ct * HOT_WORDS;
        // This node's next pointer, in the same hot record as status and expiry.
        const nextOff = r + H_NEXT + (node & 1) * 2;
        units += GC_NODE_COST;
        if (expiredCount > this.expiredMax) {
          this.nextBucket = i;
          this.avgTimeout = nextRun;
          this.avgCount = count;
          nextRun = jdiff(now, this.passStart) < this.intervalMax ? 1 : 0;
          early = true;
          break scan;
        }
        const st = hi[r + H_STATUS]!;
        const left = jdiff(hi[r + H_TIMEOUT]!, now);
        if (left <= 0) {
          // nf_ct_gc_expired: only confirmed, not dying entries are killed; the count goes up regardless.
          if ((st & IPS_CONFIRMED) !== 0 && (st & IPS_DYING) === 0) host.gcDelete(ct, false);
          expiredCount++;
          node = table.store.hotI[nextOff]!;
          continue;
        }
        let e = left < this.intervalMin ? this.intervalMin : Math.min(left, this.intervalClamp);
        count++;
        e = Math.trunc((e - nextRun) / count);
        nextRun += e;
        if (
          max95 !== 0 &&
          (st & IPS_DYING) === 0 &&
          (st & IPS_CONFIRMED) !== 0 &&
          (host.countOthers ?? 0) + table.count >= max95
        ) {
          // gc_worker_can_early_drop
          if ((st & IPS_ASSURED) === 0 || host.trackers[store.l4proto[ct]!]!.canEarlyDrop(store, ct)) {
            host.gcDelete(ct, true);
            expiredCount++;
          }
        }
        node = table.store.hotI[nextOff]!;
      }
      units += 1;
      i++;
      if (units >= budget && i < hsize) {
        now = (t + Math.floor((units * md1) / budget)) >>> 0;
        this.avgTimeout = nextRun;
        this.avgCount = count;
        this.nextBucket = i;
        nextRun = 0;
        early = true;
        break;
      }
    }
    // The end of a pass, computed on every run and kept only when the pass ended: a run that ends its pass
    // is rare (most yield), and V8, having compiled the scan loop on its own, met code in that branch
    // without type feedback and deoptimized runOnce there pass after pass (26 of 30 deoptimizations of
    // runOnce in a `--threads 2` run of bench5m). So the branch touches only locals.
    const endNow = (t + Math.floor((Math.min(units, budget) * md1) / budget)) >>> 0;
    const endNext = nextRun < this.intervalMin ? this.intervalMin : Math.min(nextRun, this.intervalMax);
    const delta = Math.max(jdiff(endNow, this.passStart), 1);
    if (!early) {
      now = endNow;
      nextRun = endNext > delta ? endNext - delta : 1;
    }
    this.passes += early ? 0 : 1;
    this.nextBucket = early ? this.nextBucket : 0;
    if (nextRun !== 0) this.earlyDrop = false;
    // A run always moves time forward by at least one jiffy so the schedule progresses.
    this.nextRunAt = (now + (nextRun === 0 && now === t ? 1 : nextRun)) >>> 0;
  }
}

/** `--gc exact`: a binary min-heap of confirmed entries keyed by expiry (lazy re-keying on refresh). */
export class ExactGc implements CtGc {
  readonly mode = "exact";
  earlyDrop = false;
  private readonly host: GcHost;
  private heap: Int32Array = new Int32Array(0);
  private pos: Int32Array = new Int32Array(0);
  private key: Uint32Array = new Uint32Array(0);
  private size = 0;

  constructor(host: GcHost) {
    this.host = host;
  }

  start(_now: number): void {}

  runUntil(now: number): void {
    while (this.size > 0) {
      const ct = this.heap[0]!;
      if (jdiff(this.key[ct]!, now) > 0) break;
      const real = this.host.table.store.timeoutOf(ct);
      if (jdiff(real, now) <= 0) {
        this.host.gcDelete(ct, false); // calls onDelete
      } else {
        this.key[ct] = real;
        this.siftDown(0);
      }
    }
  }

  onConfirm(ct: number): void {
    this.ensure(ct);
    this.key[ct] = this.host.table.store.timeoutOf(ct);
    const p = this.size++;
    this.heap[p] = ct;
    this.pos[ct] = p;
    this.siftUp(p);
  }

  onRefresh(ct: number): void {
    if (ct >= this.pos.length) return;
    const p = this.pos[ct]!;
    if (p < 0) return;
    const t = this.host.table.store.timeoutOf(ct);
    if (jdiff(t, this.key[ct]!) < 0) {
      this.key[ct] = t;
      this.siftUp(p);
    }
  }

  onDelete(ct: number): void {
    if (ct >= this.pos.length) return;
    const p = this.pos[ct]!;
    if (p < 0) return;
    this.pos[ct] = -1;
    const last = --this.size;
    if (p === last) return;
    const moved = this.heap[last]!;
    this.heap[p] = moved;
    this.pos[moved] = p;
    this.siftDown(p);
    this.siftUp(this.pos[moved]!);
  }

  /** Entries in the heap (for invariant checks). */
  get pending(): number {
    return this.size;
  }

  private ensure(ct: number): void {
    if (ct < this.pos.length) return;
    let n = Math.max(1024, this.pos.length);
    while (n <= ct) n *= 2;
    const heap = new Int32Array(n);
    heap.set(this.heap);
    const pos = new Int32Array(n).fill(-1);
    pos.set(this.pos);
    const key = new Uint32Array(n);
    key.set(this.key);
    this.heap = heap;
    this.pos = pos;
    this.key = key;
  }

  private less(a: number, b: number): boolean {
    return jdiff(this.key[a]!, this.key[b]!) < 0;
  }

  private siftUp(p: number): void {
    const heap = this.heap;
    const ct = heap[p]!;
    while (p > 0) {
      const parent = (p - 1) >> 1;
      const pc = heap[parent]!;
      if (!this.less(ct, pc)) break;
      heap[p] = pc;
      this.pos[pc] = p;
      p = parent;
    }
    heap[p] = ct;
    this.pos[ct] = p;
  }

  private siftDown(p: number): void {
    const heap = this.heap;
    const n = this.size;
    const ct = heap[p]!;
    for (;;) {
      let c = 2 * p + 1;
      if (c >= n) break;
      if (c + 1 < n && this.less(heap[c + 1]!, heap[c]!)) c++;
      const cc = heap[c]!;
      if (!this.less(cc, ct)) break;
      heap[p] = cc;
      this.pos[cc] = p;
      p = c;
    }
    heap[p] = ct;
    this.pos[ct] = p;
  }
}
