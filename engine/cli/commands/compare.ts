/**
 * `ctreplay compare CAPTURE... --profile A --profile B ...`: the same traffic under several timeout
 * profiles (sysctl.d files), side by side with deltas against the first: peak, p99, memory, drops at the
 * max, occupancy by state. With a single --profile, the kernel defaults are the first column.
 */
import path from "node:path";
import type { Command } from "commander";
import { loadSettings, SysctlError } from "../../conntrack/sysctl.js";
import {
  addMemoryOptions,
  addOutputOptions,
  type MemoryCliOptions,
  memoryModelFor,
  type OutputCliOptions,
  positiveInt,
  timelineFor,
  writeFileOutputs,
} from "../../report/cli-output.js";
import { buildCompareReport, renderCompareText } from "../../report/compare-report.js";
import type { ReplayReport } from "../../report/model.js";
import { runReplay } from "../../report/run.js";
import { addShardOptions, type ShardCliOptions, shardOptions, withShardPool } from "../../shard/cli.js";
import type { ShardPool } from "../../shard/shard-pool.js";
import { collect } from "../options.js";

interface CompareCliOptions extends MemoryCliOptions, OutputCliOptions, ShardCliOptions {
  profile: string[];
  sysctl: string[];
  max?: number;
  buckets?: number;
  hz?: number;
  checksum?: boolean;
}

function fail(msg: string): void {
  process.stderr.write(`ctreplay compare: ${msg}\n`);
  process.exitCode = 2;
}

export function register(program: Command): void {
  const cmd = program
    .command("compare")
    .description(
      "Replay the same captures under several timeout profiles (sysctl.d files) and compare them side by " +
        "side: peak, p99, memory, drops at the max, occupancy by state, with deltas against the first.",
    )
    .argument("<captures...>", "pcap / pcapng files (optionally gzip), replayed in order")
    .option(
      "--profile <file>",
      "timeout profile, sysctl.d format (repeatable; one alone is compared with defaults)",
      collect,
      [],
    )
    .option("--sysctl <key=value>", "override applied to every profile (repeatable)", collect, [])
    .option("--max <n>", "nf_conntrack_max for every profile (drops at this max)", positiveInt)
    .option("--buckets <n>", "nf_conntrack_buckets for every profile", positiveInt)
    .option("--hz <n>", "kernel CONFIG_HZ", positiveInt)
    .option("--no-checksum", "nf_conntrack_checksum = 0");
  addShardOptions(cmd);
  addOutputOptions(addMemoryOptions(cmd));
  cmd.action(
    withShardPool(async (pool: ShardPool, captures: string[], o: CompareCliOptions) => {
      if (o.profile.length === 0) return fail("give at least one --profile FILE");
      const profiles: (string | undefined)[] =
        o.profile.length === 1 ? [undefined, ...o.profile] : [...o.profile];
      const runs: ReplayReport[] = [];
      const used = new Set<string>();
      for (const p of profiles) {
        const loaded = await loadSettings({
          profile: p,
          sysctl: o.sysctl,
          max: o.max,
          buckets: o.buckets,
          hz: o.hz,
          noChecksum: o.checksum === false,
        });
        if (loaded instanceof SysctlError) return fail(loaded.toString());
        const mem = await memoryModelFor(o, loaded.settings);
        if (typeof mem === "string") return fail(mem);
        let label = p === undefined ? "defaults" : path.basename(p).replace(/\.conf$/, "");
        while (used.has(label)) label = `${label}'`;
        used.add(label);
        const { report } = await runReplay(captures, loaded.settings, mem, timelineFor(o), {
          label,
          ...shardOptions(o),
          pool,
        });
        if (report.errors.length > 0) {
          for (const e of report.errors) process.stderr.write(`ctreplay compare: ${e}\n`);
          process.exitCode = 2;
          return;
        }
        runs.push(report);
      }
      const c = buildCompareReport(runs);
      if (o.json) process.stdout.write(`${JSON.stringify(c, null, 2)}\n`);
      else process.stdout.write(`${renderCompareText(c)}\n`);
      const errors = await writeFileOutputs(o, runs);
      for (const e of errors) process.stderr.write(`ctreplay compare: ${e}\n`);
      process.exitCode = errors.length > 0 ? 2 : 0;
    }),
  );
}
