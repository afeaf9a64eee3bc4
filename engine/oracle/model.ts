/**
 * ctreplay's side of a verification: `ctreplay replay replayed.pcap --end-time <dump_time> --dump-table OUT
 * --stats`, run as a child process of this same installation (the product command, not an internal shortcut),
 * so the comparison checks exactly what users run.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseConntrackS } from "./counters.js";
import { run } from "./exec.js";
import type { OracleEntry } from "./table.js";

export interface ModelSide {
  entries: OracleEntry[];
  /** Counters as ctreplay prints them for `--stats` (conntrack -S names). */
  stats: Record<string, number>;
  command: string[];
}

/** dist/engine/cli/main.js of this installation (also when this module runs from source, as in tests). */
export function cliMain(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const built = path.resolve(here, "../cli/main.js");
  return existsSync(built) ? built : path.resolve(here, "../../dist/engine/cli/main.js");
}

/** JSON-lines table dump (the oracle format) -> entries; bad lines are reported with their number. */
export function readTableJsonl(file: string): OracleEntry[] | string {
  const out: OracleEntry[] = [];
  const lines = readFileSync(file, "utf8").split("\n");
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as OracleEntry);
    } catch (e) {
      return `${file}: line ${i + 1}: ${(e as Error).message}`;
    }
  }
  return out;
}

export async function runCtreplayReplay(
  replayedPcap: string,
  endTime: number,
  opts: { outFile: string; sysctls?: [string, string][]; max?: number; buckets?: number },
): Promise<ModelSide | string> {
  const args = [
    cliMain(),
    "replay",
    replayedPcap,
    "--end-time",
    endTime.toFixed(6),
    "--dump-table",
    opts.outFile,
    "--stats",
  ];
  for (const [k, v] of opts.sysctls ?? []) args.push("--sysctl", `${k}=${v}`);
  // The kernel run's global table limits (nf_conntrack_max, the boot-time hash size) apply to the model too.
  if (opts.max !== undefined) args.push("--max", String(opts.max));
  if (opts.buckets !== undefined) args.push("--buckets", String(opts.buckets));
  const r = await run(process.execPath, args);
  const command = ["ctreplay", ...args.slice(1)];
  if (r.code !== 0) return `ctreplay replay failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`;
  const entries = readTableJsonl(opts.outFile);
  if (typeof entries === "string") return entries;
  return { entries, stats: parseConntrackS(r.stdout).total, command };
}
