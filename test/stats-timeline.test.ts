import { describe, expect, it } from "vitest";
import { MemoryModel, SLAB_PRESETS } from "../engine/stats/memory.js";
import { defaultInterval, niceCeil, Timeline } from "../engine/stats/timeline.js";
import { TickSchedule } from "../engine/tick-schedule.js";
import { FakeTable } from "./report-fixture.js";

describe("tick interval", () => {
  it("rounds span/200 up to 1/2/5 x 10^k, at least 1 s", () => {
    const table: [number, number][] = [
      [0, 1],
      [10, 1],
      [200, 1],
      [201, 2],
      [1000, 5],
      [1001, 10],
      [3600, 20],
      [86400, 500],
      [604800, 5000],
    ];
    for (const [span, iv] of table) expect(defaultInterval(span), `span ${span}`).toBe(iv);
    expect(niceCeil(0.03)).toBe(0.05);
    expect(niceCeil(7)).toBe(10);
  });
});

describe("Timeline", () => {
  it("counts the kernel's count, live vs expired, by protocol, TCP state, ASSURED, UNREPLIED", () => {
    const t = new FakeTable();
    t.add(0, 6, 3, 0b1110, 1000); // tcp ESTABLISHED, seen reply + assured + confirmed
    t.add(1, 6, 1, 0b1000, 5); // tcp SYN_SENT unreplied, expires at 5 s
    t.add(2, 17, 0, 0b1000, 1000); // udp unreplied
    t.add(3, 1, 0, 0b1010, 1000); // icmp replied
    t.add(4, 99, 0, 0b1000, 1000); // other
    const tl = new Timeline({ interval: 10 });
    tl.origin = 0;
    tl.onTick(0, t);
    tl.onTick(10, t); // SYN_SENT expired but not reaped: still counted, not live
    const rows = tl.toRows();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ t: 0, count: 5, live: 5, expired: 0, assured: 1, unreplied: 3 });
    expect(rows[1]).toMatchObject({ t: 10, count: 5, live: 4, expired: 1 });
    expect(rows[0]!.byProto).toMatchObject({ tcp: 2, udp: 1, icmp: 1, other: 1, gre: 0 });
    expect(rows[0]!.tcpStates).toMatchObject({ ESTABLISHED: 1, SYN_SENT: 1, NONE: 0 });
    expect(rows[0]!.new).toBe(5);
    expect(rows[1]!.new).toBe(0);
  });

  it("per-interval deltas, skipped calls between ticks, peak between ticks, percentiles", () => {
    const t = new FakeTable();
    const tl = new Timeline({ interval: 5 });
    tl.origin = 100;
    let ct = 0;
    let peak = 0;
    let peakAt = 0;
    for (let s = 100; s <= 150; s++) {
      // grow by one entry per second, remove every 3rd second
      t.add(ct++, 17, 0, 8, 1e9);
      if (s % 3 === 0) t.remove(ct - 2);
      if (t.count > peak) {
        peak = t.count;
        peakAt = s - 100;
      }
      tl.onTick(s, t);
    }
    expect(tl.length).toBe(11); // 100, 105, ..., 150
    expect(t.scans).toBe(11); // only ticks scan the table
    const rows = tl.toRows();
    expect(rows.map((r) => r.t)).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
    const sumNew = rows.reduce((a, r) => a + r.new, 0);
    expect(sumNew).toBe(t.stats.new);
    expect(rows.reduce((a, r) => a + r.delete, 0)).toBe(t.stats.delete);
    expect(rows[1]!.new).toBe(5);
    for (let i = 0; i < rows.length; i++)
      expect(rows[i]!.count).toBeLessThanOrEqual(rows[rows.length - 1]!.count);
    const s = tl.summary();
    expect(s.peak).toEqual({ count: peak, t: peakAt });
    expect(peakAt % 5).not.toBe(0); // the peak fell between ticks and was still caught
    expect(s.p50).toBe([...tl.counts()].sort((a, b) => a - b)[5]);
    expect(s.p99).toBe(rows[10]!.count);
  });

  it("peak upper bound: never below the true peak between ticks, exact when nothing was deleted", () => {
    const t = new FakeTable();
    const tl = new Timeline({ interval: 10 });
    let truePeak = 0;
    for (let s = 0; s <= 20; s++) {
      t.add(s, 17, 0, 8, 1e9);
      t.add(s + 40, 17, 0, 8, 1e9);
      truePeak = Math.max(truePeak, t.count);
      if (s === 15) for (let k = 0; k < 15; k++) t.remove(k); // a drop between the ticks at 10 and 20
      if (s >= tl.nextTick) tl.onTick(s, t); // the driver only calls at tick boundaries
    }
    const sum = tl.summary();
    expect(sum.peak.count).toBeLessThan(truePeak); // the ticks missed it
    expect(sum.peakUpperBound).toBeGreaterThanOrEqual(truePeak);
    const mono = new FakeTable();
    const tl2 = new Timeline({ interval: 10 });
    for (let s = 0; s < 40; s++) {
      mono.add(s, 17, 0, 8, 1e9);
      tl2.onTick(s, mono);
    }
    tl2.record(39.5, mono);
    expect(tl2.summary().peakUpperBound).toBe(tl2.summary().peak.count);
  });

  it("auto mode coarsens along 1/2/5 and keeps cumulative counters exact", () => {
    const t = new FakeTable();
    const tl = new Timeline({ targetTicks: 20 });
    tl.origin = 0;
    for (let s = 0; s <= 1000; s++) {
      if (s % 10 === 0) {
        t.stats.new! += 7;
        t.stats.drop! += 1;
      }
      tl.onTick(s, t);
    }
    expect([1, 2, 5, 10, 20, 50, 100]).toContain(tl.interval);
    expect(tl.length).toBeLessThanOrEqual(41);
    expect(1000 / tl.interval).toBeLessThanOrEqual(40);
    const rows = tl.toRows();
    for (let i = 1; i < rows.length; i++) {
      expect(rows[i]!.t % tl.interval).toBe(0);
      expect(rows[i]!.t - rows[i - 1]!.t).toBe(tl.interval);
    }
    expect(rows.reduce((a, r) => a + r.new, 0)).toBe(t.stats.new);
    expect(rows.reduce((a, r) => a + r.drop, 0)).toBe(t.stats.drop);
  });

  it("a span hint from the share read moves the interval to span/200 early (nested 1/2/5)", () => {
    const t = new FakeTable();
    const tl = new Timeline();
    tl.origin = 0;
    for (let s = 0; s <= 30; s++) {
      t.stats.new! += 1;
      tl.onTick(s, t);
    }
    expect(tl.interval).toBe(1);
    tl.progressHint(0.005); // too early to extrapolate
    expect(tl.interval).toBe(1);
    tl.progressHint(0.01 * 3); // 30 s read of 3 % -> ~1000 s -> 5 s ticks
    expect(tl.interval).toBe(5);
    expect(tl.toRows().map((r) => r.t)).toEqual([0, 5, 10, 15, 20, 25, 30]);
    expect(tl.nextTick).toBe(35);
    expect(tl.toRows().reduce((a, r) => a + r.new, 0)).toBe(t.stats.new);
  });

  it("nextTickBound(at) never exceeds the next tick, whatever span hints coarsen the grid meanwhile", () => {
    let seed = 12345;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (const opts of [{}, { interval: 0.1 }, { interval: 3 }, { targetTicks: 5 }]) {
      const t = new FakeTable();
      const tl = new Timeline(opts);
      let at = 1000.37; // the first tick fires at the first row
      let checked = 0;
      for (let k = 0; k < 300; k++) {
        const bound = tl.nextTickBound(at);
        // The sharded driver's window: the tick's samples are on their way, reading goes on (span hints).
        // (the share read grows with the ticks; the estimate jitters).
        const read = (): number => Math.min(1, ((k + 1) / 300) * (0.5 + rnd()));
        if (rnd() < 0.3) tl.progressHint(read());
        tl.onTick(at, t);
        if (rnd() < 0.1) tl.progressHint(read());
        expect(tl.nextTick).toBeGreaterThanOrEqual(bound);
        expect(bound).toBeGreaterThan(at - 1e-9);
        if (bound > at) checked++;
        at = tl.nextTick > at ? tl.nextTick : at + 1;
      }
      expect(checked).toBeGreaterThan(250); // the bound lets rows run ahead at nearly every tick
    }
  });

  it("the drivers' tick schedule takes the timeline's whole bound: rows run ahead to the next tick", () => {
    // Until 2026-11-23 TickSchedule capped the bound at tickInterval (1 s unless given): with 5 s ticks the
    // sharded driver handed out one second of rows after a tick and then waited for its samples.
    const tl = new Timeline({ interval: 5 });
    const ticks = new TickSchedule({
      onTick: () => undefined,
      nextTick: () => tl.nextTick,
      nextTickBound: (at) => tl.nextTickBound(at),
    });
    const bound = ticks.boundAfter(1000);
    expect(bound).toBeGreaterThan(1004.99);
    tl.onTick(1000, new FakeTable());
    ticks.fired(1000);
    expect(ticks.at).toBe(1005);
    expect(ticks.at).toBeGreaterThanOrEqual(bound);
  });

  it("memory per row from the model", () => {
    const t = new FakeTable();
    for (let i = 0; i < 17; i++) t.add(i, 17, 0, 8, 1e9);
    const tl = new Timeline({ interval: 1 });
    tl.record(0, t);
    const mem = new MemoryModel(SLAB_PRESETS["6.18"]);
    expect(tl.toRows(mem, 512)[0]!.memoryBytes).toBe(2 * 4096 + 512 * 8);
    for (let i = 0; i < 16; i++) t.remove(i); // 1 entry left: a fresh cache needs 1 slab, the host keeps 2
    tl.record(1, t);
    const last = tl.toRows(mem, 512)[1]!;
    expect(last.memoryBytes).toBe(4096 + 512 * 8);
    expect(last.memoryRetainedBytes).toBe(2 * 4096 + 512 * 8);
  });
});
