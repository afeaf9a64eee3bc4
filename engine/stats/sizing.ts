/**
 * Table sizing as operators decide it: the kernel's own defaults for a RAM size (nf_conntrack_init_start,
 * reference §8), kube-proxy's rule, and ctreplay's recommendation from a replayed peak, with its memory
 * cost and paste-ready sysctl.d / modprobe lines.
 */
import type { MemoryBreakdown, MemoryModel } from "./memory.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** nf_ct_alloc_hashtable rounds the bucket count up to PAGE_SIZE / sizeof(hlist_nulls_head). */
export function roundupBuckets(n: number, pageSize = 4096): number {
  const unit = pageSize / 8;
  return Math.max(unit, Math.ceil(n / unit) * unit);
}

export interface KernelDefaults {
  buckets: number;
  max: number;
}

/**
 * nf_conntrack_init_start (5.15+): defaults from usable RAM (totalram_pages, slightly below installed RAM),
 * or from the `hashsize=` module parameter (then max = 8 x buckets).
 */
export function kernelDefaults(
  ramBytes: number,
  opts: { pageSize?: number; hashsize?: number } = {},
): KernelDefaults {
  const page = opts.pageSize ?? 4096;
  if (opts.hashsize !== undefined && opts.hashsize > 0) {
    const buckets = roundupBuckets(opts.hashsize, page);
    return { buckets, max: 8 * buckets };
  }
  const nrPages = Math.floor(ramBytes / page);
  let buckets = Math.floor((nrPages * page) / 16384 / 8);
  if (nrPages > (4 * GiB) / page) buckets = 262144;
  else if (nrPages > GiB / page) buckets = 65536;
  if (buckets < 1024) buckets = 1024;
  buckets = roundupBuckets(buckets, page);
  return { buckets, max: buckets };
}

/** kube-proxy --conntrack-max-per-core / --conntrack-min defaults. */
export const KUBE_PROXY_MAX_PER_CORE = 32768;
export const KUBE_PROXY_MIN = 131072;

/** kube-proxy's getConntrackMax: max(maxPerCore x cores, min); maxPerCore 0 leaves the kernel's value. */
export function kubeProxyMax(
  cores: number,
  maxPerCore = KUBE_PROXY_MAX_PER_CORE,
  min = KUBE_PROXY_MIN,
): number | null {
  if (maxPerCore <= 0) return null;
  return Math.max(maxPerCore * cores, min);
}

/**
 * Default target utilisation: the observed peak sits at 75 % of nf_conntrack_max, below the lowest
 * alert threshold operators commonly use (80 %), so a repeat of the capture's peak pages nobody and leaves
 * a quarter of the table for bursts before early_drop / drops start.
 */
export const DEFAULT_TARGET_UTIL = 0.75;

/**
 * Buckets per entry: ctreplay recommends nf_conntrack_buckets = nf_conntrack_max (load factor 1), the
 * ratio the kernel itself picks since 5.15. A bucket costs 8 bytes against 256 for an entry (3 %), and at
 * a full table the mean chain is 1, so lookups stay one cache miss; `max/4` (the pre-5.15 ratio) saves
 * 6 bytes per entry but quadruples chain walks at peak.
 */
export const DEFAULT_LOAD_FACTOR = 1;

export interface Recommendation {
  peak: number;
  targetUtil: number;
  growth: number;
  loadFactor: number;
  /** Entries the table must hold: peak x growth. */
  need: number;
  nf_conntrack_max: number;
  nf_conntrack_buckets: number;
  /** Memory if the table fills to nf_conntrack_max (the worst case the limit allows). */
  memoryAtMax: MemoryBreakdown;
  /** Memory at the grown peak. */
  memoryAtNeed: MemoryBreakdown;
  /** Utilisation of the recommended max at the capture's peak. */
  peakUtil: number;
}

/** ctreplay's recommendation: max = need / targetUtil rounded up to the kernel's 512 unit; buckets = max / loadFactor. */
export function recommend(
  peak: number,
  mem: MemoryModel,
  opts: { targetUtil?: number; growth?: number; loadFactor?: number; pageSize?: number } = {},
): Recommendation {
  const targetUtil = opts.targetUtil ?? DEFAULT_TARGET_UTIL;
  const growth = opts.growth ?? 1;
  const loadFactor = opts.loadFactor ?? DEFAULT_LOAD_FACTOR;
  const need = Math.ceil(peak * growth);
  const unit = (opts.pageSize ?? 4096) / 8;
  // A multiple of 512 so max / loadFactor is exactly a bucket count the kernel will not round again.
  const max = Math.max(unit, Math.ceil(need / targetUtil / (unit * loadFactor)) * unit * loadFactor);
  const buckets = roundupBuckets(max / loadFactor, opts.pageSize);
  return {
    peak,
    targetUtil,
    growth,
    loadFactor,
    need,
    nf_conntrack_max: max,
    nf_conntrack_buckets: buckets,
    memoryAtMax: mem.breakdown(max, buckets),
    memoryAtNeed: mem.breakdown(need, buckets),
    peakUtil: max === 0 ? 0 : peak / max,
  };
}

/** /etc/sysctl.d/ file content for a recommendation (module loaded first so the keys exist). */
export function sysctlSnippet(
  r: { nf_conntrack_max: number; nf_conntrack_buckets: number },
  comment: string,
): string {
  return [
    `# /etc/sysctl.d/90-conntrack.conf (${comment})`,
    "# nf_conntrack must be loaded before systemd-sysctl runs: /etc/modules-load.d/nf_conntrack.conf: nf_conntrack",
    `net.netfilter.nf_conntrack_max = ${r.nf_conntrack_max}`,
    "# writable in the initial netns only; same effect as the hashsize= module option",
    `net.netfilter.nf_conntrack_buckets = ${r.nf_conntrack_buckets}`,
    "",
  ].join("\n");
}

/** /etc/modprobe.d/ line: bucket count at module load (note: hashsize= alone sets max = 8 x buckets). */
export function modprobeLine(r: { nf_conntrack_buckets: number }): string {
  return `options nf_conntrack hashsize=${r.nf_conntrack_buckets}`;
}

/** Parses "16G", "512M", "1.5GiB", "2048" (bytes) into bytes; null when unreadable. */
export function parseBytes(s: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(i?[bB])?\s*$/.exec(s);
  if (!m) return null;
  const mult: Record<string, number> = { "": 1, k: 1024, m: MiB, g: GiB, t: 1024 * GiB };
  return Math.round(Number(m[1]) * mult[m[2]!.toLowerCase()]!);
}

/** Forecast at a given nf_conntrack_max, from a replay run with that max. */
export interface Forecast {
  max: number;
  /** Capture seconds (since the first packet) when count first reached max; null if it never did. */
  firstFullAt: number | null;
  /** How long (seconds, tick resolution) the table was at max. */
  secondsFull: number;
  drop: number;
  early_drop: number;
  insert_failed: number;
  peak: number;
}

/** Human units: 1536 -> "1.5 KiB". */
export function fmtBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}
