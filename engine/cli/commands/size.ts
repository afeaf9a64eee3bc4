/**
 * `ctreplay size CAPTURE...`: how big nf_conntrack must be for this traffic. Replays with no table limit
 * to measure the need, recommends nf_conntrack_max / buckets for a target utilisation and growth, prices
 * it in kernel memory, compares with the kernel's default for a RAM size and kube-proxy's rule, prints
 * paste-ready sysctl.d / modprobe lines, and with --max N forecasts drops from a second replay at N.
 */
import { type Command, InvalidArgumentError } from "commander";
import { resolveSettings } from "../../conntrack/settings.js";
import { loadSettings, SysctlError } from "../../conntrack/sysctl.js";
import {
  addMemoryOptions,
  addOutputOptions,
  type MemoryCliOptions,
  memoryModelFor,
  type OutputCliOptions,
  positiveInt,
  positiveNumber,
  timelineFor,
  writeFileOutputs,
} from "../../report/cli-output.js";
import { runReplay } from "../../report/run.js";
import { buildSizeReport, renderSizeText } from "../../report/sizing-report.js";
import { renderSummary } from "../../report/terminal.js";
import { addShardOptions, type ShardCliOptions, shardOptions, withShardPool } from "../../shard/cli.js";
import type { ShardPool } from "../../shard/shard-pool.js";
import { DEFAULT_LOAD_FACTOR, DEFAULT_TARGET_UTIL, parseBytes } from "../../stats/sizing.js";
import { collect, int } from "../options.js";

interface SizeCliOptions extends MemoryCliOptions, OutputCliOptions, ShardCliOptions {
  profile?: string;
  sysctl: string[];
  hz?: number;
  checksum?: boolean;
  targetUtil: number;
  growth: number;
  loadFactor: number;
  ram?: number;
  cores?: number;
  maxPerCore?: number;
  kubeMin?: number;
  max?: number;
  buckets?: number;
}

function fraction(v: string): number {
  const n = Number(v.endsWith("%") ? Number(v.slice(0, -1)) / 100 : v);
  if (!Number.isFinite(n) || n <= 0 || n > 1)
    throw new InvalidArgumentError(`expected 0 < x <= 1 (or 1..100 %), got "${v}"`);
  return n;
}

function bytes(v: string): number {
  const n = parseBytes(v);
  if (n === null || n <= 0) throw new InvalidArgumentError(`expected a size like 16G, 512M, got "${v}"`);
  return n;
}

function fail(msg: string): void {
  process.stderr.write(`ctreplay size: ${msg}\n`);
  process.exitCode = 2;
}

export function register(program: Command): void {
  const cmd = program
    .command("size")
    .description(
      "Size nf_conntrack for the traffic in the captures: peak need, recommended nf_conntrack_max and " +
        "buckets, kernel memory, sysctl.d + modprobe lines; --ram/--cores compare with the kernel default and " +
        "kube-proxy; --max N forecasts when the table fills and how many packets are dropped.",
    )
    .argument("<captures...>", "pcap / pcapng files (optionally gzip), replayed in order")
    .option("--profile <file>", "timeout profile (sysctl.d format or `sysctl -a` output)")
    .option("--sysctl <key=value>", "sysctl override (repeatable)", collect, [])
    .option("--hz <n>", "kernel CONFIG_HZ (jiffies per second)", positiveInt)
    .option("--no-checksum", "nf_conntrack_checksum = 0")
    .option(
      "--target-util <x>",
      "peak / nf_conntrack_max to size for (0.75 keeps the peak below the usual 80 % alert)",
      fraction,
      DEFAULT_TARGET_UTIL,
    )
    .option("--growth <x>", "traffic growth factor applied to the peak", positiveNumber, 1)
    .option(
      "--load-factor <x>",
      "entries per bucket at nf_conntrack_max (1 = the kernel's own ratio since 5.15)",
      positiveNumber,
      DEFAULT_LOAD_FACTOR,
    )
    .option("--ram <size>", "compare with the kernel's default for this RAM (e.g. 16G)", bytes)
    .option("--cores <n>", "compare with kube-proxy's rule for this many cores", positiveInt)
    .option(
      "--max-per-core <n>",
      "kube-proxy --conntrack-max-per-core (default 32768)",
      int("--max-per-core"),
    )
    .option("--kube-min <n>", "kube-proxy --conntrack-min (default 131072)", int("--kube-min"))
    .option("--max <n>", "forecast: replay again with nf_conntrack_max = N", positiveInt)
    .option(
      "--buckets <n>",
      "nf_conntrack_buckets for the replays (default: the profile's / 262144)",
      positiveInt,
    );
  addShardOptions(addOutputOptions(addMemoryOptions(cmd)));
  cmd.action(
    withShardPool(async (pool: ShardPool, captures: string[], o: SizeCliOptions) => {
      const loaded = await loadSettings({
        profile: o.profile,
        sysctl: o.sysctl,
        hz: o.hz,
        buckets: o.buckets,
        noChecksum: o.checksum === false,
      });
      if (loaded instanceof SysctlError) return fail(loaded.toString());
      // The need: the same settings without a table limit (nf_conntrack_max = 0).
      const unlimited = resolveSettings(
        { ...loaded.settings.sysctl, nf_conntrack_max: 0 },
        loaded.settings.hz,
      );
      const mem = await memoryModelFor(o, unlimited);
      if (typeof mem === "string") return fail(mem);
      const need = await runReplay(captures, unlimited, mem, timelineFor(o), {
        label: "need",
        ...shardOptions(o),
        pool,
      });
      for (const e of need.report.errors) process.stderr.write(`ctreplay size: ${e}\n`);
      if (need.report.packets === 0) {
        return fail(
          `no packets replayed from ${captures.join(", ")}${need.report.errors.length ? " (see errors above)" : ""}`,
        );
      }
      let forecastRun = null;
      if (o.max !== undefined) {
        const limited = resolveSettings(
          { ...loaded.settings.sysctl, nf_conntrack_max: o.max },
          loaded.settings.hz,
        );
        forecastRun = (
          await runReplay(captures, limited, mem, timelineFor(o), {
            label: `max ${o.max}`,
            ...shardOptions(o),
            pool,
          })
        ).report;
      }
      const size = buildSizeReport(
        need.report,
        mem,
        {
          targetUtil: o.targetUtil,
          growth: o.growth,
          loadFactor: o.loadFactor,
          ...(o.ram !== undefined ? { ramBytes: o.ram } : {}),
          ...(o.cores !== undefined ? { cores: o.cores } : {}),
          ...(o.maxPerCore !== undefined ? { maxPerCore: o.maxPerCore } : {}),
          ...(o.kubeMin !== undefined ? { kubeMin: o.kubeMin } : {}),
        },
        forecastRun,
      );
      const text = renderSizeText(size);
      if (o.json) process.stdout.write(`${JSON.stringify(size, null, 2)}\n`);
      else {
        const summary = renderSummary(need.report, {
          chart: o.chart !== false,
          kernelLines: o.kernelText === true,
        });
        process.stdout.write(`${summary}\n${text}\n`);
      }
      const runs = forecastRun ? [need.report, forecastRun] : [need.report];
      const errors = await writeFileOutputs(o, runs, text);
      for (const e of errors) process.stderr.write(`ctreplay size: ${e}\n`);
      process.exitCode = errors.length > 0 || need.report.errors.length > 0 ? 2 : 0;
    }),
  );
}
