/**
 * `ctreplay size` output: the capture's need (peak from an unlimited replay), ctreplay's recommendation,
 * the kernel's default for a RAM size and kube-proxy's rule side by side, the paste-ready lines, and the
 * forecast of a replay at a given nf_conntrack_max.
 */
import { MemoryModel } from "../stats/memory.js";
import {
  type Forecast,
  fmtBytes,
  kernelDefaults,
  kubeProxyMax,
  modprobeLine,
  type Recommendation,
  recommend,
  roundupBuckets,
  sysctlSnippet,
} from "../stats/sizing.js";
import { fullness, type ReplayReport } from "./model.js";

export const SIZE_SCHEMA = "ctreplay.size/1";

export interface SizingRow {
  /** What this row is ("capture need", "ctreplay recommended", "kernel default (16 GiB)", "kube-proxy (8 cores)", ...). */
  source: string;
  nf_conntrack_max: number;
  nf_conntrack_buckets: number;
  /** Peak / max (0 when max is 0 = unlimited). */
  peakUtil: number;
  /** Memory if the table fills to max. */
  memoryAtMaxBytes: number;
  verdict: string;
}

export interface SizeReport extends Omit<ReplayReport, "schema"> {
  schema: typeof SIZE_SCHEMA;
  recommended: {
    nf_conntrack_max: number;
    nf_conntrack_buckets: number;
    /** Memory at a full table with the recommendation (slab + ext + hash). */
    memoryBytes: number;
    /** Memory at the (grown) peak. */
    memoryAtNeedBytes: number;
    targetUtil: number;
    growth: number;
    loadFactor: number;
    need: number;
    sysctl: string;
    modprobe: string;
  };
  comparison: SizingRow[];
  forecast: Forecast | null;
}

/** Operators' alert levels on nf_conntrack_count / nf_conntrack_max. */
export function utilVerdict(util: number): string {
  if (util >= 1) return "FULL: early_drop / drops";
  if (util > 0.95) return "above 95 %: GC evicts unassured";
  if (util >= 0.9) return "alert (>= 90 %)";
  if (util >= 0.8) return "warning (>= 80 %)";
  return "ok";
}

export interface SizeOptions {
  targetUtil?: number;
  growth?: number;
  loadFactor?: number;
  ramBytes?: number;
  cores?: number;
  maxPerCore?: number;
  kubeMin?: number;
}

export function buildSizeReport(
  r: ReplayReport,
  mem: MemoryModel,
  opts: SizeOptions,
  forecastRun: ReplayReport | null,
): SizeReport {
  const rec: Recommendation = recommend(r.peak.count, mem, opts);
  const row = (source: string, max: number, buckets: number): SizingRow => {
    const util = max > 0 ? r.peak.count / max : 0;
    return {
      source,
      nf_conntrack_max: max,
      nf_conntrack_buckets: buckets,
      peakUtil: util,
      memoryAtMaxBytes: mem.totalBytes(max, buckets),
      verdict: max === 0 ? "unlimited" : utilVerdict(util),
    };
  };
  const needRow = row(`capture need (peak x ${rec.growth})`, rec.need, roundupBuckets(rec.need));
  needRow.verdict = "no headroom (reference)";
  const comparison: SizingRow[] = [
    needRow,
    row(
      `ctreplay recommended (peak at ${Math.round(rec.targetUtil * 100)} %)`,
      rec.nf_conntrack_max,
      rec.nf_conntrack_buckets,
    ),
  ];
  if (opts.ramBytes !== undefined) {
    const k = kernelDefaults(opts.ramBytes);
    comparison.push(row(`kernel default (${fmtBytes(opts.ramBytes)} RAM)`, k.max, k.buckets));
  }
  if (opts.cores !== undefined) {
    const kp = kubeProxyMax(opts.cores, opts.maxPerCore, opts.kubeMin);
    // kube-proxy sets nf_conntrack_max and hashsize = max / 4.
    if (kp !== null) comparison.push(row(`kube-proxy (${opts.cores} cores)`, kp, roundupBuckets(kp / 4)));
  }
  let forecast: Forecast | null = null;
  if (forecastRun) {
    const f = fullness(forecastRun);
    forecast = {
      max: forecastRun.settings.nf_conntrack_max,
      firstFullAt: f.firstFullAt,
      secondsFull: f.secondsFull,
      drop: forecastRun.counters.drop ?? 0,
      early_drop: forecastRun.counters.early_drop ?? 0,
      insert_failed: forecastRun.counters.insert_failed ?? 0,
      peak: forecastRun.peak.count,
    };
    comparison.push(
      row(`--max ${forecast.max} (replayed)`, forecast.max, forecastRun.settings.nf_conntrack_buckets),
    );
  }
  const { schema: _schema, ...rest } = r;
  return {
    ...rest,
    schema: SIZE_SCHEMA,
    recommended: {
      nf_conntrack_max: rec.nf_conntrack_max,
      nf_conntrack_buckets: rec.nf_conntrack_buckets,
      memoryBytes: rec.memoryAtMax.totalBytes,
      memoryAtNeedBytes: rec.memoryAtNeed.totalBytes,
      targetUtil: rec.targetUtil,
      growth: rec.growth,
      loadFactor: rec.loadFactor,
      need: rec.need,
      sysctl: sysctlSnippet(
        rec,
        `ctreplay: peak ${r.peak.count} x growth ${rec.growth} at ${Math.round(rec.targetUtil * 100)} % of max`,
      ),
      modprobe: modprobeLine(rec),
    },
    comparison,
    forecast,
  };
}

