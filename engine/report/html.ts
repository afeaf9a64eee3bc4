/**
 * Self-contained HTML report (one file, inline CSS + SVG, no network): occupancy by state, count vs live,
 * memory, drops per interval, counters; several reports (compare) are overlaid on shared charts.
 */

import { fmtBytes } from "../stats/sizing.js";
import { PROTO_NAMES, TCP_STATES } from "../stats/timeline.js";
import { escXml } from "./junit.js";
import type { ReplayReport } from "./model.js";
import { chartSvg, PALETTE, type Series } from "./svg.js";

const CSS = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}.muted{color:#777}
svg.chart{display:block;margin:8px 0;background:#fff}svg .title{font-weight:600;font-size:13px}
svg .tick,svg .legend,svg .axis,svg .ref-label{font-size:11px;fill:#444}svg .grid{stroke:#eee}
svg .ref{stroke:#c00;stroke-dasharray:4 3}svg .ref-label{fill:#c00}
pre{background:#f6f6f6;padding:8px;overflow:auto}
`;

/** Marks the page once every chart path has a drawn, non-empty box (read by the browser test). */
const CHECK_SCRIPT = `
(function(){
  var paths=document.querySelectorAll("svg.chart path.series"),drawn=0;
  for(var i=0;i<paths.length;i++){var b=paths[i].getBBox();if(b.width>0||b.height>0)drawn++;}
  document.body.setAttribute("data-paths",String(paths.length));
  document.body.setAttribute("data-drawn",String(drawn));
})();
`;

function stateSeries(r: ReplayReport): Series[] {
  const xs = r.timeline.map((row) => row.t);
  const out: Series[] = [];
  let c = 0;
  for (const s of TCP_STATES) {
    const ys = r.timeline.map((row) => row.tcpStates[s] ?? 0);
    if (ys.some((y) => y > 0)) out.push({ label: `tcp ${s}`, color: PALETTE[c++ % PALETTE.length]!, xs, ys });
  }
  for (const p of PROTO_NAMES) {
    if (p === "tcp") continue;
    const ys = r.timeline.map((row) => row.byProto[p] ?? 0);
    if (ys.some((y) => y > 0)) out.push({ label: p, color: PALETTE[c++ % PALETTE.length]!, xs, ys });
  }
  return out;
}

function counterTable(reports: readonly ReplayReport[]): string {
  const keys = ["new", "delete", "invalid", "drop", "early_drop", "insert_failed", "error", "clash_resolve"];
  const head = `<tr><th></th>${reports.map((r, i) => `<th>${escXml(r.label ?? `run ${i + 1}`)}</th>`).join("")}</tr>`;
  const row = (name: string, get: (r: ReplayReport) => string): string =>
    `<tr><td>${escXml(name)}</td>${reports.map((r) => `<td>${escXml(get(r))}</td>`).join("")}</tr>`;
  const rows = [
    row("packets", (r) => r.packets.toLocaleString("en-US")),
    row("nf_conntrack_max", (r) => r.settings.nf_conntrack_max.toLocaleString("en-US")),
    row("peak entries", (r) => `${r.peak.count.toLocaleString("en-US")} at +${r.peak.time.toFixed(1)} s`),
    row("p50 / p95 / p99", (r) => `${r.percentiles.p50} / ${r.percentiles.p95} / ${r.percentiles.p99}`),
    row("final entries", (r) => r.final.toLocaleString("en-US")),
    row("memory at peak", (r) => fmtBytes(r.memory.peakBytes)),
    row(
      "slab / ext / hash",
      (r) =>
        `${fmtBytes(r.memory.slabBytes)} / ${fmtBytes(r.memory.extBytes)} / ${fmtBytes(r.memory.hashBytes)}`,
    ),
    ...keys.map((k) => row(k, (r) => String(r.counters[k] ?? 0))),
  ];
  return `<table>${head}${rows.join("")}</table>`;
}

export interface HtmlOptions {
  title?: string;
  /** Extra preformatted section (e.g. the sizing recommendation). */
  extraText?: string;
}

export function renderHtml(reports: readonly ReplayReport[], opts: HtmlOptions = {}): string {
  const title = opts.title ?? `ctreplay report: ${reports[0]?.files.join(", ") ?? ""}`;
  const parts: string[] = [];
  parts.push(`<h1>${escXml(title)}</h1>`);
  parts.push(
    `<p class="muted">Replayed through ctreplay's model of Linux nf_conntrack. nf_conntrack_count includes entries expired but not yet reaped, as the kernel counts them.</p>`,
  );
  parts.push("<h2>Summary</h2>", counterTable(reports));
  const maxOf = (r: ReplayReport) => ({
    y: r.settings.nf_conntrack_max,
    label: `nf_conntrack_max ${r.settings.nf_conntrack_max}`,
  });
  if (reports.length === 1) {
    const r = reports[0]!;
    const xs = r.timeline.map((row) => row.t);
    parts.push("<h2>Occupancy by state</h2>");
    parts.push(
      chartSvg(stateSeries(r), {
        title: "entries by protocol / TCP state",
        yLabel: "entries",
        stacked: true,
        refLine: maxOf(r),
      }),
    );
    parts.push(
      chartSvg(
        [
          { label: "nf_conntrack_count", color: PALETTE[0]!, xs, ys: r.timeline.map((row) => row.count) },
          { label: "live", color: PALETTE[4]!, xs, ys: r.timeline.map((row) => row.live) },
          {
            label: "ASSURED",
            color: PALETTE[1]!,
            xs,
            ys: r.timeline.map((row) => row.assured),
            dashed: true,
          },
          {
            label: "UNREPLIED",
            color: PALETTE[2]!,
            xs,
            ys: r.timeline.map((row) => row.unreplied),
            dashed: true,
          },
        ],
        { title: "count (incl. expired, not yet reaped) vs live", yLabel: "entries", refLine: maxOf(r) },
      ),
    );
    parts.push("<h2>Memory</h2>");
    parts.push(
      chartSvg(
        [
          {
            label: "fresh cache (slabs for the count)",
            color: PALETTE[6]!,
            xs,
            ys: r.timeline.map((row) => row.memoryBytes),
          },
          {
            label: "retained (slabs at the high-water mark)",
            color: PALETTE[9]!,
            xs,
            ys: r.timeline.map((row) => row.memoryRetainedBytes),
            dashed: true,
          },
        ],
        {
          title: `kernel memory (${r.memory.geometry.stride} B objects, ${r.memory.geometry.objsPerSlab} per slab)`,
          yLabel: "bytes",
          yFormat: (v) => fmtBytes(v),
          binary: true,
        },
      ),
    );
    parts.push("<h2>Churn and drops per interval</h2>");
    parts.push(
      chartSvg(
        [
          { label: "new", color: PALETTE[0]!, xs, ys: r.timeline.map((row) => row.new) },
          { label: "delete", color: PALETTE[3]!, xs, ys: r.timeline.map((row) => row.delete) },
          { label: "early_drop", color: PALETTE[1]!, xs, ys: r.timeline.map((row) => row.early_drop) },
          { label: "drop", color: PALETTE[2]!, xs, ys: r.timeline.map((row) => row.drop) },
        ],
        { title: `per ${r.timelineInterval} s interval`, yLabel: "events", bars: true },
      ),
    );
  } else {
    const color = (i: number): string => PALETTE[i % PALETTE.length]!;
    const lab = (r: ReplayReport, i: number): string => r.label ?? `run ${i + 1}`;
    const over = (get: (row: ReplayReport["timeline"][number]) => number): Series[] =>
      reports.map((r, i) => ({
        label: lab(r, i),
        color: color(i),
        xs: r.timeline.map((row) => row.t),
        ys: r.timeline.map(get),
      }));
    parts.push(
      "<h2>Occupancy</h2>",
      chartSvg(
        over((row) => row.count),
        { title: "nf_conntrack_count", yLabel: "entries" },
      ),
    );
    parts.push(
      chartSvg(
        over((row) => row.assured),
        { title: "ASSURED entries", yLabel: "entries" },
      ),
    );
    parts.push(
      chartSvg(
        over((row) => row.unreplied),
        { title: "UNREPLIED entries", yLabel: "entries" },
      ),
    );
    parts.push(
      "<h2>Memory</h2>",
      chartSvg(
        over((row) => row.memoryBytes),
        { title: "kernel memory", yLabel: "bytes", yFormat: (v) => fmtBytes(v), binary: true },
      ),
    );
    parts.push(
      "<h2>Drops</h2>",
      chartSvg(
        over((row) => row.drop + row.early_drop),
        { title: "drop + early_drop per interval", yLabel: "packets / entries" },
      ),
    );
    reports.forEach((r, i) => {
      parts.push(`<h2>Occupancy by state: ${escXml(lab(r, i))}</h2>`);
      parts.push(
        chartSvg(stateSeries(r), {
          title: `entries by protocol / TCP state (${lab(r, i)})`,
          yLabel: "entries",
          stacked: true,
        }),
      );
    });
  }
  if (opts.extraText) parts.push("<h2>Sizing</h2>", `<pre>${escXml(opts.extraText)}</pre>`);
  return [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escXml(title)}</title><style>${CSS}</style></head><body>`,
    ...parts,
    `<script>${CHECK_SCRIPT}</script>`,
    "</body></html>",
    "",
  ].join("\n");
}
