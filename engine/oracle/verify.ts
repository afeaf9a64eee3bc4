/**
 * Differential test against the real kernel: a kernel run (kernel.ts), then ctreplay's replay of exactly the
 * timeline the kernel saw (replayed.pcap, --end-time = dump time), then every difference (compare.ts).
 */
import path from "node:path";
import { type Comparison, compareCounters, compareTables, type Difference } from "./compare.js";
import { type KernelRun, type KernelRunOptions, OracleError, runKernel } from "./kernel.js";
import { type ModelSide, runCtreplayReplay } from "./model.js";

export interface VerifyOptions extends KernelRunOptions {
  /** Timeout tolerance in seconds (default 1). */
  timeoutTol?: number;
}

export interface VerifyResult {
  kernel: KernelRun;
  model: ModelSide;
  table: Comparison;
  counters: Difference[];
  /** table differences + counter differences. */
  differences: Difference[];
}

export async function verifyCapture(opts: VerifyOptions): Promise<VerifyResult | OracleError> {
  const kernel = await runKernel(opts);
  if (kernel instanceof OracleError) return kernel;
  const opt = {
    outFile: path.join(kernel.outDir, "ctreplay-table.jsonl"),
    // only conntrack's own sysctls mean something to ctreplay (net.ipv4.* etc. only shape the namespace)
    sysctls: (opts.sysctls ?? []).filter(([k]) => k.startsWith("net.netfilter.")),
    max: kernel.globalMax,
    buckets: kernel.buckets,
  };
  const model = await runCtreplayReplay(kernel.replayedPcap, kernel.dumpTime, opt);
  if (typeof model === "string") return new OracleError("system", model);
  const table = compareTables(kernel.entries, model.entries, {
    timeoutTol: opts.timeoutTol ?? 1,
    dumpSpan: kernel.dumpTimeEnd - kernel.dumpTime,
  });
  const counters = compareCounters(kernel.stats.total, model.stats);
  return { kernel, model, table, counters, differences: [...table.differences, ...counters] };
}
