/**
 * Sharded replay (engine/shard) against the single-table driver: same final table, counters, ct states and
 * timeline for every shard/thread count (--gc exact; --gc kernel: the documented bound), one global
 * nf_conntrack_max, reproducibility, worker failure and interruption. Needs `npm run build` (the worker
 * runs from dist/workers).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCapture } from "../captures/generate.js";
import { tableJsonl } from "../engine/conntrack/dump.js";
import type { GcMode } from "../engine/conntrack/gc.js";
import { Conntrack } from "../engine/conntrack/nf-conntrack-in.js";
import { type CtSettings, resolveSettings } from "../engine/conntrack/settings.js";
import { L4_HDR_OK, L4_TUPLE_OK, NFPROTO_IPV4, PacketBatch, PK_IP } from "../engine/decode/packet-batch.js";
import { type ReplayResult, replayCaptures } from "../engine/replay.js";
import { shardPlan } from "../engine/shard/cli.js";
import {
  defaultShards,
  replaySharded,
  type ShardedReplayResult,
  ShardPool,
  ShardWorkerError,
  shardOwner,
  shardWorkerFile,
} from "../engine/shard/index.js";
import { Timeline } from "../engine/stats/timeline.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const corpus = path.resolve(repoRoot, "../shared/captures");
const built = (() => {
  try {
    shardWorkerFile();
    return true;
  } catch {
    return false;
  }
})();
if (!built) console.log("shard tests skipped: dist/workers/shard-worker.js missing (run npm run build)");

interface Run {
  r: ReplayResult;
  table: string;
  rows: string;
}

async function single(file: string, settings: CtSettings, gc: GcMode): Promise<Run> {
  const tl = new Timeline();
  const r = await replayCaptures([file], settings, {
    gc,
    onTick: (t, ct) => tl.onTick(t, ct),
    nextTick: () => tl.nextTick,
  });
  if (r.endTime !== null) tl.record(r.endTime, r.conntrack);
  return { r, table: tableJsonl(r.conntrack, r.endJiffies), rows: JSON.stringify(tl.toRows()) };
}

async function sharded(
  file: string,
  settings: CtSettings,
  gc: GcMode,
  threads: number,
  shards: number,
  batchSize?: number,
  decodeThreads?: number,
  mainTracks?: boolean,
  pool?: ShardPool,
): Promise<Run> {
  const tl = new Timeline();
  const r = await replaySharded([file], settings, {
    gc,
    threads,
    shards,
    ...(pool !== undefined ? { pool } : {}),
    ...(mainTracks !== undefined ? { mainTracks } : {}),
    ...(batchSize !== undefined ? { batchSize } : {}),
    ...(decodeThreads !== undefined ? { decodeThreads } : {}),
    onTick: (t, v) => tl.onTick(t, v),
    nextTick: () => tl.nextTick,
    nextTickBound: (at) => tl.nextTickBound(at), // rows run ahead of each tick's samples, as in the CLI
  });
  if (r.endTime !== null) tl.record(r.endTime, r.conntrack);
  return { r, table: tableJsonl(r.conntrack, r.endJiffies), rows: JSON.stringify(tl.toRows()) };
}

function expectSame(a: Run, b: Run): void {
  expect(b.r.packets).toBe(a.r.packets);
  expect(b.r.firstTime).toBe(a.r.firstTime);
  expect(b.r.lastTime).toBe(a.r.lastTime);
  expect(b.r.endJiffies).toBe(a.r.endJiffies);
  expect(JSON.stringify(b.r.decode)).toBe(JSON.stringify(a.r.decode));
  expect(b.r.afterEnd).toBe(a.r.afterEnd);
  expect(b.r.conntrack.count).toBe(a.r.conntrack.count);
  expect(b.r.conntrack.clockBackwards).toBe(a.r.conntrack.clockBackwards);
  expect({ ...b.r.stats }).toEqual({ ...a.r.stats });
  expect({ ...b.r.ctstate }).toEqual({ ...a.r.ctstate });
  expect(b.table).toBe(a.table);
  expect(b.rows).toBe(a.rows);
}

/** [threads, shards, mainTracks]: the main thread alone, main + 1 worker (default 3 shards, 2, 5), and workers only. */
const CONFIGS: [number, number, boolean][] = [
  [1, 1, true],
  [2, 3, true],
  [2, 2, true],
  [2, 5, true],
  [2, 2, false],
];

