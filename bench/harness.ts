/**
 * Whole-file cases under benny: every call of a case is one full pass over a capture, so benny is told to
 * take PASSES samples of one call each. Packets/s = packets of one pass / benny's mean seconds per call;
 * every call's packet count is checked so a short pass cannot inflate it.
 *
 * benny prepares every case of a suite at once before running any, and its preparation calls the case
 * function (twice, one call not awaited): those calls would run whole passes of every case side by side
 * before anything is measured. So a case runs a pass only once benchmark.js starts it (onStart), and each
 * case starts from a collected heap with its capture read into the page cache (without that, read + decode
 * of bench5m measured 6.3 Mpps after pcap-parser's passes, 8.6 with it).
 */
import { closeSync, openSync, readSync } from "node:fs";
import v8 from "node:v8";
import vm from "node:vm";
import b from "benny";

/** The global gc(), exposed at run time (undefined where the flag cannot be set). */
const gc = ((): (() => void) | undefined => {
  try {
    v8.setFlagsFromString("--expose-gc");
    return vm.runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
})();

/** Reads a file once (into the page cache), 8 MiB at a time. */
function warm(file: string): void {
  const fd = openSync(file, "r");
  const buf = Buffer.allocUnsafe(8 << 20);
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}

export interface PassCase {
  name: string;
  /** Packets one pass must see. */
  packets: number;
  /** One full pass; resolves with the packets it saw. */
  pass: () => Promise<number>;
  /** The capture the pass reads (read once before the case is measured). */
  file?: string;
}

export interface PassResult {
  name: string;
  packets: number;
  /** Calls benny made (each a full pass). */
  calls: number;
  /** Packets per second from benny's mean time per call. */
  pps: number;
  /** Fastest single pass (s), from our own clock. */
  bestS: number;
  /** Every measured pass (s), in order, from our own clock. */
  passS: number[];
}

/** Measured passes of each case (benny's samples; one pass each). */
export const PASSES = 3;

/**
 * Runs every case `passes` times under benny after one unmeasured warm-up pass each (one case at a time):
 * the cases stand for multi-gigabyte captures, where the JIT's and WebAssembly's tier-up in the first
 * ~0.1 s does not count (a fresh process's first pass of read + decode took 0.32-0.44 s, the next ones
 * 0.29-0.30).
 */
export async function runPasses(suite: string, cases: PassCase[], passes = PASSES): Promise<PassResult[]> {
  for (const c of cases) {
    if (c.file !== undefined) warm(c.file);
    const seen = await c.pass();
    if (seen !== c.packets)
      throw new Error(`${c.name}: warm-up pass saw ${seen} packets, expected ${c.packets}`);
  }
  const own = new Map<string, { calls: number; best: number; passS: number[] }>();
  /** The case benchmark.js is running (null while benny prepares the suite). */
  let running: string | null = null;
  const adds = cases.map((c) => {
    own.set(c.name, { calls: 0, best: Number.POSITIVE_INFINITY, passS: [] });
    const onStart = (): void => {
      if (c.file !== undefined) warm(c.file);
      gc?.();
      running = c.name;
    };
    // onStart is benchmark.js's option; benny passes its options through (its type does not list it).
    const options = { minSamples: passes, maxTime: 0, initCount: 1, delay: 0, onStart };
    return b.add(
      c.name,
      async () => {
        if (running !== c.name) return;
        const t0 = performance.now();
        const seen = await c.pass();
        const dt = (performance.now() - t0) / 1000;
        if (seen !== c.packets) throw new Error(`${c.name}: pass saw ${seen} packets, expected ${c.packets}`);
        const o = own.get(c.name)!;
        o.calls++;
        o.best = Math.min(o.best, dt);
        o.passS.push(dt);
      },
      options,
    );
  });
  const summary = await b.suite(suite, ...adds, b.complete());
  return cases.map((c, i) => {
    const r = summary.results[i];
    const o = own.get(c.name)!;
    if (!r?.completed) throw new Error(`${c.name}: benny did not complete the case`);
    // details.mean: benny's unrounded seconds per call (summary ops are rounded to display precision).
    return {
      name: c.name,
      packets: c.packets,
      calls: o.calls,
      pps: c.packets / r.details.mean,
      bestS: o.best,
      passS: o.passS,
    };
  });
}

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function mpps(pps: number): string {
  return `${(pps / 1e6).toFixed(2)} Mpps`;
}
