/**
 * Kernel table and counters vs ctreplay's, entry by entry: entries match on (l3num, proto, orig tuple,
 * reply tuple); then state, flags, mark and zone must be equal and the remaining timeout within a tolerance
 * (the kernel prints floor(remaining) at the moment it dumps each entry, some ms after dump_time, and
 * jiffies lag real time by < 1/HZ: 1 s covers both; a slow dump widens the window by its duration). Counters compared: invalid, error, drop, early_drop.
 */
import type { OracleEntry, OracleTuple } from "./table.js";

export type DifferenceKind =
  | "missing"
  | "extra"
  | "state"
  | "flags"
  | "timeout"
  | "mark"
  | "zone"
  | "counter";

export interface Difference {
  kind: DifferenceKind;
  /** Entry id (see entryId) or counter name. */
  id: string;
  /** Kernel's value, ctreplay's value (null when the entry is absent on that side). */
  kernel: string | number | null;
  ctreplay: string | number | null;
}

export interface Comparison {
  kernelEntries: number;
  ctreplayEntries: number;
  /** Entries present on both sides with no difference at all. */
  identical: number;
  differences: Difference[];
}

export const COMPARED_COUNTERS = ["invalid", "error", "drop", "early_drop"] as const;

function tupleText(t: OracleTuple): string {
  if (t.sport !== undefined) return `${t.src}:${t.sport}>${t.dst}:${t.dport}`;
  if (t.type !== undefined) return `${t.src}>${t.dst} type=${t.type} code=${t.code} id=${t.id}`;
  if (t.srckey !== undefined) return `${t.src}>${t.dst} key=${t.srckey}/${t.dstkey}`;
  return `${t.src}>${t.dst}`;
}

/** Stable, readable id of an entry: "<l4> <orig tuple>" ("tcp 10.0.0.1:1234>10.0.0.2:80"); the reply tuple is
 *  added only when it is not the inverse of the original (it always is without NAT). */
export function entryId(e: OracleEntry): string {
  const o = e.orig;
  const r = e.reply;
  const inverse =
    o.src === r.dst && o.dst === r.src && o.sport === r.dport && o.dport === r.sport && o.srckey === r.dstkey;
  const l4 = e.l4 === "unknown" ? `proto${e.proto}` : e.l4;
  return `${e.l3 === "ipv6" ? "v6 " : ""}${l4} ${tupleText(o)}${inverse || e.l4 === "icmp" || e.l4 === "icmpv6" ? "" : ` reply ${tupleText(r)}`}`;
}

function matchKey(e: OracleEntry): string {
  const t = (x: OracleTuple) =>
    Object.keys(x)
      .sort()
      .map((k) => `${k}=${x[k]}`)
      .join(",");
  return `${e.l3num}|${e.proto}|${t(e.orig)}|${t(e.reply)}`;
}

export function compareTables(
  kernel: readonly OracleEntry[],
  model: readonly OracleEntry[],
  opts: { timeoutTol?: number; dumpSpan?: number } = {},
): Comparison {
  const tol = opts.timeoutTol ?? 1;
  // The kernel prints each entry when the dump reaches it, up to dumpSpan seconds after dump_time (when the
  // model is evaluated): its remaining times may be lower by that much more, never higher.
  const below = tol + Math.ceil(opts.dumpSpan ?? 0);
  const K = new Map(kernel.map((e) => [matchKey(e), e]));
  const M = new Map(model.map((e) => [matchKey(e), e]));
  const diffs: Difference[] = [];
  let identical = 0;
  for (const [k, e] of K) {
    const x = M.get(k);
    if (!x) {
      diffs.push({ kind: "missing", id: entryId(e), kernel: describe(e), ctreplay: null });
      continue;
    }
    const before = diffs.length;
    const id = entryId(e);
    if (e.state !== x.state) diffs.push({ kind: "state", id, kernel: e.state, ctreplay: x.state });
    if (e.flags.join(",") !== x.flags.join(",")) {
      diffs.push({ kind: "flags", id, kernel: e.flags.join(",") || "-", ctreplay: x.flags.join(",") || "-" });
    }
    if (String(e.mark) !== String(x.mark)) diffs.push({ kind: "mark", id, kernel: e.mark, ctreplay: x.mark });
    if (String(e.zone) !== String(x.zone)) diffs.push({ kind: "zone", id, kernel: e.zone, ctreplay: x.zone });
    if (e.timeout - x.timeout > tol || x.timeout - e.timeout > below) {
      diffs.push({ kind: "timeout", id, kernel: e.timeout, ctreplay: x.timeout });
    }
    if (diffs.length === before) identical++;
  }
  for (const [k, x] of M) {
    if (!K.has(k)) diffs.push({ kind: "extra", id: entryId(x), kernel: null, ctreplay: describe(x) });
  }
  return { kernelEntries: K.size, ctreplayEntries: M.size, identical, differences: diffs };
}

export function compareCounters(
  kernel: Record<string, number>,
  model: Record<string, number>,
  names: readonly string[] = COMPARED_COUNTERS,
): Difference[] {
  const out: Difference[] = [];
  for (const n of names) {
    const a = kernel[n] ?? 0;
    const b = model[n] ?? 0;
    if (a !== b) out.push({ kind: "counter", id: n, kernel: a, ctreplay: b });
  }
  return out;
}

function describe(e: OracleEntry): string {
  return `${e.state ?? "-"} ${e.flags.join(",") || "-"} timeout=${e.timeout}`;
}

export function formatDifference(d: Difference): string {
  switch (d.kind) {
    case "missing":
      return `missing in ctreplay: ${d.id} (kernel: ${d.kernel})`;
    case "extra":
      return `extra in ctreplay:   ${d.id} (ctreplay: ${d.ctreplay})`;
    case "counter":
      return `counter ${d.id}: kernel ${d.kernel}, ctreplay ${d.ctreplay}`;
    default:
      return `${d.kind} differs: ${d.id}: kernel ${d.kernel}, ctreplay ${d.ctreplay}`;
  }
}