describe.skipIf(!built || !existsSync(corpus))("sharded replay on the corpus (--gc exact)", () => {
  for (const name of ["mixed-wireshark-samples-ns.pcapng", "tcp-echo-many-connections.pcap.gz"]) {
    it(`${name}: every shard/thread count gives the single table`, async () => {
      const file = path.join(corpus, name);
      const settings = resolveSettings();
      const a = await single(file, settings, "exact");
      expect(a.r.conntrack.count).toBeGreaterThan(0);
      for (const [threads, shards, mainTracks] of CONFIGS) {
        // Small batches: many epochs, ticks falling inside batches.
        const b = await sharded(file, settings, "exact", threads, shards, 1000, undefined, mainTracks);
        expectSame(a, b);
        const perShard = (b.r as ShardedReplayResult).perShard;
        expect(perShard.length).toBe(shards);
        if (shards > 1) expect(perShard.filter((s) => s.new > 0).length).toBeGreaterThan(1);
      }
    }, 120_000);
  }

  it("chain statistics per tick from both sample paths (per entry on a sparse table, per bucket on a dense one)", async () => {
    const file = path.join(corpus, "tcp-echo-many-connections.pcap.gz");
    // ~500 entries (~1000 nodes): on 16384 buckets every thread's region stays sparse (its nodes * 8 <
    // buckets: a list of node buckets), on 512 buckets dense (per-bucket lengths); on 4096 the main
    // thread's shard (a third of the nodes) lists while the worker's two shards write lengths, so the
    // merge meets both kinds in one tick.
    for (const [buckets, kind] of [
      [16384, "sparse"],
      [512, "dense"],
      [4096, "mixed"],
    ] as const) {
      const settings = resolveSettings({ nf_conntrack_buckets: buckets });
      const a = await single(file, settings, "exact");
      const counts = (JSON.parse(a.rows) as { count: number }[]).map((r) => r.count);
      const nodes = Math.max(...counts) * 2;
      expect(nodes).toBeGreaterThan(800);
      if (kind === "sparse") expect(nodes * 8).toBeLessThan(buckets);
      else if (kind === "dense") expect((nodes * 8) / 3).toBeGreaterThan(buckets);
      else expect((nodes * 8) / 3 < buckets && (nodes * 2 * 8) / 3 > buckets).toBe(true);
      for (const [threads, shards, mainTracks] of [
        [1, 1, true],
        [2, 3, true],
        [3, 5, true],
        [2, 4, false],
      ] as const)
        expectSame(a, await sharded(file, settings, "exact", threads, shards, 500, undefined, mainTracks));
    }
  }, 120_000);
});

describe.skipIf(!built || !existsSync(corpus))("sharded replay on every corpus capture", () => {
  it("--gc exact equals one table (out-of-order timestamps, fragments, tunnels, errors); --gc kernel: same live table", async () => {
    const settings = resolveSettings();
    const names = readdirSync(corpus).filter((f) => /\.(pcap|pcapng)(\.gz)?$/.test(f));
    expect(names.length).toBeGreaterThan(10);
    let backwards = 0;
    for (const name of names) {
      const file = path.join(corpus, name);
      const a = await single(file, settings, "exact");
      // 64-row batches: a tick or an epoch boundary every few packets.
      expectSame(a, await sharded(file, settings, "exact", 2, 3, 64));
      backwards += a.r.conntrack.clockBackwards;
      if (a.r.packets < 100) continue;
      const k = await single(file, settings, "kernel");
      const kb = await sharded(file, settings, "kernel", 2, 3, 64);
      expect(kb.table).toBe(k.table);
      expect(kb.r.stats.new).toBe(k.r.stats.new);
    }
    expect(backwards).toBeGreaterThan(0); // the corpus does exercise the out-of-order path
  }, 300_000);
});

