/**
 * Command-line glue shared by replay/size/compare/check: the memory-model and output options, and writing
 * the chosen formats. `addReportOptions` + `emitReport` are what `ctreplay replay` calls to gain
 * --json/--csv/--prometheus/--html and the memory options.
 */
import { readFile, writeFile } from "node:fs/promises";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { CtSettings } from "../conntrack/settings.js";
import type { ReplayOptions, ReplayResult } from "../replay.js";
import { hasExtension, MemoryModel, resolveGeometry, SlabinfoError } from "../stats/memory.js";
import { Timeline } from "../stats/timeline.js";
import { renderCsv } from "./csv.js";
import { renderHtml } from "./html.js";
import type { ReplayReport } from "./model.js";
import { renderPrometheus } from "./prometheus.js";
import { reportFromResult, reportHooks } from "./run.js";
import { renderSummary } from "./terminal.js";

export interface MemoryCliOptions {
  slab?: string;
  slabinfo?: string;
  objectSize?: number;
  cpus?: number;
  eventListener?: boolean;
}

export interface OutputCliOptions {
  json?: boolean;
  csv?: string;
  prometheus?: string;
  html?: string;
  interval?: number;
  chart?: boolean;
  kernelText?: boolean;
}

export function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number > 0, got "${v}"`);
  return n;
}

export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected an integer > 0, got "${v}"`);
  return n;
}

export function addMemoryOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--slab <preset>", "nf_conntrack slab geometry preset: 6.18 | seed").default("6.18"),
    )
    .option("--slabinfo <file>", "read the geometry from a copy of the target's /proc/slabinfo")
    .option(
      "--object-size <bytes>",
      "sizeof(struct nf_conn) on the target (geometry via SLUB rules)",
      positiveInt,
    )
    .option("--cpus <n>", "present CPUs on the target (SLUB slab order)", positiveInt)
    .option("--event-listener", "a ctnetlink event listener runs (events=2 then allocates the ext blob)");
}

export function addOutputOptions(cmd: Command): Command {
  return cmd
    .option("--json", "print the report as JSON on stdout (stable, versioned by its schema field)")
    .option("--csv <file>", "write the timeline as CSV")
    .option("--prometheus <file>", "write Prometheus text exposition (node_exporter names + ctreplay_*)")
    .option("--html <file>", "write a self-contained HTML report")
    .option(
      "--interval <seconds>",
      "timeline tick interval (default: span/200 rounded to 1/2/5 x 10^k, min 1 s)",
      positiveNumber,
    )
    .option("--no-chart", "no terminal chart")
    .option("--kernel-text", "also print conntrack -S, /proc/net/stat/nf_conntrack and slabinfo lines");
}

/** Adds the memory and output options to a command (used by `ctreplay replay`). */
export function addReportOptions(cmd: Command): Command {
  return addOutputOptions(addMemoryOptions(cmd));
}

/** The memory model for these options and settings; a string says what is wrong. */
export async function memoryModelFor(
  o: MemoryCliOptions,
  settings: CtSettings,
): Promise<MemoryModel | string> {
  let slabinfoText: string | undefined;
  if (o.slabinfo !== undefined) {
    try {
      slabinfoText = await readFile(o.slabinfo, "utf8");
    } catch (e) {
      return `${o.slabinfo}: cannot read: ${(e as Error).message}`;
    }
  }
  const g = resolveGeometry({
    preset: o.slab,
    slabinfoText,
    slabinfoFile: o.slabinfo,
    objectSize: o.objectSize,
    cpus: o.cpus,
  });
  if (g instanceof SlabinfoError) return g.toString();
  if (typeof g === "string") return g;
  const s = settings.sysctl;
  const ext = hasExtension({
    nf_conntrack_acct: s.nf_conntrack_acct,
    nf_conntrack_timestamp: s.nf_conntrack_timestamp,
    nf_conntrack_events: s.nf_conntrack_events,
    eventListener: o.eventListener === true,
  });
  return new MemoryModel(g, { ext, cpus: o.cpus ?? 2 });
}

export function timelineFor(o: OutputCliOptions): Timeline {
  return new Timeline(o.interval !== undefined ? { interval: o.interval } : {});
}

