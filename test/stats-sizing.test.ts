import { describe, expect, it } from "vitest";
import { parseSysctlText, SysctlError } from "../engine/conntrack/sysctl.js";
import { MemoryModel, SLAB_PRESETS } from "../engine/stats/memory.js";
import {
  DEFAULT_TARGET_UTIL,
  kernelDefaults,
  kubeProxyMax,
  modprobeLine,
  parseBytes,
  recommend,
  roundupBuckets,
  sysctlSnippet,
} from "../engine/stats/sizing.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe("kernel defaults by RAM (reference §8 table)", () => {
  const table: [string, number, number, number][] = [
    ["64 MiB", 64 * MiB, 1024, 1024],
    ["128 MiB", 128 * MiB, 1024, 1024],
    ["512 MiB", 512 * MiB, 4096, 4096],
    ["1 GiB exactly", GiB, 8192, 8192],
    ["1 GiB + 1 page", GiB + 4096, 65536, 65536],
    ["4 GiB", 4 * GiB, 65536, 65536],
    ["4 GiB + 1 page", 4 * GiB + 4096, 262144, 262144],
    ["23.5 GiB (this VM, live)", 23.5 * GiB, 262144, 262144],
  ];
  for (const [label, ram, buckets, max] of table) {
    it(`${label} -> ${buckets} buckets, max ${max}`, () => {
      expect(kernelDefaults(ram)).toEqual({ buckets, max });
    });
  }
  it("hashsize=N -> roundup(N, 512) buckets and 8 x that", () => {
    expect(kernelDefaults(16 * GiB, { hashsize: 1000 })).toEqual({ buckets: 1024, max: 8192 });
    expect(kernelDefaults(16 * GiB, { hashsize: 65536 })).toEqual({ buckets: 65536, max: 524288 });
  });
  it("roundup to 512", () => {
    expect(roundupBuckets(1)).toBe(512);
    expect(roundupBuckets(513)).toBe(1024);
    expect(roundupBuckets(1024)).toBe(1024);
  });
});

describe("kube-proxy rule", () => {
  const table: [number, number][] = [
    [1, 131072],
    [4, 131072],
    [5, 163840],
    [16, 524288],
  ];
  for (const [cores, max] of table)
    it(`${cores} cores -> ${max}`, () => expect(kubeProxyMax(cores)).toBe(max));
  it("custom per-core and min; 0 per core leaves the kernel's value", () => {
    expect(kubeProxyMax(8, 65536, 0)).toBe(524288);
    expect(kubeProxyMax(8, 0)).toBeNull();
  });
});

describe("recommendation", () => {
  const mem = new MemoryModel(SLAB_PRESETS["6.18"]);
  it("puts the grown peak at or below the target utilisation, in 512 units, buckets = max", () => {
    for (const peak of [1, 1000, 12345, 200_000, 1_000_000]) {
      for (const growth of [1, 1.5, 3]) {
        for (const util of [0.5, 0.75, 0.9]) {
          const r = recommend(peak, mem, { targetUtil: util, growth });
          expect(r.nf_conntrack_max % 512).toBe(0);
          expect(r.nf_conntrack_buckets).toBe(r.nf_conntrack_max);
          expect(Math.ceil(peak * growth) / r.nf_conntrack_max).toBeLessThanOrEqual(util);
          // and it is the smallest such multiple of 512
          if (r.nf_conntrack_max > 512) {
            expect(Math.ceil(peak * growth) / (r.nf_conntrack_max - 512)).toBeGreaterThan(util);
          }
        }
      }
    }
  });
  it("load factor 4 gives a quarter of the buckets", () => {
    const r = recommend(100_000, mem, { loadFactor: 4 });
    expect(r.nf_conntrack_buckets * 4).toBe(r.nf_conntrack_max);
    expect(r.nf_conntrack_buckets % 512).toBe(0);
  });
  it("memory cost at max: whole slabs plus the bucket array", () => {
    const r = recommend(30_000, mem);
    expect(r.targetUtil).toBe(DEFAULT_TARGET_UTIL);
    expect(r.memoryAtMax.slabBytes).toBe((r.nf_conntrack_max / 16) * 4096);
    expect(r.memoryAtMax.hashBytes).toBe(r.nf_conntrack_buckets * 8);
  });
  it("snippets carry the numbers", () => {
    const r = { nf_conntrack_max: 40960, nf_conntrack_buckets: 40960 };
    const s = sysctlSnippet(r, "test");
    const kv = s
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"))
      .map((l) => l.split("=").map((x) => x.trim()));
    expect(kv).toEqual([
      ["net.netfilter.nf_conntrack_max", "40960"],
      ["net.netfilter.nf_conntrack_buckets", "40960"],
    ]);
    expect(modprobeLine(r)).toBe("options nf_conntrack hashsize=40960");
  });
  it("the sysctl.d snippet reads back through ctreplay's own profile parser", () => {
    const r = recommend(123_456, mem, { growth: 1.2 });
    const parsed = parseSysctlText(sysctlSnippet(r, "round trip"), "90-conntrack.conf");
    expect(parsed).not.toBeInstanceOf(SysctlError);
    const v = (parsed as { values: Record<string, number> }).values;
    expect(v.nf_conntrack_max).toBe(r.nf_conntrack_max);
    expect(v.nf_conntrack_buckets).toBe(r.nf_conntrack_buckets);
  });
  it("parses RAM sizes", () => {
    expect(parseBytes("16G")).toBe(16 * GiB);
    expect(parseBytes("512MiB")).toBe(512 * MiB);
    expect(parseBytes("1.5g")).toBe(1.5 * GiB);
    expect(parseBytes("4096")).toBe(4096);
    expect(parseBytes("lots")).toBeNull();
  });
});
