/**
 * `ctreplay replay CAPTURE...`: replays captures through the conntrack model and prints the result:
 * a summary, optionally the table (`conntrack -L` style), the counters (`conntrack -S` style) and a
 * JSON-lines table dump in the kernel oracle's format. Exit 2 on bad options/settings or capture errors
 * (partial results are still printed).
 */
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { InvalidArgumentError, Option } from "commander";
import { conntrackSText, tableJsonl, tableText } from "../../conntrack/dump.js";
import type { GcMode } from "../../conntrack/gc.js";
import { loadSettings, SysctlError, type SysctlProfile } from "../../conntrack/sysctl.js";
import type { ReplayResult } from "../../replay.js";
import {
  addReportOptions,
  type MemoryCliOptions,
  type OutputCliOptions,
  replayReportHook,
} from "../../report/cli-output.js";
import {
  DECODE_THREADS_HELP,
  isSharded,
  runReplayDriver,
  type ShardCliOptions,
  shardedConntrackS,
} from "../../shard/cli.js";
import { ShardWorkerError } from "../../shard/index.js";
import { collect, int } from "../options.js";

export interface ReplayCliOptions extends ShardCliOptions {
  dumpTable?: string;
  endTime?: number;
  list?: boolean;
  stats?: boolean;
  profile?: string;
  sysctl: string[];
  max?: number;
  buckets?: number;
  hz?: number;
  gc: GcMode;
  checksum: boolean;
  seed?: number;
  quiet?: boolean;
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError("--end-time must be epoch seconds");
  return n;
}

/**
 * Prints a replay's outcome (the one place the command writes results; extended by report options).
 * Returns the text for stdout.
 */
export function printReplayResult(r: ReplayResult, o: ReplayCliOptions, profile: SysctlProfile): string {
  const ct = r.conntrack;
  const now = r.endJiffies;
  let out = "";
  if (o.list) out += tableText(ct, now);
  if (o.stats) out += isSharded(r) ? shardedConntrackS(r) : conntrackSText(r.stats);
  if (!o.quiet) {
    const live = ct.liveCount(now);
    const s = r.stats;
    const d = r.decode.toJSON() as Record<string, unknown>;
    const lines = [
      `files: ${r.files.map((f) => `${f.file} (${f.records} records)`).join(", ")}`,
      `decoded: ${JSON.stringify(d)}`,
      `replayed packets: ${r.packets}${r.afterEnd ? ` (${r.afterEnd} after --end-time not replayed)` : ""}`,
      `time: first ${r.firstTime ?? "-"} last ${r.lastTime ?? "-"} evaluated at ${r.endTime ?? "-"}`,
      `nf_conntrack_count: ${ct.count} (live ${live}, expired not yet reaped ${ct.count - live})`,
      `settings: max ${ct.settings.max} buckets ${ct.settings.buckets} hz ${ct.settings.hz} checksum ${ct.settings.checksum ? 1 : 0} gc ${o.gc}`,
      `ct state at prerouting: new ${r.ctstate.new} est ${r.ctstate.est} rel ${r.ctstate.rel} invalid ${r.ctstate.invalid} untracked ${r.ctstate.untracked}`,
      `removed: gc ${s.gc_reaped} lazy ${s.lazy_reaped} gc-evicted ${s.gc_evicted} early_drop ${s.early_drop} (entries created ${s.new})`,
    ];
    if (ct.clockBackwards > 0)
      lines.push(`out-of-order timestamps: ${ct.clockBackwards} packets handled at the current (later) time`);
    if (profile.ignoredOther > 0)
      lines.push(`profile: ${profile.ignoredOther} non-conntrack sysctls ignored`);
    if (profile.ignoredUnmodeled.length > 0)
      lines.push(`profile: not modelled, ignored: ${profile.ignoredUnmodeled.join(", ")}`);
    for (const n of profile.notes) lines.push(`note: ${n}`);
    if (isSharded(r)) {
      lines.push(
        `sharded: ${r.shards} shards on ${r.threads} tracking threads (the main thread and ${r.threads - 1} worker thread${r.threads === 2 ? "" : "s"}; one global nf_conntrack_max), ` +
          `${r.decodeThreads} decode threads`,
      );
      if (r.interrupted) lines.push("interrupted (SIGINT): partial result, packets read before the signal");
    }
    out += `${lines.map((l) => `# ${l}`).join("\n")}\n`;
  }
  return out;
}

