/**
 * `ctreplay compare`: one capture under several timeout profiles, side by side, with deltas against the
 * first profile: peak, p99, final, memory, drops, occupancy by state at the peak tick.
 */
import { fmtBytes } from "../stats/sizing.js";
import type { ReplayReport } from "./model.js";

export const COMPARE_SCHEMA = "ctreplay.compare/1";

export interface CompareMetricRow {
  metric: string;
  values: number[];
  /** value - first value, per profile. */
  deltas: number[];
}

export interface CompareReport {
  schema: typeof COMPARE_SCHEMA;
  files: string[];
  profiles: string[];
  rows: CompareMetricRow[];
  runs: ReplayReport[];
}

/** Entries by protocol / TCP state at the tick with the largest count. */
export function stateAtPeak(r: ReplayReport): Record<string, number> {
  let best = r.timeline[0];
  for (const row of r.timeline) if (best === undefined || row.count > best.count) best = row;
  const out: Record<string, number> = {};
  if (!best) return out;
  for (const [s, v] of Object.entries(best.tcpStates)) if (v > 0) out[`tcp ${s}`] = v;
  for (const [p, v] of Object.entries(best.byProto)) if (p !== "tcp" && v > 0) out[p] = v;
  return out;
}

export function buildCompareReport(runs: ReplayReport[]): CompareReport {
  const metric = (name: string, get: (r: ReplayReport) => number): CompareMetricRow => {
    const values = runs.map(get);
    return { metric: name, values, deltas: values.map((v) => v - values[0]!) };
  };
  const c = (k: string) => (r: ReplayReport) => r.counters[k] ?? 0;
  const rows = [
    metric("peak", (r) => r.peak.count),
    metric("p99", (r) => r.percentiles.p99),
    metric("p50", (r) => r.percentiles.p50),
    metric("final", (r) => r.final),
    metric("memoryPeakBytes", (r) => r.memory.peakBytes),
    metric("liveAtEnd", (r) => r.timeline[r.timeline.length - 1]?.live ?? 0),
    metric("expiredAtEnd", (r) => r.timeline[r.timeline.length - 1]?.expired ?? 0),
    metric("livePeak", (r) => r.timeline.reduce((a, row) => Math.max(a, row.live), 0)),
    metric("assuredAtEnd", (r) => r.timeline[r.timeline.length - 1]?.assured ?? 0),
    metric("unrepliedAtEnd", (r) => r.timeline[r.timeline.length - 1]?.unreplied ?? 0),
    metric("new", c("new")),
    metric("delete", c("delete")),
    metric("drop", c("drop")),
    metric("early_drop", c("early_drop")),
    metric("insert_failed", c("insert_failed")),
    metric("invalid", c("invalid")),
  ];
  const states = new Set<string>();
  const perRun = runs.map(stateAtPeak);
  for (const s of perRun) for (const k of Object.keys(s)) states.add(k);
  for (const s of [...states].sort()) {
    const values = perRun.map((p) => p[s] ?? 0);
    rows.push({ metric: `at peak: ${s}`, values, deltas: values.map((v) => v - values[0]!) });
  }
  return {
    schema: COMPARE_SCHEMA,
    files: runs[0]?.files ?? [],
    profiles: runs.map((r, i) => r.label ?? `profile ${i + 1}`),
    rows,
    runs,
  };
}

export function renderCompareText(c: CompareReport): string {
  const fmt = (metric: string, v: number): string =>
    metric === "memoryPeakBytes" ? fmtBytes(v) : Math.round(v).toLocaleString("en-US");
  const cell = (row: CompareMetricRow, i: number): string => {
    const v = fmt(row.metric, row.values[i]!);
    if (i === 0 || row.deltas[i] === 0) return v;
    const d = row.deltas[i]!;
    const base = row.values[0]!;
    const p = (d / base) * 100;
    const pct = base !== 0 ? ` ${d > 0 ? "+" : ""}${p.toFixed(Math.abs(p) < 10 ? 1 : 0)}%` : "";
    return `${v} (${d > 0 ? "+" : "-"}${fmt(row.metric, Math.abs(d))}${pct})`;
  };
  const head = ["", ...c.profiles];
  const body = c.rows.map((row) => [row.metric, ...c.profiles.map((_, i) => cell(row, i))]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join("  ");
  return [`ctreplay compare ${c.files.join(", ")}`, "", line(head), ...body.map(line)].join("\n");
}