/** Writes the file outputs; returns error messages (empty when all were written). */
export async function writeFileOutputs(
  o: OutputCliOptions,
  reports: readonly ReplayReport[],
  htmlExtra?: string,
): Promise<string[]> {
  const errors: string[] = [];
  const write = async (file: string, text: string): Promise<void> => {
    try {
      await writeFile(file, text);
    } catch (e) {
      errors.push(`${file}: cannot write: ${(e as Error).message}`);
    }
  };
  const first = reports[0];
  if (!first) return errors;
  if (o.csv !== undefined) {
    if (reports.length === 1) await write(o.csv, renderCsv(first.timeline));
    else {
      // One CSV per run: FILE with the label before the extension.
      for (const [i, r] of reports.entries()) {
        const tag = (r.label ?? `run${i + 1}`).replace(/[^A-Za-z0-9_.-]+/g, "_");
        await write(o.csv.replace(/(\.csv)?$/, `.${tag}.csv`), renderCsv(r.timeline));
      }
    }
  }
  if (o.prometheus !== undefined) {
    const text = reports
      .map((r, i) => renderPrometheus(r, reports.length > 1 ? { profile: r.label ?? `run${i + 1}` } : {}))
      .join("");
    // Several runs: one HELP/TYPE per metric name is required, so merge by dropping repeated headers.
    const seen = new Set<string>();
    const merged = text
      .split("\n")
      .filter((l) => {
        if (!l.startsWith("# ")) return true;
        if (seen.has(l)) return false;
        seen.add(l);
        return true;
      })
      .join("\n");
    await write(o.prometheus, reports.length > 1 ? groupByMetric(merged) : merged);
  }
  if (o.html !== undefined)
    await write(o.html, renderHtml(reports, htmlExtra ? { extraText: htmlExtra } : {}));
  return errors;
}

/** Reorders exposition lines so each metric's samples follow its HELP/TYPE (required by the format). */
function groupByMetric(text: string): string {
  const order: string[] = [];
  const groups = new Map<string, string[]>();
  for (const l of text.split("\n")) {
    if (l === "") continue;
    const name = l.startsWith("# ") ? l.split(" ")[2]! : l.split(/[{ ]/)[0]!;
    if (!groups.has(name)) {
      groups.set(name, []);
      order.push(name);
    }
    groups.get(name)!.push(l);
  }
  return `${order.flatMap((n) => groups.get(n)!).join("\n")}\n`;
}

/** Prints a replay report (terminal summary or JSON) and writes the file outputs. Returns the exit code. */
export async function emitReport(o: OutputCliOptions, r: ReplayReport): Promise<number> {
  if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  else
    process.stdout.write(
      `${renderSummary(r, { chart: o.chart !== false, kernelLines: o.kernelText === true })}\n`,
    );
  const errors = await writeFileOutputs(o, [r]);
  for (const e of errors) process.stderr.write(`ctreplay: ${e}\n`);
  return errors.length > 0 ? 2 : 0;
}

/** What `ctreplay replay` needs to produce reports: options for the driver and a finisher. */
export interface ReplayReportHook {
  /** --json: stdout carries only the JSON report. */
  readonly json: boolean;
  /** Spread into replayCaptures' options (timeline ticks). */
  readonly replayOptions: Pick<
    ReplayOptions,
    "onTick" | "nextTick" | "nextTickBound" | "tickHint" | "onProgress"
  >;
  /** Builds the report from the driver's result, writes file outputs; returns stdout text and exit code. */
  finish(r: ReplayResult, files: readonly string[]): Promise<{ stdout: string; code: number }>;
}

/**
 * For `ctreplay replay`: null when no report option was given (the command prints as before), an error
 * string for bad options, else the hook.
 */
export async function replayReportHook(
  o: MemoryCliOptions & OutputCliOptions,
  settings: CtSettings,
): Promise<ReplayReportHook | string | null> {
  const wanted = o.json || o.csv !== undefined || o.prometheus !== undefined || o.html !== undefined;
  if (!wanted && o.kernelText !== true) return null;
  const mem = await memoryModelFor(o, settings);
  if (typeof mem === "string") return mem;
  const tl = timelineFor(o);
  const hooks = reportHooks(tl, true);
  return {
    json: o.json === true,
    replayOptions: hooks.options,
    async finish(r, files) {
      hooks.stopProgress();
      const report = reportFromResult(r, files, settings, mem, tl, hooks.bytesByFile);
      const stdout = o.json
        ? `${JSON.stringify(report, null, 2)}\n`
        : `${renderSummary(report, { chart: o.chart !== false, kernelLines: o.kernelText === true })}\n`;
      const errors = await writeFileOutputs(o, [report]);
      for (const e of errors) process.stderr.write(`ctreplay: ${e}\n`);
      return { stdout, code: errors.length > 0 ? 2 : 0 };
    },
  };
}
