/**
 * When the replay drivers (engine/replay.ts, engine/shard) call their onTick hook: at the times
 * opts.nextTick() names after each tick, else on a fixed grid of tickInterval seconds from the first row.
 */
export class TickSchedule {
  /** Capture time of the next tick: -Infinity = at the first row; +Infinity = never (no hook). */
  at: number;
  private gridNext = Number.NEGATIVE_INFINITY;
  private readonly interval: number;
  private readonly hookNext: (() => number) | undefined;
  private readonly hookBound: ((at: number) => number) | undefined;

  constructor(opts: {
    onTick?: unknown;
    nextTick?: () => number;
    nextTickBound?: (at: number) => number;
    tickInterval?: number;
  }) {
    this.interval = opts.tickInterval ?? 1;
    this.hookNext = opts.nextTick;
    this.hookBound = opts.nextTickBound;
    this.at = opts.onTick ? this.next() : Number.POSITIVE_INFINITY;
  }

  /** The time the due tick fires at when capture time t reaches it (the first tick fires at the first row). */
  fireTime(t: number): number {
    return Number.isFinite(this.at) ? this.at : t;
  }

  /** After the tick at `at` fired: schedule the next one. */
  fired(at: number): void {
    if (this.hookNext === undefined)
      this.gridNext = (Number.isFinite(this.gridNext) ? this.gridNext : at) + this.interval;
    const n = this.next();
    this.at = n > at ? n : at + this.interval; // a hook that does not move on gets the fixed grid
  }

  /**
   * A time the tick after the one at `at` cannot come before, known before fired(at) runs: exact on the
   * fixed grid; with a nextTick hook, its nextTickBound (else nothing beyond `at`). A hook with a bound must
   * move on past it (fired()'s fallback to the fixed grid step is for hooks without one; the sharded driver
   * fails on a next tick before its bound). Until 2026-11-23 the bound was also capped at that step,
   * `tickInterval` (1 s unless given), so with the timeline's 5 s ticks the shards got only the first
   * second of rows after a tick before the main thread had to wait for its samples.
   */
  boundAfter(at: number): number {
    if (this.hookNext === undefined)
      return (Number.isFinite(this.gridNext) ? this.gridNext : at) + this.interval;
    return this.hookBound === undefined ? at : this.hookBound(at);
  }

  /** After a tickHint moved the hook's next tick later (the grid coarsened): fire at the new time. */
  resync(): void {
    if (this.hookNext === undefined) return;
    const n = this.hookNext();
    if (n > this.at) this.at = n;
  }

  private next(): number {
    const f = this.hookNext;
    return f === undefined ? this.gridNext : f();
  }
}