const n = (x: number): string => Math.round(x).toLocaleString("en-US");

export function renderSizeText(s: SizeReport): string {
  const L: string[] = [];
  const rec = s.recommended;
  L.push("", "Sizing");
  L.push(
    `  need ${n(rec.need)} entries (peak ${n(s.peak.count)} x growth ${rec.growth}); target utilisation ${Math.round(rec.targetUtil * 100)} %; buckets = max / ${rec.loadFactor}`,
  );
  L.push(
    `  recommended nf_conntrack_max ${n(rec.nf_conntrack_max)}, nf_conntrack_buckets ${n(rec.nf_conntrack_buckets)}: ` +
      `${fmtBytes(rec.memoryBytes)} if full, ${fmtBytes(rec.memoryAtNeedBytes)} at the need`,
  );
  const head = ["", "nf_conntrack_max", "buckets", "peak util", "memory if full", "verdict"];
  const rows = s.comparison.map((r) => [
    r.source,
    n(r.nf_conntrack_max),
    n(r.nf_conntrack_buckets),
    r.nf_conntrack_max > 0 ? `${(r.peakUtil * 100).toFixed(1)} %` : "-",
    fmtBytes(r.memoryAtMaxBytes),
    r.verdict,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]): string =>
    `  ${cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")}`.trimEnd();
  L.push("", fmt(head), ...rows.map(fmt));
  if (s.forecast) {
    const f = s.forecast;
    L.push("", `Forecast at nf_conntrack_max ${n(f.max)} (replayed):`);
    L.push(
      f.firstFullAt === null
        ? `  never full (peak ${n(f.peak)}, ${((f.peak / Math.max(1, f.max)) * 100).toFixed(1)} %)`
        : `  first full at +${f.firstFullAt.toFixed(1)} s, full for ~${f.secondsFull.toFixed(0)} s; drop ${n(f.drop)}, early_drop ${n(f.early_drop)}, insert_failed ${n(f.insert_failed)}`,
    );
  }
  L.push(
    "",
    "Paste-ready:",
    "",
    rec.sysctl.trimEnd(),
    "",
    "# /etc/modprobe.d/nf_conntrack.conf",
    rec.modprobe,
  );
  return L.join("\n");
}

/** The memory model a size report was computed with (for renderers that need it again). */
export function memoryOf(r: ReplayReport): MemoryModel {
  return new MemoryModel(r.memory.geometry, { ext: r.memory.extension });
}
