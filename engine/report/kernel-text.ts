/**
 * The kernel's own text shapes, so numbers can be pasted next to a real host's: `conntrack -S`,
 * /proc/net/stat/nf_conntrack (ct_cpu_seq_show), and the nf_conntrack line of /proc/slabinfo.
 */
import { CONNTRACK_S_FIELDS } from "../conntrack/ct-stats.js";
import type { MemoryModel } from "../stats/memory.js";

/** conntrack -S counter names, in conntrack-tools' order (6.x kernels): one list, kept with the counters. */
export { CONNTRACK_S_FIELDS };

/** One `conntrack -S` line (ctreplay keeps one counter set, shown as cpu=0). */
export function conntrackS(counters: Record<string, number>, cpu = 0): string {
  const fields = CONNTRACK_S_FIELDS.map((f) => `${f}=${counters[f] ?? 0}`).join(" ");
  return `cpu=${String(cpu).padEnd(4)}\t${fields} `; // conntrack-tools prints a trailing space
}

/** ct_cpu_seq_show header (6.x). */
export const PROC_STAT_HEADER =
  "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart";

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, "0");

/**
 * /proc/net/stat/nf_conntrack as 6.x prints it: new, ignore and delete are printed as 0 by the kernel
 * since 5.x (ctreplay's own new/delete counters are in the JSON), counters are u32 hex.
 */
export function procNetStat(entries: number, c: Record<string, number>): string {
  const g = (k: string): number => c[k] ?? 0;
  const row =
    `${hex8(entries)}  ${hex8(g("clash_resolve"))} ${hex8(g("found"))} ${hex8(0)} ${hex8(g("invalid"))} ` +
    `${hex8(0)} ${hex8(0)} ${hex8(g("chaintoolong"))} ${hex8(g("insert"))} ${hex8(g("insert_failed"))} ` +
    `${hex8(g("drop"))} ${hex8(g("early_drop"))} ${hex8(g("error"))}  ${hex8(0)} ${hex8(0)} ${hex8(0)} ` +
    `${hex8(g("search_restart"))}`;
  return `${PROC_STAT_HEADER}\n${row}`;
}

/** /proc/slabinfo header + the nf_conntrack line for N objects. */
export function slabinfo(mem: MemoryModel, n: number): string {
  return [
    "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>",
    mem.slabinfoLine(n),
  ].join("\n");
}