export function register(program: Command): void {
  program
    .command("replay")
    .description(
      "Replay captures through the nf_conntrack model and report the table and counters.\n" +
        "Files are replayed in the order given. Exit 2 on bad options or capture errors (partial results printed).",
    )
    .argument("<capture...>", "pcap / pcapng files (optionally gzip), '-' for stdin")
    .option(
      "--dump-table <file>",
      "write the live table as sorted JSON lines (kernel-oracle table.jsonl format)",
    )
    .option(
      "--end-time <epoch-seconds>",
      "evaluate the table at this time (later packets are not replayed)",
      seconds,
    )
    .option("--list", "print the live table like `conntrack -L`")
    .option("--stats", "print the counters like `conntrack -S`")
    .option("--profile <file>", "sysctl profile: sysctl.d file or `sysctl -a` output")
    .option(
      "--sysctl <key=value>",
      "override a conntrack sysctl (repeatable; net.netfilter. optional)",
      collect,
      [],
    )
    .option("--max <n>", "nf_conntrack_max (0 = unlimited)", int("--max"))
    .option("--buckets <n>", "nf_conntrack_buckets (rounded up to a multiple of 512)", int("--buckets"))
    .option("--hz <n>", "kernel HZ for jiffies (default 250)", int("--hz"))
    .addOption(new Option("--gc <mode>", "expiry model").choices(["kernel", "exact"]).default("kernel"))
    .option("--no-checksum", "nf_conntrack_checksum = 0 (do not reject bad L4 checksums)")
    .option("--seed <n>", "hash key / chain-limit PRNG seed", int("--seed"))
    .option("-q, --quiet", "no summary lines")
    .option(
      "--threads <n>",
      "track on N threads: the main thread (which also reads and decodes) and N-1 worker threads (default with --shards: available CPUs); 0 or 1 without --shards = in-process, one table",
      int("--threads"),
    )
    .option(
      "--shards <n>",
      "conntrack shards (default: 2N-1 for N threads: one on the main thread, two per worker thread; one global nf_conntrack_max)",
      int("--shards"),
    )
    .option("--decode-threads <n>", DECODE_THREADS_HELP, int("--decode-threads"))
    .action(async (files: string[], o: ReplayCliOptions) => {
      const loaded = await loadSettings({
        profile: o.profile,
        sysctl: o.sysctl,
        max: o.max,
        buckets: o.buckets,
        hz: o.hz,
        noChecksum: !o.checksum,
      });
      if (loaded instanceof SysctlError) {
        process.stderr.write(`ctreplay replay: ${loaded.toString()}\n`);
        process.exitCode = 2;
        return;
      }
      // --json/--csv/--prometheus/--html/--kernel-text (engine/report): timeline ticks + report at the end.
      const report = await replayReportHook(
        o as ReplayCliOptions & MemoryCliOptions & OutputCliOptions,
        loaded.settings,
      );
      if (typeof report === "string") {
        process.stderr.write(`ctreplay replay: ${report}\n`);
        process.exitCode = 2;
        return;
      }
      let r: ReplayResult;
      try {
        r = await runReplayDriver(files, loaded.settings, o, {
          gc: o.gc,
          ...(o.seed !== undefined ? { seed: o.seed } : {}),
          ...(o.endTime !== undefined ? { endTime: o.endTime } : {}),
          ...(report?.replayOptions ?? {}),
        });
      } catch (e) {
        if (!(e instanceof ShardWorkerError)) throw e;
        process.stderr.write(`ctreplay replay: ${e.message}\n`);
        process.exitCode = 1;
        return;
      }
      if (o.dumpTable !== undefined) {
        const text = tableJsonl(r.conntrack, r.endJiffies);
        if (o.dumpTable === "-") process.stdout.write(text);
        else await writeFile(o.dumpTable, text);
      }
      if (!report?.json) process.stdout.write(printReplayResult(r, o, loaded.profile));
      const finished = report ? await report.finish(r, files) : null;
      if (finished) process.stdout.write(finished.stdout);
      for (const e of r.captureErrors) process.stderr.write(`ctreplay replay: ${e.toString()}\n`);
      if (r.captureErrors.length > 0 || (finished?.code ?? 0) !== 0) process.exitCode = 2;
      if (isSharded(r) && r.interrupted) process.exitCode = 130;
    });
  addReportOptions(program.commands.find((c) => c.name() === "replay")!);
}
