/**
 * Minimal inline-SVG charts for the offline HTML report: line and stacked-area charts on a numeric x axis.
 * Generated as strings (no DOM, no library, no network), so the report is one self-contained file.
 */
import { escXml } from "./junit.js";

export interface Series {
  label: string;
  color: string;
  xs: readonly number[];
  ys: readonly number[];
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  yLabel: string;
  xLabel?: string;
  width?: number;
  height?: number;
  /** Stack the series as areas (occupancy by state). */
  stacked?: boolean;
  /** Draw series as bars per x (per-interval counters). */
  bars?: boolean;
  /** Horizontal reference line (e.g. nf_conntrack_max). */
  refLine?: { y: number; label: string };
  yFormat?: (v: number) => string;
  /** Y values are bytes: grid steps of 1/2/5 x a power of 1024 so labels read 512 KiB, 1 MiB, ... */
  binary?: boolean;
}

/** Palette with distinct hues (colour-blind friendly Tableau 10). */
export const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];

/** 1/2/5 x 10^k tick step for a range. */
function niceStep(range: number, ticks: number): number {
  if (!(range > 0)) return 1;
  const raw = range / ticks;
  const k = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * k >= raw) return m * k;
  return 10 * k;
}

export function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(a >= 1e10 ? 0 : 1)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(a >= 1e4 ? 0 : 1)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

const f = (x: number): string => (Math.round(x * 10) / 10).toString();

export function chartSvg(series: readonly Series[], o: ChartOptions): string {
  const W = o.width ?? 760;
  const H = o.height ?? 260;
  const m = { l: 64, r: 16, t: 44, b: 40 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const yFmt = o.yFormat ?? compact;
  // Stacked: cumulative tops per series.
  const tops: number[][] = [];
  for (let s = 0; s < series.length; s++) {
    const ys = series[s]!.ys;
    tops.push(ys.map((y, i) => (o.stacked && s > 0 ? tops[s - 1]![i]! : 0) + y));
  }
  let xmin = Number.POSITIVE_INFINITY;
  let xmax = Number.NEGATIVE_INFINITY;
  let ymax = 0;
  for (let s = 0; s < series.length; s++) {
    for (const x of series[s]!.xs) {
      xmin = Math.min(xmin, x);
      xmax = Math.max(xmax, x);
    }
    for (const y of tops[s]!) ymax = Math.max(ymax, y);
  }
  if (o.refLine && o.refLine.y <= ymax * 2) ymax = Math.max(ymax, o.refLine.y);
  if (!Number.isFinite(xmin)) {
    xmin = 0;
    xmax = 1;
  }
  if (xmax === xmin) xmax = xmin + 1;
  if (ymax <= 0) ymax = 1;
  let unit = 1;
  if (o.binary) while (ymax / unit >= 1024) unit *= 1024;
  const step = niceStep(ymax / unit, 5) * unit;
  ymax = Math.ceil(ymax / step) * step;
  const X = (x: number): number => m.l + ((x - xmin) / (xmax - xmin)) * pw;
  const Y = (y: number): number => m.t + ph - (y / ymax) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escXml(o.title)}">`,
  );
  out.push(`<text x="${m.l}" y="18" class="title">${escXml(o.title)}</text>`);
  // Grid and y ticks.
  for (let y = 0; y <= ymax + 1e-9; y += step) {
    out.push(`<line class="grid" x1="${m.l}" x2="${m.l + pw}" y1="${f(Y(y))}" y2="${f(Y(y))}"/>`);
    out.push(
      `<text class="tick" x="${m.l - 6}" y="${f(Y(y) + 4)}" text-anchor="end">${escXml(yFmt(y))}</text>`,
    );
  }
  const xstep = niceStep(xmax - xmin, 6);
  for (let x = Math.ceil(xmin / xstep) * xstep; x <= xmax + 1e-9; x += xstep) {
    out.push(
      `<text class="tick" x="${f(X(x))}" y="${m.t + ph + 16}" text-anchor="middle">${escXml(compact(x))}</text>`,
    );
  }
  out.push(
    `<text class="axis" x="${m.l + pw / 2}" y="${H - 6}" text-anchor="middle">${escXml(o.xLabel ?? "capture time (s)")}</text>`,
  );
  out.push(
    `<text class="axis" transform="translate(12 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${escXml(o.yLabel)}</text>`,
  );
  // Data.
  for (let s = 0; s < series.length; s++) {
    const sr = series[s]!;
    if (sr.xs.length === 0) continue;
    const top = tops[s]!;
    if (o.bars) {
      const bw = Math.max(1, pw / Math.max(1, sr.xs.length) / series.length);
      const d: string[] = [];
      for (let i = 0; i < sr.xs.length; i++) {
        const y = sr.ys[i]!;
        if (y <= 0) continue;
        const x0 = X(sr.xs[i]!) - (bw * series.length) / 2 + s * bw;
        d.push(`M${f(x0)} ${f(Y(0))}V${f(Y(y))}h${f(bw)}V${f(Y(0))}Z`);
      }
      out.push(
        `<path class="series bars" data-series="${escXml(sr.label)}" data-points="${sr.xs.length}" fill="${sr.color}" d="${d.join("") || `M${m.l} ${f(Y(0))}h0`}"><title>${escXml(sr.label)}</title></path>`,
      );
      continue;
    }
    const line = sr.xs.map((x, i) => `${i === 0 ? "M" : "L"}${f(X(x))} ${f(Y(top[i]!))}`).join("");
    if (o.stacked) {
      const below = s > 0 ? tops[s - 1]! : sr.xs.map(() => 0);
      const back = sr.xs
        .map((x, i) => `L${f(X(x))} ${f(Y(below[i]!))}`)
        .reverse()
        .join("");
      out.push(
        `<path class="series area" data-series="${escXml(sr.label)}" data-points="${sr.xs.length}" fill="${sr.color}" fill-opacity="0.85" stroke="none" d="${line}${back}Z"><title>${escXml(sr.label)}</title></path>`,
      );
    } else {
      out.push(
        `<path class="series line" data-series="${escXml(sr.label)}" data-points="${sr.xs.length}" fill="none" stroke="${sr.color}" stroke-width="2"${sr.dashed ? ' stroke-dasharray="6 4"' : ""} d="${line}"><title>${escXml(sr.label)}</title></path>`,
      );
    }
  }
  if (o.refLine && o.refLine.y <= ymax) {
    const y = f(Y(o.refLine.y));
    out.push(`<line class="ref" x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}"/>`);
    out.push(
      `<text class="ref-label" x="${m.l + pw - 4}" y="${Number(y) - 4}" text-anchor="end">${escXml(o.refLine.label)}</text>`,
    );
  }
  // Legend.
  let lx = m.l + 8;
  const lg: string[] = [];
  for (const sr of series) {
    lg.push(`<rect x="${lx}" y="24" width="10" height="10" fill="${sr.color}"/>`);
    lg.push(`<text class="legend" x="${lx + 14}" y="33">${escXml(sr.label)}</text>`);
    lx += 24 + sr.label.length * 6.5;
  }
  out.push(`<g class="legend">${lg.join("")}</g>`);
  out.push("</svg>");
  return out.join("\n");
}
