/**
 * Timeline as CSV (RFC 4180, one row per tick): time, counts, protocol and TCP-state columns, per-interval
 * counter deltas, chains, memory. Column names are stable; new columns are only ever appended.
 */
import { PROTO_NAMES, TCP_STATES, type TimelineRow } from "../stats/timeline.js";

export const CSV_COLUMNS: readonly string[] = [
  "t",
  "count",
  "live",
  "expired",
  "assured",
  "unreplied",
  ...PROTO_NAMES.map((p) => `proto_${p}`),
  ...TCP_STATES.map((s) => `tcp_${s}`),
  "new",
  "delete",
  "early_drop",
  "drop",
  "insert_failed",
  "invalid",
  "chain_mean",
  "chain_max",
  "buckets_used",
  "memory_bytes",
  "memory_retained_bytes",
];

function num(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(6).replace(/0+$/, "").replace(/\.$/, "");
}

export function renderCsv(rows: readonly TimelineRow[]): string {
  const out: string[] = [CSV_COLUMNS.join(",")];
  for (const r of rows) {
    const v: number[] = [r.t, r.count, r.live, r.expired, r.assured, r.unreplied];
    for (const p of PROTO_NAMES) v.push(r.byProto[p] ?? 0);
    for (const s of TCP_STATES) v.push(r.tcpStates[s] ?? 0);
    v.push(r.new, r.delete, r.early_drop, r.drop, r.insert_failed, r.invalid, r.chainMean, r.chainMax);
    v.push(r.bucketsUsed, r.memoryBytes, r.memoryRetainedBytes);
    out.push(v.map(num).join(","));
  }
  return `${out.join("\n")}\n`;
}
