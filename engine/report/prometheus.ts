/**
 * Prometheus text exposition (format 0.0.4) of a replay's end state, using node_exporter's conntrack
 * metric names so dashboards and alerts written for real hosts read it unchanged, plus ctreplay_* series
 * for what only a replay knows (peak, percentiles, memory by kind).
 */
import type { ReplayReport } from "./model.js";

interface Metric {
  name: string;
  help: string;
  type: "gauge" | "counter";
  samples: { labels?: Record<string, string>; value: number }[];
}

/** node_exporter conntrack collector: stat name -> HELP text (all gauges there). */
const NODE_STATS: [string, string][] = [
  ["found", "Number of searched entries which were successful."],
  ["invalid", "Number of packets seen which can not be tracked."],
  ["ignore", "Number of packets seen which are already connected to a conntrack entry."],
  ["insert", "Number of entries inserted into the list."],
  ["insert_failed", "Number of entries for which list insertion was attempted but failed."],
  ["drop", "Number of packets dropped due to conntrack failure."],
  [
    "early_drop",
    "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.",
  ],
  ["search_restart", "Number of conntrack table lookups which had to be restarted due to hashtable resizes."],
];

function escLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function fmtValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return String(v);
}

export function renderPrometheus(r: ReplayReport, extraLabels: Record<string, string> = {}): string {
  const c = r.counters;
  const metrics: Metric[] = [
    {
      name: "node_nf_conntrack_entries",
      help: "Number of currently allocated flow entries for connection tracking.",
      type: "gauge",
      samples: [{ value: r.final }],
    },
    {
      name: "node_nf_conntrack_entries_limit",
      help: "Maximum size of connection tracking table.",
      type: "gauge",
      samples: [{ value: r.settings.nf_conntrack_max }],
    },
    ...NODE_STATS.map(
      ([k, help]): Metric => ({
        name: `node_nf_conntrack_stat_${k}`,
        help,
        type: "gauge",
        samples: [{ value: c[k] ?? 0 }],
      }),
    ),
    {
      name: "ctreplay_packets_total",
      help: "Packets replayed.",
      type: "counter",
      samples: [{ value: r.packets }],
    },
    {
      name: "ctreplay_entries_peak",
      help: "Largest nf_conntrack_count during the capture.",
      type: "gauge",
      samples: [{ value: r.peak.count }],
    },
    {
      name: "ctreplay_entries_peak_time_seconds",
      help: "Capture time of the peak, seconds since the first packet.",
      type: "gauge",
      samples: [{ value: r.peak.time }],
    },
    {
      name: "ctreplay_entries_quantile",
      help: "Quantiles of nf_conntrack_count over timeline ticks.",
      type: "gauge",
      samples: [
        { labels: { quantile: "0.5" }, value: r.percentiles.p50 },
        { labels: { quantile: "0.95" }, value: r.percentiles.p95 },
        { labels: { quantile: "0.99" }, value: r.percentiles.p99 },
      ],
    },
    {
      name: "ctreplay_memory_peak_bytes",
      help: "Kernel memory for conntrack at the peak count, by kind (slab, ext, hash).",
      type: "gauge",
      samples: [
        { labels: { kind: "slab" }, value: r.memory.slabBytes },
        { labels: { kind: "ext" }, value: r.memory.extBytes },
        { labels: { kind: "hash" }, value: r.memory.hashBytes },
      ],
    },
    {
      name: "ctreplay_nf_conntrack_buckets",
      help: "Hash table buckets (nf_conntrack_buckets) of the replayed table.",
      type: "gauge",
      samples: [{ value: r.settings.nf_conntrack_buckets }],
    },
    {
      name: "ctreplay_conntrack_events_total",
      help: "ctreplay's own cumulative counters (new, delete, gc and lazy reaping, error, clash_resolve, chaintoolong).",
      type: "counter",
      samples: [
        "new",
        "delete",
        "gc_reaped",
        "lazy_reaped",
        "gc_evicted",
        "error",
        "clash_resolve",
        "chaintoolong",
      ]
        .filter((k) => c[k] !== undefined)
        .map((k) => ({ labels: { event: k }, value: c[k]! })),
    },
  ];
  const lines: string[] = [];
  for (const m of metrics) {
    if (m.samples.length === 0) continue;
    lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
    for (const s of m.samples) {
      const labels = { ...extraLabels, ...(s.labels ?? {}) };
      const keys = Object.keys(labels);
      const ls = keys.length === 0 ? "" : `{${keys.map((k) => `${k}="${escLabel(labels[k]!)}"`).join(",")}}`;
      lines.push(`${m.name}${ls} ${fmtValue(s.value)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