describe.skipIf(!built || !existsSync(corpus))(
  "sharded replay of fragmented captures (decode threads)",
  () => {
    // Decode threads leave fragments to the main thread, which reassembles them in capture order.
    const FRAGMENTED = [
      "ip46-frag-udp-dns.pcap",
      "ipv4-frag-icmp-echo.pcap",
      "ipv4-frag-tcp-http.pcap",
      "ipv6-frag-udp-dns.pcap",
    ];
    for (const name of FRAGMENTED) {
      it(`${name}: table, counters, timeline and decode stats equal one table for 0-2 decode threads`, async () => {
        const file = path.join(corpus, name);
        const settings = resolveSettings();
        const a = await single(file, settings, "exact");
        expect(a.r.decode.fragments).toBeGreaterThan(0);
        for (const [threads, shards, decodeThreads, batch] of [
          [1, 1, 1, 1000],
          [2, 3, 2, 4],
          [2, 2, 1, 1],
          [1, 2, 0, 3],
        ] as const) {
          expectSame(a, await sharded(file, settings, "exact", threads, shards, batch, decodeThreads));
        }
      }, 60_000);
    }

    it("with --end-time inside the capture: fragments after it are still reassembled and counted", async () => {
      const file = path.join(corpus, "ip46-frag-udp-dns.pcap");
      const settings = resolveSettings();
      const all = await replayCaptures([file], settings, { gc: "exact" });
      const endTime = (all.firstTime! + all.lastTime!) / 2;
      const a = await replayCaptures([file], settings, { gc: "exact", endTime });
      expect(a.afterEnd).toBeGreaterThan(0);
      const b = await replaySharded([file], settings, { gc: "exact", endTime, threads: 2, batchSize: 8 });
      expect(b.afterEnd).toBe(a.afterEnd);
      expect(b.packets).toBe(a.packets);
      expect(JSON.stringify(b.decode)).toBe(JSON.stringify(a.decode));
      expect(tableJsonl(b.conntrack, b.endJiffies)).toBe(tableJsonl(a.conntrack, a.endJiffies));
    }, 60_000);
  },
);

