/**
 * Terminal summary of a replay report: the numbers operators look at first, a small occupancy chart
 * (asciichart), and the kernel-shaped lines.
 */
import asciichart from "asciichart";
import { MemoryModel } from "../stats/memory.js";
import { fmtBytes } from "../stats/sizing.js";
import { conntrackS, procNetStat, slabinfo } from "./kernel-text.js";
import type { ReplayReport } from "./model.js";

const n = (x: number): string => Math.round(x).toLocaleString("en-US");

/** Downsamples a series to at most `width` points by taking each bucket's maximum (keeps peaks visible). */
export function downsampleMax(values: readonly number[], width: number): number[] {
  if (values.length <= width) return [...values];
  const out: number[] = [];
  for (let i = 0; i < width; i++) {
    const a = Math.floor((i * values.length) / width);
    const b = Math.max(a + 1, Math.floor(((i + 1) * values.length) / width));
    let m = Number.NEGATIVE_INFINITY;
    for (let j = a; j < b; j++) m = Math.max(m, values[j]!);
    out.push(m);
  }
  return out;
}

/** A small chart of nf_conntrack_count over capture time (empty string when < 2 points). */
export function occupancyChart(r: ReplayReport, width = 60, height = 8): string {
  const counts = r.timeline.map((row) => row.count);
  if (counts.length < 2) return "";
  const series = downsampleMax(counts, width);
  const chart = asciichart.plot(series, { height, format: (x: number) => n(x).padStart(10) });
  const span = r.timeline[r.timeline.length - 1]!.t - r.timeline[0]!.t;
  return `${chart}\n${" ".repeat(12)}0 s${" ".repeat(Math.max(1, series.length - 6))}${span.toFixed(0)} s`;
}

export function renderSummary(
  r: ReplayReport,
  opts: { chart?: boolean; kernelLines?: boolean } = {},
): string {
  const L: string[] = [];
  const m = r.memory;
  L.push(`ctreplay ${r.label ? `[${r.label}] ` : ""}${r.files.join(", ")}`);
  L.push(
    `  packets ${n(r.packets)}  span ${r.capture.spanSec.toFixed(1)} s  replay ${r.throughput.elapsedSec.toFixed(2)} s ` +
      `(${n(r.throughput.packetsPerSec)} packets/s, ${r.throughput.mbPerSec.toFixed(1)} MB/s)`,
  );
  L.push(
    `  nf_conntrack_max ${r.settings.nf_conntrack_max === 0 ? "unlimited (0)" : n(r.settings.nf_conntrack_max)}  buckets ${n(r.settings.nf_conntrack_buckets)}  HZ ${r.settings.hz}`,
  );
  L.push(
    `  peak ${n(r.peak.count)} entries at +${r.peak.time.toFixed(1)} s${r.peak.upperBound > r.peak.count ? ` (between ticks at most ${n(r.peak.upperBound)})` : ""}   p50 ${n(r.percentiles.p50)}  p95 ${n(r.percentiles.p95)}  p99 ${n(r.percentiles.p99)}  final ${n(r.final)}`,
  );
  const c = r.counters;
  L.push(
    `  new ${n(c.new ?? 0)}  delete ${n(c.delete ?? 0)}  invalid ${n(c.invalid ?? 0)}  drop ${n(c.drop ?? 0)}  early_drop ${n(c.early_drop ?? 0)}  insert_failed ${n(c.insert_failed ?? 0)}`,
  );
  L.push(
    `  memory at peak ${fmtBytes(m.peakBytes)} = slab ${fmtBytes(m.slabBytes)} + ext ${fmtBytes(m.extBytes)} + hash ${fmtBytes(m.hashBytes)}` +
      `  (seed formula: ${fmtBytes(m.seedBytes)})`,
  );
  L.push(
    `  slab: ${m.geometry.stride} B objects, ${m.geometry.objsPerSlab} per ${m.geometry.slabBytes} B slab (${m.geometry.source})`,
  );
  if (r.chains.maxLen > 0) L.push(`  longest hash chain at a tick: ${r.chains.maxLen}`);
  for (const e of r.errors) L.push(`  capture error: ${e}`);
  if (opts.chart !== false) {
    const chart = occupancyChart(r);
    if (chart !== "") {
      const cols = Math.min(r.timeline.length, 60);
      const per =
        r.timeline.length > 60 ? `, max of ~${(r.timeline.length / 60).toFixed(1)} ticks per column` : "";
      L.push(
        "",
        `  nf_conntrack_count (${r.timeline.length} ticks every ${r.timelineInterval} s${per}; ${cols} columns):`,
        chart,
      );
    }
  }
  if (opts.kernelLines) {
    const mem = new MemoryModel(m.geometry, { ext: m.extension });
    L.push("", "conntrack -S:", conntrackS(c), "", "/proc/net/stat/nf_conntrack:", procNetStat(r.final, c));
    L.push("", "/proc/slabinfo (at peak, fresh cache):", slabinfo(mem, r.peak.count));
  }
  return L.join("\n");
}
