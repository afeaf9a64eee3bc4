/**
 * `ctreplay generate`: writes a deterministic synthetic capture (or a named test scenario).
 */
import type { Command } from "commander";
import { InvalidArgumentError, Option } from "commander";
import type { CaptureFormat, GenerateOptions, PresetName, ScenarioName } from "../../../captures/generate.js";
import {
  formatForPath,
  generateCapture,
  PRESET_NAMES,
  PRESETS,
  SCENARIO_NAMES,
} from "../../../captures/generate.js";
import { int } from "../options.js";

function num(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number`);
    return n;
  };
}

interface CliOpts {
  seed?: number;
  packets?: number;
  flows?: number;
  concurrent?: number;
  duration?: number;
  think?: number;
  ipv6Share?: number;
  format?: CaptureFormat;
  snaplen?: number;
  headersOnly?: boolean;
  preset?: PresetName;
  scenario?: ScenarioName;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command("generate")
    .description(
      "Write a deterministic synthetic capture (Ethernet, valid checksums): TCP/UDP/ICMP flows, ~10% IPv6.\n" +
        "Same options and seed give a byte-identical file. Output '-' writes to stdout.",
    )
    .argument("<output>", "output file (.pcap or .pcapng) or '-' for stdout")
    .option("--seed <n>", "PRNG seed", int("--seed"))
    .option("--packets <n>", "approximate number of packets (default 100000)", int("--packets"))
    .option("--flows <n>", "number of flows (overrides --packets)", int("--flows"))
    .option("--concurrent <n>", "flows in progress at once (default 1000)", int("--concurrent"))
    .option("--duration <s>", "target capture duration in seconds (sets think times)", num("--duration"))
    .option("--think <s>", "mean think time between exchanges when no --duration (default 5)", num("--think"))
    .option("--ipv6-share <f>", "share of IPv6 flows, 0..1 (default 0.1)", num("--ipv6-share"))
    .addOption(
      new Option("--format <fmt>", "output format (default: from the extension)").choices(["pcap", "pcapng"]),
    )
    .option("--snaplen <n>", "cut frames longer than n bytes (default 65535)", int("--snaplen"))
    .option("--headers-only", "cut every frame after its headers (caplen = headers, origlen = full length)")
    .addOption(new Option("--preset <name>", "named option set").choices([...PRESET_NAMES]))
    .addOption(new Option("--scenario <name>", "small test scenario").choices([...SCENARIO_NAMES]))
    .option("-q, --quiet", "no summary on stderr")
    .action(async (output: string, cli: CliOpts) => {
      const opts: Partial<GenerateOptions> = { ...(cli.preset ? PRESETS[cli.preset] : {}) };
      if (cli.seed !== undefined) opts.seed = cli.seed;
      if (cli.packets !== undefined) opts.packets = cli.packets;
      if (cli.flows !== undefined) opts.flows = cli.flows;
      if (cli.concurrent !== undefined) opts.concurrent = cli.concurrent;
      if (cli.duration !== undefined) opts.durationS = cli.duration;
      if (cli.think !== undefined) opts.thinkS = cli.think;
      if (cli.ipv6Share !== undefined) opts.ipv6Share = cli.ipv6Share;
      if (cli.snaplen !== undefined) opts.snaplen = cli.snaplen;
      if (cli.headersOnly) opts.headersOnly = true;
      if (cli.scenario) opts.scenario = cli.scenario;
      opts.format = formatForPath(output, cli.format ?? opts.format);
      let r: Awaited<ReturnType<typeof generateCapture>>;
      try {
        r = await generateCapture(output, opts);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === "EPIPE") return; // the reader of stdout went away (| head): stop quietly
        if (typeof e.code !== "string") throw err;
        process.stderr.write(`ctreplay generate: cannot write ${output}: ${e.message}\n`);
        process.exitCode = 2;
        return;
      }
      if (typeof r === "string") {
        process.stderr.write(`ctreplay generate: ${r}\n`);
        process.exitCode = 2;
        return;
      }
      if (!cli.quiet) {
        const secs = (r.lastUs - r.firstUs) / 1e6;
        process.stderr.write(
          `${output}: ${r.packets} packets (${r.ipv6Packets} IPv6), ${r.flows} flows (${r.ipv6Flows} IPv6), ` +
            `${(r.bytes / 1e6).toFixed(1)} MB ${r.format}, ${secs.toFixed(1)} s of traffic, ` +
            `concurrency max ${r.maxConcurrent} mean ${Math.round(r.meanConcurrent)}; ` +
            `generated in ${(r.elapsedMs / 1000).toFixed(2)} s\n`,
        );
      }
    });
}
