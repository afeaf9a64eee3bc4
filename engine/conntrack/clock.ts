/**
 * Capture time -> kernel jiffies. The kernel keeps ct->timeout as u32 jiffies (nfct_time_stamp) and compares
 * with wrap-around arithmetic ((s32)(a - b)); ctreplay does the same so u32 wrap behaves as on a real host.
 *
 * Origin: like the kernel's INITIAL_JIFFIES (-300 * HZ), jiffies at the first packet seen default to
 * 2^32 - 300 * hz, so any capture longer than five minutes crosses the u32 wrap.
 */

/** (s32)(a - b): signed distance between two u32 jiffies values. */
export function jdiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** time_after_eq(a, b) for u32 jiffies. */
export function jafterEq(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

export class CtClock {
  readonly hz: number;
  /** Jiffies value at the first capture time seen. */
  readonly origin: number;
  private t0Sec = 0;
  private t0Nsec = 0;
  private started = false;

  constructor(hz: number, origin?: number) {
    this.hz = hz;
    this.origin = (origin ?? 2 ** 32 - 300 * hz) >>> 0;
  }

  /** True once a first time has fixed the clock's epoch. */
  get isStarted(): boolean {
    return this.started;
  }

  /** Capture time -> jiffies elapsed since the epoch, not wrapped (the first call fixes the epoch). */
  rawAt(sec: number, nsec: number): number {
    if (!this.started) {
      this.started = true;
      this.t0Sec = sec;
      this.t0Nsec = nsec;
    }
    return Math.floor((sec - this.t0Sec) * this.hz + ((nsec - this.t0Nsec) * this.hz) / 1e9);
  }

  /** Raw (unwrapped) jiffies -> the u32 value the kernel would hold. */
  wrap(raw: number): number {
    return (this.origin + raw) >>> 0;
  }

  /** Capture time (whole seconds + ns) -> u32 jiffies. */
  at(sec: number, nsec: number): number {
    return (this.origin + this.rawAt(sec, nsec)) >>> 0;
  }

  /** Capture time as float seconds -> raw jiffies. */
  rawAtSeconds(t: number): number {
    const sec = Math.floor(t);
    const nsec = Math.min(999_999_999, Math.round((t - sec) * 1e9));
    return this.rawAt(sec, nsec);
  }

  /** Capture time as float seconds -> u32 jiffies. */
  atSeconds(t: number): number {
    return (this.origin + this.rawAtSeconds(t)) >>> 0;
  }

  /** Inverse of at(): u32 jiffies -> capture seconds (float), relative to the epoch; NaN before start. */
  secondsAt(j: number): number {
    if (!this.started) return Number.NaN;
    return this.t0Sec + this.t0Nsec / 1e9 + jdiff(j, this.origin) / this.hz;
  }
}