describe.skipIf(!built)("sharded replay on a generated capture", () => {
  let dir = "";
  let file = "";
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "ctreplay-shard-"));
    file = path.join(dir, "gen.pcap");
    const g = await generateCapture(file, { packets: 300_000, concurrent: 8000, seed: 11 });
    if (typeof g === "string") throw new Error(g);
  }, 120_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("--gc exact: identical table, counters and timeline for 1, 2 and 5 shards", async () => {
    const settings = resolveSettings();
    const a = await single(file, settings, "exact");
    expect(a.r.packets).toBeGreaterThan(250_000);
    for (const [threads, shards, mainTracks] of CONFIGS)
      expectSame(
        a,
        await sharded(file, settings, "exact", threads, shards, undefined, undefined, mainTracks),
      );
  }, 300_000);

  it("--gc kernel: same live table and counters; the count differs only by expired entries not yet reaped", async () => {
    const settings = resolveSettings();
    const a = await single(file, settings, "kernel");
    const b = await sharded(file, settings, "kernel", 2, 3);
    expect(b.table).toBe(a.table); // the dump lists live entries only
    const live = (r: ReplayResult): number => r.conntrack.liveCount(r.endJiffies);
    expect(live(b.r)).toBe(live(a.r));
    for (const k of ["new", "invalid", "drop", "early_drop", "insert_failed", "error"] as const)
      expect(b.r.stats[k]).toBe(a.r.stats[k]);
    expect({ ...b.r.ctstate }).toEqual({ ...a.r.ctstate });
    // new - delete = count in both; what differs is which expired entries were reaped (lazy/gc).
    for (const r of [a.r, b.r]) expect(r.stats.new - r.stats.delete).toBe(r.conntrack.count);
    const diff = Math.abs(b.r.conntrack.count - a.r.conntrack.count);
    expect(diff).toBeLessThanOrEqual(
      Math.max(a.r.conntrack.count - live(a.r), b.r.conntrack.count - live(b.r)),
    );
    // Timeline: live column identical at every row.
    const la = (JSON.parse(a.rows) as { live: number }[]).map((x) => x.live);
    const lb = (JSON.parse(b.rows) as { live: number }[]).map((x) => x.live);
    expect(lb).toEqual(la);
  }, 300_000);

  it("a max just above the peak (barrier path, no table-full event): identical to one table", async () => {
    const probe = new Timeline();
    const p = await replayCaptures([file], resolveSettings(), {
      gc: "exact",
      onTick: (t, ct) => probe.onTick(t, ct),
      nextTick: () => probe.nextTick,
    });
    const settings = resolveSettings({ nf_conntrack_max: probe.summary().peakUpperBound + 1 });
    const a = await single(file, settings, "exact");
    expect(a.r.stats.drop + a.r.stats.early_drop).toBe(0);
    expect(p.stats.new).toBe(a.r.stats.new);
    const b = await sharded(file, settings, "exact", 2, 2);
    expectSame(a, b);
    // The bound on the other shards' counts is too loose this close to max: the barrier path was taken.
    const t = (b.r as ShardedReplayResult).timing;
    expect(Math.min(...t.threadBarrierEpochs)).toBeGreaterThan(0);
    expect(Math.max(...t.threadBarrierEpochs)).toBeLessThan(t.tasks); // and skipped while far from max
  }, 300_000);

  it("one global nf_conntrack_max: shards see each other's entries; deterministic run to run", async () => {
    const max = 3000;
    const settings = resolveSettings({ nf_conntrack_max: max });
    const a = await single(file, settings, "exact");
    expect(a.r.stats.drop + a.r.stats.early_drop).toBeGreaterThan(0);
    const batch = 512;
    const b = await sharded(file, settings, "exact", 2, 4, batch);
    const c = await sharded(file, settings, "exact", 2, 4, batch);
    expectSame(b, c); // reproducible even with table-full events
    // Without a global count each of 4 shards would admit up to max entries.
    const peak = Math.max(...(JSON.parse(b.rows) as { count: number }[]).map((x) => x.count));
    expect(peak).toBeLessThanOrEqual(max + batch);
    expect(b.r.conntrack.count).toBeLessThanOrEqual(max + batch);
    // Other shards' allocations are seen one epoch late and early_drop only scans the shard's own
    // chains (8 x shards of them, for as many candidates as the kernel's 8 buckets of the whole table),
    // so table-full outcomes are close to one table's, not equal (docs/sharding.md).
    const sa = a.r.stats;
    const sb = b.r.stats;
    console.log(
      `table full, max ${max}: drop / early_drop one table ${sa.drop} / ${sa.early_drop}, 4 shards ${sb.drop} / ${sb.early_drop}`,
    );
    for (const k of ["drop", "early_drop"] as const) {
      expect(sb[k]).toBeGreaterThan(0);
      expect(Math.abs(sb[k] - sa[k]) / sa[k]).toBeLessThan(0.2);
    }
    expect(b.r.stats.new - b.r.stats.delete).toBe(b.r.conntrack.count);
  }, 300_000);

  it("auto tick grid with the CLI's span hints: the same grid and rows in-process and sharded", async () => {
    // tickHint is called at the same rows with the same share of the file in both drivers, so the auto
    // interval coarsens the same way (it used to follow onProgress, i.e. how far reading had got).
    const settings = resolveSettings();
    // 15 minutes of traffic: the 1 s grid the timeline starts on must coarsen (to 5 s, span / 200).
    const long = path.join(dir, "long.pcap");
    const g = await generateCapture(long, { packets: 80_000, concurrent: 2000, durationS: 900, seed: 5 });
    if (typeof g === "string") throw new Error(g);
    const run = async (sharded: boolean): Promise<{ interval: number; rows: string }> => {
      const tl = new Timeline();
      const hooks = {
        gc: "exact" as const,
        nextTick: () => tl.nextTick,
        nextTickBound: (at: number) => tl.nextTickBound(at),
        tickHint: (f: number) => tl.progressHint(f),
      };
      const r = sharded
        ? await replaySharded([long], settings, {
            ...hooks,
            threads: 2,
            shards: 3,
            onTick: (t, v) => tl.onTick(t, v),
          })
        : await replayCaptures([long], settings, { ...hooks, onTick: (t, ct) => tl.onTick(t, ct) });
      if (r.endTime !== null) tl.record(r.endTime, r.conntrack);
      return { interval: tl.interval, rows: JSON.stringify(tl.toRows()) };
    };
    const a = await run(false);
    const b = await run(true);
    expect(a.interval).toBeGreaterThan(1); // the hints coarsened the grid from 1 s
    expect(b.interval).toBe(a.interval);
    expect(b.rows).toBe(a.rows);
  }, 120_000);

  it("table full with small epochs and a tick every second: every run gives the same result", async () => {
    // Shards far from the limit run epochs ahead without the barrier while others wait at it: with a sum
    // of arrivals as the barrier and a two-slot count buffer, 3 of 8 such runs differed from the others.
    const settings = resolveSettings({ nf_conntrack_max: 3000 });
    const runs = new Set<string>();
    for (let k = 0; k < 8; k++) {
      const rows: string[] = [];
      const r = await replaySharded([file], settings, {
        threads: 2,
        shards: 3,
        batchSize: 512,
        ring: 16,
        tickInterval: 1,
        onTick: (t, v) =>
          rows.push(`${t} ${v.count} ${v.stats.delete} ${v.stats.drop} ${v.stats.early_drop}`),
      });
      expect(r.stats.drop).toBeGreaterThan(0);
      runs.add(JSON.stringify({ stats: { ...r.stats }, count: r.conntrack.count, rows }));
    }
    expect(runs.size).toBe(1);
  }, 300_000);

  it("worker threads kept in a ShardPool give what new threads give; a failed replay's threads are not kept", async () => {
    const settings = resolveSettings();
    // A table-full replay first: its thread's shards, barrier epochs and counters must not leak into the next.
    const small = resolveSettings({ nf_conntrack_max: 3000 });
    const fresh = await sharded(file, settings, "kernel", 2, 3);
    const freshSmall = await sharded(file, small, "kernel", 2, 3);
    expect(freshSmall.r.stats.drop).toBeGreaterThan(0);
    const pool = new ShardPool();
    try {
      expectSame(
        freshSmall,
        await sharded(file, small, "kernel", 2, 3, undefined, undefined, undefined, pool),
      );
      expect(pool.size).toBe(1);
      const fromPool = await sharded(file, settings, "kernel", 2, 3, undefined, undefined, undefined, pool);
      expectSame(fresh, fromPool);
      expect(pool.size).toBe(1);
      const err = await replaySharded([file], settings, {
        threads: 2,
        shards: 3,
        failAtPacket: 12345,
        pool,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ShardWorkerError);
      expect(pool.size).toBe(0); // destroyed, not kept
      expectSame(fresh, await sharded(file, settings, "kernel", 2, 3, undefined, undefined, undefined, pool));
      expect(pool.size).toBe(1);
    } finally {
      await pool.close();
    }
    expect(pool.size).toBe(0);
    const workers = process.getActiveResourcesInfo().filter((x) => x === "Worker" || x === "MessagePort");
    expect(workers.length).toBe(0);
  }, 300_000);

  it("a failing worker is an error naming the file and packet; the pools are gone afterwards", async () => {
    const settings = resolveSettings();
    const err = await replaySharded([file], settings, { threads: 2, shards: 2, failAtPacket: 12345 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ShardWorkerError);
    const e = err as ShardWorkerError;
    expect(e.file).toBe(file);
    expect(e.packetNo).toBe(12345);
    expect(e.message).toContain(`${file}: packet 12345: shard worker failed`);
    const workers = process.getActiveResourcesInfo().filter((x) => x === "Worker" || x === "MessagePort");
    expect(workers.length).toBe(0);
  }, 120_000);

  it("near nf_conntrack_max (shards waiting for each other at the barrier) a failure still names its packet", async () => {
    // The failing thread raises the abort flag so the other threads' shards stop waiting for its epoch;
    // their "replay aborted" must not stand in for the failure itself.
    const settings = resolveSettings({ nf_conntrack_max: 3000 });
    for (const at of [20_001, 20_002, 20_003, 150_001]) {
      const err = await replaySharded([file], settings, {
        threads: 2,
        shards: 3,
        batchSize: 512,
        failAtPacket: at,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ShardWorkerError);
      expect((err as ShardWorkerError).packetNo).toBe(at);
      expect((err as ShardWorkerError).message).toContain("injected failure");
    }
    const workers = process.getActiveResourcesInfo().filter((x) => x === "Worker" || x === "MessagePort");
    expect(workers.length).toBe(0);
  }, 120_000);

  it("a failing decode worker is an error naming the file and packet; no worker is left", async () => {
    const settings = resolveSettings();
    const err = await replaySharded([file], settings, {
      threads: 2,
      decodeThreads: 2,
      failDecodeAtPacket: 54321,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShardWorkerError);
    const e = err as ShardWorkerError;
    expect(e.file).toBe(file);
    expect(e.packetNo).toBe(54321);
    expect(e.role).toBe("decode");
    expect(e.message).toContain(`${file}: packet 54321: decode worker failed`);
    const workers = process.getActiveResourcesInfo().filter((x) => x === "Worker" || x === "MessagePort");
    expect(workers.length).toBe(0);
  }, 120_000);

  it.each([0, 2])(
    "an abort signal stops reading and still returns the partial result (%i decode threads)",
    async (decodeThreads) => {
      const settings = resolveSettings();
      const ac = new AbortController();
      let seen = 0;
      const r = await replaySharded([file], settings, {
        threads: 2,
        decodeThreads,
        signal: ac.signal,
        onProgress: (p) => {
          seen = p.packets;
          if (p.packets > 50_000) ac.abort();
        },
      });
      expect(r.interrupted).toBe(true);
      expect(r.packets).toBeGreaterThan(50_000);
      expect(r.packets).toBeLessThan(250_000);
      expect(seen).toBeGreaterThan(0);
      expect(r.conntrack.count).toBeGreaterThan(0);
      expect(r.stats.new - r.stats.delete).toBe(r.conntrack.count);
    },
    120_000,
  );
});

describe("countOthers: the core's global-count hook", () => {
  it("entries in other shards count toward nf_conntrack_max", () => {
    const settings = resolveSettings({ nf_conntrack_max: 2 });
    const pkt = new PacketBatch(8);
    const row = (i: number, sport: number): void => {
      pkt.clearRow(i);
      pkt.kind[i] = PK_IP;
      pkt.l3[i] = NFPROTO_IPV4;
      pkt.proto[i] = 17;
      pkt.src[i * 4] = 0x0a000001;
      pkt.dst[i * 4] = 0x0a000002;
      pkt.sport[i] = sport;
      pkt.dport[i] = 53;
      pkt.l4len[i] = 20;
      pkt.payload[i] = 12;
      pkt.l4flags[i] = L4_TUPLE_OK | L4_HDR_OK;
      pkt.tsSec[i] = 1000;
    };
    row(0, 1000);
    row(1, 1001);
    const alone = new Conntrack(settings);
    alone.process(pkt, 0);
    alone.process(pkt, 1);
    expect(alone.count).toBe(2);
    const shard = new Conntrack(settings);
    shard.countOthers = 1;
    shard.process(pkt, 0);
    shard.process(pkt, 1); // 1 here + 1 in another shard = max: table full (early_drop or drop)
    expect(shard.count + shard.countOthers).toBeLessThanOrEqual(2);
    expect(shard.stats.drop + shard.stats.early_drop).toBe(1);
  });
});

describe("shard placement", () => {
  it("CLI plan: --threads 0/1 alone stay in-process; otherwise the main thread + workers, 2N-1 shards", () => {
    expect(shardPlan({})).toBeNull();
    expect(shardPlan({ threads: 0 })).toBeNull();
    expect(shardPlan({ threads: 1 })).toBeNull();
    expect(shardPlan({ threads: 1, shards: 1 })).toBeNull();
    expect(shardPlan({ threads: 1, shards: 3 })).toEqual({ threads: 1, shards: 3, decodeThreads: 0 });
    expect(shardPlan({ threads: 2 })).toEqual({ threads: 2, shards: 3, decodeThreads: 0 });
    expect(shardPlan({ threads: 3, decodeThreads: 1 })).toEqual({ threads: 3, shards: 5, decodeThreads: 1 });
    expect(shardPlan({ threads: 4, shards: 2 })).toEqual({ threads: 2, shards: 2, decodeThreads: 0 });
  });

  it("main thread + workers: 2T-1 default shards, one on the main thread, two per worker", () => {
    // [threads, shards, mainTracks, owners (index threads-1 = the main thread when it tracks)]
    const cases: [number, number, boolean, number[]][] = [
      [1, defaultShards(1), true, [0]],
      [2, defaultShards(2), true, [1, 0, 0]],
      [3, defaultShards(3), true, [2, 0, 0, 1, 1]],
      [2, 6, true, [1, 0, 0, 1, 0, 0]],
      [2, 2, true, [0, 1]], // fewer than 2T-1: round robin
      [2, 2, false, [0, 1]],
      [2, defaultShards(2, false), false, [0, 1]],
    ];
    for (const [threads, shards, main, owners] of cases) {
      expect(Array.from({ length: shards }, (_, s) => shardOwner(s, shards, threads, main))).toEqual(owners);
      // every thread owns at least one shard
      expect(new Set(owners).size).toBe(threads);
    }
  });
});
