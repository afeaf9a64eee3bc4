/**
 * `ctreplay check CAPTURES-or-DIR --baseline FILE`: CI regression check. Each capture is replayed on its
 * own; peak, final entries, counters and memory are compared with the stored baseline within tolerances.
 * Exit 0 pass, 1 regression (or a capture without a baseline entry), 2 usage/input error.
 */
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { loadSettings, SysctlError } from "../../conntrack/sysctl.js";
import {
  BASELINE_SCHEMA,
  type Baseline,
  CHECK_METRICS,
  checkCases,
  compareMetrics,
  type MetricCheck,
  metricsOf,
  parseTolerances,
  serializeBaseline,
  validateBaseline,
} from "../../report/baseline.js";
import {
  addMemoryOptions,
  type MemoryCliOptions,
  memoryModelFor,
  positiveInt,
} from "../../report/cli-output.js";
import { type JUnitCase, renderJUnit } from "../../report/junit.js";
import { runReplay } from "../../report/run.js";
import { addShardOptions, type ShardCliOptions, shardOptions, withShardPool } from "../../shard/cli.js";
import type { ShardPool } from "../../shard/shard-pool.js";
import { Timeline } from "../../stats/timeline.js";
import { collect } from "../options.js";
import { VERSION } from "../version.js";

export const CHECK_SCHEMA = "ctreplay.check/1";

interface CheckCliOptions extends MemoryCliOptions, ShardCliOptions {
  baseline: string;
  updateBaseline?: boolean;
  tolerance: string[];
  junit?: string;
  json?: boolean;
  profile?: string;
  sysctl: string[];
  max?: number;
  buckets?: number;
  hz?: number;
  checksum?: boolean;
}

const CAPTURE_RE = /\.(pcap|pcapng|cap)(\.gz)?$/i;

/** Capture files named on the command line, directories searched recursively (sorted). */
async function expandInputs(inputs: readonly string[]): Promise<string[] | string> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (CAPTURE_RE.test(e.name)) out.push(p);
    }
  };
  for (const input of inputs) {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(input);
    } catch {
      return `${input}: no such file or directory`;
    }
    if (st.isDirectory()) await walk(input);
    else out.push(input);
  }
  if (out.length === 0)
    return `no captures (*.pcap, *.pcapng, *.cap, optionally .gz) in ${inputs.join(", ")}`;
  return out;
}

interface CaptureResult {
  capture: string;
  status: "pass" | "regression" | "missing-baseline" | "error" | "updated";
  checks: MetricCheck[];
  notes: string[];
}

