/**
 * pcapng timestamp conversion: a 64-bit count of if_tsresol units (two u32 halves) plus if_tsoffset
 * seconds -> whole seconds + nanoseconds, exactly, with no allocation per packet (float64 integer math on
 * pieces below 2^53; BigInt only when the interface is set up).
 */

const TWO32 = 4294967296;

/** Result of div64(): quotient halves and remainder (module-level scratch, no allocation). */
let qHi = 0;
let qLo = 0;
let rem = 0;

/** (hi*2^32 + lo) / d for 1 <= d <= 1e9, exact: long division in 16-bit digits keeps every step < 2^46. */
function div64(hi: number, lo: number, d: number): void {
  const qh = Math.floor(hi / d);
  let r = hi - qh * d;
  let x = r * 65536 + (lo >>> 16);
  const q1 = Math.floor(x / d);
  r = x - q1 * d;
  x = r * 65536 + (lo & 0xffff);
  const q2 = Math.floor(x / d);
  rem = x - q2 * d;
  qHi = qh;
  qLo = q1 * 65536 + q2;
}

export class TsConverter {
  /** Output of the last convert(). */
  sec = 0;
  nsec = 0;
  /** "1e-6", "2^-8", ... */
  readonly label: string;
  /** Seconds added to every stamp (if_tsoffset). */
  readonly offset: number;
  private readonly binary: boolean;
  private readonly exp: number;
  /** Decimal, exp > 9: divisors (each <= 1e9) that bring the count down to nanoseconds first. */
  private readonly toNs: number[];
  /** Decimal, exp <= 9: 10^exp and 10^(9-exp). */
  private readonly unitsPerSec: number;
  private readonly nsPerUnit: number;

  /** tsresol is the raw if_tsresol byte (MSB set: 2^-n, else 10^-n); default 6 = microseconds. */
  constructor(tsresol = 6, tsoffset = 0) {
    this.binary = (tsresol & 0x80) !== 0;
    this.exp = tsresol & 0x7f;
    this.offset = tsoffset;
    this.label = this.binary ? `2^-${this.exp}` : `1e-${this.exp}`;
    this.toNs = [];
    this.unitsPerSec = 1;
    this.nsPerUnit = 1;
    if (!this.binary) {
      if (this.exp <= 9) {
        this.unitsPerSec = 10 ** this.exp;
        this.nsPerUnit = 10 ** (9 - this.exp);
      } else {
        for (let k = this.exp - 9; k > 0; k -= 9) this.toNs.push(10 ** Math.min(k, 9));
      }
    }
  }

  /** Converts the 64-bit unit count hi:lo into this.sec / this.nsec. */
  convert(hi: number, lo: number): void {
    if (!this.binary) {
      if (this.toNs.length === 0) {
        div64(hi, lo, this.unitsPerSec);
        this.sec = qHi * TWO32 + qLo + this.offset;
        this.nsec = rem * this.nsPerUnit;
        return;
      }
      // Finer than 1 ns: truncate to nanoseconds first (floor(floor(a/b)/c) == floor(a/(b*c))).
      let h = hi;
      let l = lo;
      for (let i = 0; i < this.toNs.length; i++) {
        div64(h, l, this.toNs[i]!);
        h = qHi;
        l = qLo;
      }
      div64(h, l, 1e9);
      this.sec = qHi * TWO32 + qLo + this.offset;
      this.nsec = rem;
      return;
    }
    const n = this.exp;
    if (n === 0) {
      this.sec = hi * TWO32 + lo + this.offset;
      this.nsec = 0;
    } else if (n <= 32) {
      const unit = 2 ** n;
      const whole = Math.floor(lo / unit);
      const frac = lo - whole * unit;
      this.sec = hi * 2 ** (32 - n) + whole + this.offset;
      // 1e9 = 2^9 * 1953125 and frac * 1953125 < 2^53, so both branches are exact.
      this.nsec = n <= 9 ? frac * (1e9 / unit) : Math.floor((frac * 1953125) / 2 ** (n - 9));
    } else {
      const unitHi = 2 ** (n - 32);
      const whole = Math.floor(hi / unitHi);
      const fracHi = hi - whole * unitHi;
      // Top 32 bits of the fraction; the nanoseconds may be 1 below exact (sub-ns resolutions only).
      const top32 = fracHi * 2 ** (64 - n) + Math.floor(lo / unitHi);
      this.sec = whole + this.offset;
      this.nsec = Math.floor((top32 * 1953125) / 8388608);
    }
  }
}
