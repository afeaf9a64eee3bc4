/**
 * `ctreplay check`: per-capture metrics stored in a versioned baseline JSON and compared with tolerances.
 * A metric regresses when it grows beyond its tolerance (more entries, drops, memory); a drop beyond the
 * tolerance is reported as an improvement to record with --update-baseline, not as a failure.
 */
import type { JUnitCase } from "./junit.js";
import type { ReplayReport } from "./model.js";

export const BASELINE_SCHEMA = "ctreplay.baseline/1";

/** Metrics kept per capture (flat, stable names). */
export const CHECK_METRICS = [
  "packets",
  "peak",
  "final",
  "memoryPeakBytes",
  "new",
  "delete",
  "invalid",
  "error",
  "drop",
  "early_drop",
  "insert_failed",
] as const;
export type CheckMetric = (typeof CHECK_METRICS)[number];
export type Metrics = Record<CheckMetric, number>;

export interface BaselineEntry {
  metrics: Metrics;
  settings: { nf_conntrack_max: number; nf_conntrack_buckets: number; hz: number };
}

export interface Baseline {
  schema: typeof BASELINE_SCHEMA;
  tool: string;
  /** Keyed by capture path relative to the baseline file's directory ("/" separators). */
  captures: Record<string, BaselineEntry>;
}

export function metricsOf(r: ReplayReport): Metrics {
  const c = (k: string): number => r.counters[k] ?? 0;
  return {
    packets: r.packets,
    peak: r.peak.count,
    final: r.final,
    memoryPeakBytes: r.memory.peakBytes,
    new: c("new"),
    delete: c("delete"),
    invalid: c("invalid"),
    error: c("error"),
    drop: c("drop"),
    early_drop: c("early_drop"),
    insert_failed: c("insert_failed"),
  };
}

/** A tolerance: absolute amount or a fraction of the baseline value. */
export interface Tolerance {
  abs: number;
  rel: number;
}

export type Tolerances = Record<CheckMetric, Tolerance>;

/**
 * Parses `--tolerance` values: "5%" (every metric), "peak=5%", "drop=10", "peak=2%,memoryPeakBytes=8192".
 * Later specs override earlier ones; default is exact (0).
 */
export function parseTolerances(specs: readonly string[]): Tolerances | string {
  const t = Object.fromEntries(CHECK_METRICS.map((m) => [m, { abs: 0, rel: 0 }])) as Tolerances;
  const one = (v: string): Tolerance | null => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(v);
    if (!m) return null;
    return m[2] ? { abs: 0, rel: Number(m[1]) / 100 } : { abs: Number(m[1]), rel: 0 };
  };
  for (const spec of specs) {
    for (const part of spec.split(",")) {
      if (part.trim() === "") continue;
      const eq = part.indexOf("=");
      const value = one(eq < 0 ? part : part.slice(eq + 1));
      if (!value) return `bad tolerance "${part}" (expected N, N% or metric=N[%])`;
      if (eq < 0) {
        for (const m of CHECK_METRICS) t[m] = value;
        continue;
      }
      const name = part.slice(0, eq).trim();
      if (!(CHECK_METRICS as readonly string[]).includes(name)) {
        return `unknown metric "${name}" in --tolerance (known: ${CHECK_METRICS.join(", ")})`;
      }
      t[name as CheckMetric] = value;
    }
  }
  return t;
}

export type Verdict = "pass" | "regression" | "improved";

export interface MetricCheck {
  metric: CheckMetric;
  baseline: number;
  actual: number;
  delta: number;
  allowed: number;
  verdict: Verdict;
}

export function compareMetrics(base: Metrics, actual: Metrics, tol: Tolerances): MetricCheck[] {
  return CHECK_METRICS.map((metric) => {
    const b = base[metric] ?? 0;
    const a = actual[metric];
    const allowed = Math.max(tol[metric].abs, tol[metric].rel * Math.abs(b));
    const delta = a - b;
    const verdict: Verdict = delta > allowed ? "regression" : -delta > allowed ? "improved" : "pass";
    return { metric, baseline: b, actual: a, delta, allowed, verdict };
  });
}

export function checkCases(capture: string, checks: readonly MetricCheck[], timeSec = 0): JUnitCase[] {
  return checks.map((c, i) => {
    const tc: JUnitCase = { classname: capture, name: c.metric, timeSec: i === 0 ? timeSec : 0 };
    if (c.verdict === "regression") {
      tc.failure = `${c.metric} ${c.actual} > baseline ${c.baseline} (${c.delta >= 0 ? "+" : ""}${c.delta}, allowed +${c.allowed})`;
    }
    return tc;
  });
}

/** Validates parsed JSON as a baseline; a string describes what is wrong. */
export function validateBaseline(x: unknown): Baseline | string {
  if (typeof x !== "object" || x === null) return "baseline is not a JSON object";
  const o = x as Record<string, unknown>;
  if (o.schema !== BASELINE_SCHEMA)
    return `baseline schema is ${JSON.stringify(o.schema)}, expected "${BASELINE_SCHEMA}"`;
  if (typeof o.captures !== "object" || o.captures === null) return 'baseline has no "captures" object';
  for (const [k, v] of Object.entries(o.captures as Record<string, unknown>)) {
    const m = (v as { metrics?: Record<string, unknown> } | null)?.metrics;
    if (!m) return `baseline entry "${k}" has no metrics`;
    for (const name of ["peak", "final", "drop"]) {
      if (typeof m[name] !== "number") return `baseline entry "${k}" metric "${name}" is not a number`;
    }
  }
  return x as Baseline;
}

/** Baseline JSON with sorted keys so diffs in review stay small. */
export function serializeBaseline(b: Baseline): string {
  const captures: Record<string, BaselineEntry> = {};
  for (const k of Object.keys(b.captures).sort()) {
    const e = b.captures[k]!;
    captures[k] = {
      metrics: Object.fromEntries(CHECK_METRICS.map((m) => [m, e.metrics[m] ?? 0])) as Metrics,
      settings: e.settings,
    };
  }
  return `${JSON.stringify({ schema: b.schema, tool: b.tool, captures }, null, 2)}\n`;
}
