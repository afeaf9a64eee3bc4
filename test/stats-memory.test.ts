import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  calculateOrder,
  conntrackGeometry,
  hasExtension,
  MemoryModel,
  parseSlabinfo,
  resolveGeometry,
  SLAB_PRESETS,
  SlabinfoError,
  slubStride,
} from "../engine/stats/memory.js";

const repoRoot = path.resolve(import.meta.dirname, "..");

describe("SLUB calculate_order (reference §9.2 table, 256-byte stride)", () => {
  // present CPUs range -> order, objs/slab, bytes/slab
  const table: [number, number, number, number, number][] = [
    [1, 3, 0, 16, 4096],
    [4, 7, 0, 16, 4096],
    [8, 15, 1, 32, 8192],
    [16, 31, 1, 32, 8192],
    [32, 63, 1, 32, 8192],
    [64, 127, 1, 32, 8192],
    [128, 255, 2, 64, 16384],
    [256, 511, 2, 64, 16384],
  ];
  for (const [lo, hi, order, objs, bytes] of table) {
    for (const cpus of [lo, hi]) {
      it(`${cpus} CPUs -> order ${order}, ${objs} objects, ${bytes} bytes`, () => {
        expect(calculateOrder(256, { cpus })).toBe(order);
        const g = conntrackGeometry(248, { cpus });
        expect(g.stride).toBe(256);
        expect(g.objsPerSlab).toBe(objs);
        expect(g.slabBytes).toBe(bytes);
      });
    }
  }

  it("seed object (304 bytes) fits 13 per 4 KiB page at 2 CPUs (waste 144 <= 4096/16)", () => {
    expect(calculateOrder(304, { cpus: 2 })).toBe(0);
    expect(resolveGeometry({ preset: "seed", cpus: 2 })).toMatchObject({ objsPerSlab: 13, pagesPerSlab: 1 });
  });

  it("accepts more waste when no order up to slub_max_order is tight enough", () => {
    // 3000-byte objects: 4096%3000 = 1096 > 4096/4, 8192%3000 = 2192 > 8192/4 ... but a 1/2 leftover passes.
    const order = calculateOrder(3000, { cpus: 1 });
    expect(order).toBeLessThanOrEqual(3);
    const slab = 4096 << order;
    expect(slab % 3000).toBeLessThanOrEqual(slab / 2);
  });

  it("HWCACHE_ALIGN + RCU free pointer: sizeof(nf_conn) 224..248 all give a 256-byte stride", () => {
    for (const size of [224, 232, 240, 248]) expect(slubStride(size, { typesafeByRcu: true })).toBe(256);
    expect(slubStride(320, { typesafeByRcu: true })).toBe(384);
  });

  it("agrees with this machine's kmalloc caches in /proc/slabinfo (when readable)", (ctx) => {
    if (!existsSync("/proc/slabinfo")) {
      ctx.skip("no /proc/slabinfo on this host");
      return;
    }
    const text = readFileSync("/proc/slabinfo", "utf8");
    const cpus = availableParallelism();
    let checked = 0;
    for (const size of [64, 128, 256, 512, 1024, 2048, 4096, 8192]) {
      const name = size >= 1024 ? `kmalloc-${size / 1024}k` : `kmalloc-${size}`;
      const g = parseSlabinfo(text, "/proc/slabinfo", name);
      if (g instanceof SlabinfoError) continue;
      expect(g.pagesPerSlab, name).toBe(2 ** calculateOrder(size, { cpus }));
      expect(g.objsPerSlab, name).toBe(Math.floor((4096 * g.pagesPerSlab) / size));
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe("slabinfo parsing", () => {
  const sample = [
    "slabinfo - version: 2.1",
    "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>",
    "nf_conntrack_expect      0      0    208   19    1 : tunables    0    0    0 : slabdata      0      0      0",
    "nf_conntrack        1008   1008    320   25    2 : tunables    0    0    0 : slabdata     63     63      0",
  ].join("\n");

  it("reads objsize, objperslab, pagesperslab of the nf_conntrack line (not nf_conntrack_expect)", () => {
    const g = parseSlabinfo(sample, "host.slabinfo");
    expect(g).not.toBeInstanceOf(SlabinfoError);
    expect(g).toMatchObject({ stride: 320, objsPerSlab: 25, pagesPerSlab: 2, slabBytes: 8192 });
    const m = new MemoryModel(g as Exclude<typeof g, SlabinfoError>);
    expect(m.slabBytes(26)).toBe(2 * 8192);
  });

  it("returns an error value naming the file and line", () => {
    const e = parseSlabinfo("nf_conntrack 1 2 x 4 1 :", "bad.txt");
    expect(e).toBeInstanceOf(SlabinfoError);
    expect(String(e)).toMatch(/^bad\.txt: line 1: malformed/);
    const missing = parseSlabinfo("kmalloc-128 1 1 128 32 1", "nomod.txt");
    expect(String(missing)).toMatch(/no "nf_conntrack" line/);
  });

  it("reads the live nf_conntrack line when present", (ctx) => {
    if (
      !existsSync("/proc/slabinfo") ||
      !readFileSync("/proc/slabinfo", "utf8").includes("\nnf_conntrack ")
    ) {
      ctx.skip("nf_conntrack not loaded on this host");
      return;
    }
    const g = parseSlabinfo(readFileSync("/proc/slabinfo", "utf8"), "/proc/slabinfo");
    expect(g).not.toBeInstanceOf(SlabinfoError);
    const cpus = availableParallelism();
    const predicted = conntrackGeometry(SLAB_PRESETS["6.18"].objectSize, { cpus });
    expect((g as { objsPerSlab: number }).objsPerSlab).toBe(predicted.objsPerSlab);
  });
});

describe("MemoryModel against the slab ground truth (kernel-oracle/slab-ground-truth.md)", () => {
  const m = new MemoryModel(SLAB_PRESETS["6.18"]);
  const truthFile = path.resolve(repoRoot, "../shared/kernel-oracle/ground-truth-data/slab-results.jsonl");

  it("slabBytes = ceil(N/16) x 4096 for the 6.18 preset", () => {
    for (const n of [0, 1, 16, 17, 1000, 10_000, 100_000, 1_000_000]) {
      expect(m.slabBytes(n)).toBe(Math.ceil(n / 16) * 4096);
    }
    expect(m.slabBytes(1000)).toBe(258048); // 63 slabs, the measured number
  });

  it("matches the measured fresh-cache numbers (at most one extra per-CPU slab on the kernel)", (ctx) => {
    if (!existsSync(truthFile)) {
      ctx.skip(`ground truth absent (${truthFile})`);
      return;
    }
    const rows = readFileSync(truthFile, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    let checked = 0;
    for (const r of rows) {
      const n = Number(r.count);
      const slabs = Number((r.slab_after as Record<string, unknown> | undefined)?.num_slabs);
      if (!Number.isFinite(n) || !Number.isFinite(slabs) || n <= 0) continue;
      const actual = slabs * 4096;
      const diff = actual - m.slabBytes(n);
      expect(diff === 0 || diff === 4096, `N=${n}: actual ${actual} vs ${m.slabBytes(n)}`).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(20);
  });

  it("extension: one kmalloc-128 object per entry, 32 per 4 KiB slab, only when acct/timestamp/events on", () => {
    const off = { nf_conntrack_acct: 0, nf_conntrack_timestamp: 0, nf_conntrack_events: 2 };
    expect(hasExtension(off)).toBe(false);
    expect(hasExtension({ ...off, eventListener: true })).toBe(true);
    expect(hasExtension({ ...off, nf_conntrack_acct: 1 })).toBe(true);
    expect(hasExtension({ ...off, nf_conntrack_timestamp: 1 })).toBe(true);
    expect(hasExtension({ ...off, nf_conntrack_events: 1 })).toBe(true);
    expect(hasExtension({ ...off, nf_conntrack_events: 0 })).toBe(false);
    const withExt = new MemoryModel(SLAB_PRESETS["6.18"], { ext: true, cpus: 2 });
    expect(withExt.extGeometry.objsPerSlab).toBe(32);
    expect(withExt.extBytes(1_000_000)).toBe(31250 * 4096); // measured: +127.5 MB for 1e6 entries
    expect(m.extBytes(1_000_000)).toBe(0);
  });

  it("hash = buckets x 8; total and the seed formula beside it", () => {
    expect(m.hashBytes(262144)).toBe(2 * 1024 * 1024);
    const b = m.breakdown(100_000, 262144);
    expect(b.totalBytes).toBe(b.slabBytes + b.extBytes + b.hashBytes);
    expect(b.seedBytes).toBe(Math.ceil(100_000 / 13) * 4096 + 262144 * 8);
    expect(b.seedBytes).toBeGreaterThan(b.totalBytes); // the seed assumed a bigger object
  });

  it("slabinfo-shaped line for N objects", () => {
    const f = m.slabinfoLine(1000).trim().split(/\s+/);
    expect(f.slice(0, 6)).toEqual(["nf_conntrack", "1008", "1008", "256", "16", "1"]);
    expect(f.slice(-3)).toEqual(["63", "63", "0"]);
  });

  it("resolveGeometry: presets, unknown preset, bad size", () => {
    expect(resolveGeometry({})).toBe(SLAB_PRESETS["6.18"]);
    expect(resolveGeometry({ preset: "6.18", cpus: 16 })).toMatchObject({ objsPerSlab: 32, pagesPerSlab: 2 });
    expect(resolveGeometry({ preset: "nope" })).toMatch(/unknown slab preset/);
    expect(resolveGeometry({ objectSize: -1 })).toMatch(/bad object size/);
  });
});
