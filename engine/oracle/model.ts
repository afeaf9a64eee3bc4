/**
 * ctreplay's side of a verification: `ctreplay replay replayed.pcap --end-time <dump_time> --dump-table OUT
 * --stats`, run as a child process of this same installation (the product command, not an internal shortcut),
 * so the comparison checks exactly what users run.
 */
import { readFileSync } from "node:fs";
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

/** dist/engine/cli/main.js of this installation. */
export function cliMain(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../cli/main.js");
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
  opts: { outFile: string; sysctls?: [string, string][]; max?: number },
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
  if (opts.max !== undefined) args.push("--sysctl", `net.netfilter.nf_conntrack_max=${opts.max}`);
  const r = await run(process.execPath, args);
  const command = ["ctreplay", ...args.slice(1)];
  if (r.code !== 0) return `ctreplay replay failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`;
  const entries = readTableJsonl(opts.outFile);
  if (typeof entries === "string") return entries;
  return { entries, stats: parseConntrackS(r.stdout).total, command };
}