export function register(program: Command): void {
  const cmd = program
    .command("check")
    .description(
      "CI regression check: replay each capture and compare peak, final entries, counters and memory with " +
        "a stored baseline. Exit 0 pass, 1 regression, 2 usage/input error.",
    )
    .argument("<captures...>", "capture files or directories (searched for *.pcap, *.pcapng, *.cap, .gz)")
    .requiredOption("--baseline <file>", "baseline JSON (schema ctreplay.baseline/1)")
    .option("--update-baseline", "write the current metrics into the baseline (creates it) and pass")
    .option(
      "--tolerance <spec>",
      `allowed growth: N, N% or metric=N[%] (repeatable, comma lists; metrics: ${CHECK_METRICS.join(", ")})`,
      collect,
      [],
    )
    .option("--junit <file>", "write JUnit XML (one testcase per capture x metric)")
    .option("--json", "print results as JSON")
    .option("--profile <file>", "timeout profile (sysctl.d format)")
    .option("--sysctl <key=value>", "sysctl override (repeatable)", collect, [])
    .option("--max <n>", "nf_conntrack_max", positiveInt)
    .option("--buckets <n>", "nf_conntrack_buckets", positiveInt)
    .option("--hz <n>", "kernel CONFIG_HZ", positiveInt)
    .option("--no-checksum", "nf_conntrack_checksum = 0");
  addShardOptions(cmd);
  addMemoryOptions(cmd);
  cmd.action(
    withShardPool(async (pool: ShardPool, inputs: string[], o: CheckCliOptions) => {
      const usage = (msg: string): void => {
        process.stderr.write(`ctreplay check: ${msg}\n`);
        process.exitCode = 2;
      };
      const tol = parseTolerances(o.tolerance);
      if (typeof tol === "string") return usage(tol);
      const files = await expandInputs(inputs);
      if (typeof files === "string") return usage(files);
      const loaded = await loadSettings({
        profile: o.profile,
        sysctl: o.sysctl,
        max: o.max,
        buckets: o.buckets,
        hz: o.hz,
        noChecksum: o.checksum === false,
      });
      if (loaded instanceof SysctlError) return usage(loaded.toString());
      const settings = loaded.settings;
      const mem = await memoryModelFor(o, settings);
      if (typeof mem === "string") return usage(mem);

      let baseline: Baseline = { schema: BASELINE_SCHEMA, tool: `ctreplay ${VERSION}`, captures: {} };
      let text: string | null = null;
      try {
        text = await readFile(o.baseline, "utf8");
      } catch {
        if (!o.updateBaseline)
          return usage(`${o.baseline}: cannot read baseline (create it with --update-baseline)`);
      }
      if (text !== null) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (e) {
          return usage(`${o.baseline}: not JSON: ${(e as Error).message}`);
        }
        const v = validateBaseline(parsed);
        if (typeof v === "string") return usage(`${o.baseline}: ${v}`);
        baseline = v;
      }
      const baseDir = path.dirname(path.resolve(o.baseline));
      const keyOf = (f: string): string => path.relative(baseDir, path.resolve(f)).split(path.sep).join("/");

      const results: CaptureResult[] = [];
      const cases: JUnitCase[] = [];
      const settingsNow = {
        nf_conntrack_max: settings.max,
        nf_conntrack_buckets: settings.buckets,
        hz: settings.hz,
      };
      for (const f of files) {
        const key = keyOf(f);
        const { report } = await runReplay([f], settings, mem, new Timeline(), {
          progress: false,
          ...shardOptions(o),
          pool,
        });
        if (report.errors.length > 0) {
          results.push({ capture: key, status: "error", checks: [], notes: report.errors });
          cases.push({
            classname: key,
            name: "read",
            error: report.errors.join("; "),
            timeSec: report.throughput.elapsedSec,
          });
          continue;
        }
        const metrics = metricsOf(report);
        if (o.updateBaseline) {
          baseline.captures[key] = { metrics, settings: settingsNow };
          results.push({ capture: key, status: "updated", checks: [], notes: [] });
          cases.push({ classname: key, name: "baseline", timeSec: report.throughput.elapsedSec });
          continue;
        }
        const entry = baseline.captures[key];
        if (!entry) {
          const msg = `no baseline entry for "${key}" in ${o.baseline} (record it with --update-baseline)`;
          results.push({ capture: key, status: "missing-baseline", checks: [], notes: [msg] });
          cases.push({ classname: key, name: "baseline", failure: msg });
          continue;
        }
        const checks = compareMetrics(entry.metrics, metrics, tol);
        const notes: string[] = [];
        const s = entry.settings;
        if (
          s &&
          (s.nf_conntrack_max !== settingsNow.nf_conntrack_max ||
            s.nf_conntrack_buckets !== settingsNow.nf_conntrack_buckets ||
            s.hz !== settingsNow.hz)
        ) {
          notes.push(
            `settings differ from the baseline's (max ${s.nf_conntrack_max} -> ${settingsNow.nf_conntrack_max}, buckets ${s.nf_conntrack_buckets} -> ${settingsNow.nf_conntrack_buckets}, hz ${s.hz} -> ${settingsNow.hz})`,
          );
        }
        for (const c of checks) {
          if (c.verdict === "improved")
            notes.push(`${c.metric} improved: ${c.baseline} -> ${c.actual} (update the baseline to keep it)`);
        }
        const regressed = checks.some((c) => c.verdict === "regression");
        results.push({ capture: key, status: regressed ? "regression" : "pass", checks, notes });
        cases.push(...checkCases(key, checks, report.throughput.elapsedSec));
      }

      if (o.updateBaseline) {
        try {
          await writeFile(o.baseline, serializeBaseline(baseline));
        } catch (e) {
          return usage(`${o.baseline}: cannot write: ${(e as Error).message}`);
        }
      }
      const anyError = results.some((r) => r.status === "error");
      const anyFail = results.some((r) => r.status === "regression" || r.status === "missing-baseline");
      const code = anyError ? 2 : anyFail ? 1 : 0;
      if (o.junit !== undefined) {
        try {
          await writeFile(o.junit, renderJUnit("ctreplay check", cases));
        } catch (e) {
          return usage(`${o.junit}: cannot write: ${(e as Error).message}`);
        }
      }
      if (o.json) {
        process.stdout.write(
          `${JSON.stringify({ schema: CHECK_SCHEMA, baseline: o.baseline, exitCode: code, results }, null, 2)}\n`,
        );
      } else {
        const L: string[] = [];
        for (const r of results) {
          const label = {
            pass: "PASS",
            regression: "FAIL",
            "missing-baseline": "FAIL",
            error: "ERROR",
            updated: "UPDATED",
          }[r.status];
          L.push(`${label.padEnd(7)} ${r.capture}`);
          for (const c of r.checks) {
            if (c.verdict === "regression") {
              L.push(
                `        ${c.metric}: ${c.actual} vs baseline ${c.baseline} (+${c.delta}, allowed +${c.allowed})`,
              );
            }
          }
          for (const n of r.notes) L.push(`        ${n}`);
        }
        const count = (s: CaptureResult["status"]): number => results.filter((r) => r.status === s).length;
        L.push(
          o.updateBaseline
            ? `baseline ${o.baseline}: ${count("updated")} captures recorded`
            : `${count("pass")} passed, ${count("regression") + count("missing-baseline")} failed${count("error") ? `, ${count("error")} errors` : ""}`,
        );
        process.stdout.write(`${L.join("\n")}\n`);
      }
      process.exitCode = code;
    }),
  );
}
