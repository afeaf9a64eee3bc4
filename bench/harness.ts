/**
 * Whole-file cases under benny: every call of a case is one full pass over a capture, so benny is told to
 * take a single sample (it still makes a couple of calibration calls). Packets/s = packets of one pass /
 * benny's mean seconds per call; every call's packet count is checked so a short pass cannot inflate it.
 */
import b from "benny";

export interface PassCase {
  name: string;
  /** Packets one pass must see. */
  packets: number;
  /** One full pass; resolves with the packets it saw. */
  pass: () => Promise<number>;
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
}

export async function runPasses(suite: string, cases: PassCase[]): Promise<PassResult[]> {
  const own = new Map<string, { calls: number; best: number }>();
  const adds = cases.map((c) => {
    own.set(c.name, { calls: 0, best: Number.POSITIVE_INFINITY });
    return b.add(
      c.name,
      async () => {
        const t0 = performance.now();
        const seen = await c.pass();
        const dt = (performance.now() - t0) / 1000;
        if (seen !== c.packets) throw new Error(`${c.name}: pass saw ${seen} packets, expected ${c.packets}`);
        const o = own.get(c.name)!;
        o.calls++;
        o.best = Math.min(o.best, dt);
      },
      { minSamples: 1, maxTime: 0, initCount: 1, delay: 0 },
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
    };
  });
}

export function mpps(pps: number): string {
  return `${(pps / 1e6).toFixed(2)} Mpps`;
}
