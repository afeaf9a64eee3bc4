/**
 * Kernel counters and memory as text -> numbers: `conntrack -S` (per-CPU ip_conntrack_stat, summed),
 * /proc/net/stat/nf_conntrack (hex, one line per CPU), the nf_conntrack line of /proc/slabinfo and
 * /sys/kernel/slab/<cache>/ attributes.
 */

export interface KernelStats {
  /** Sum over CPUs of every key=value `conntrack -S` prints (found, invalid, insert, insert_failed, drop, early_drop,
   *  error, search_restart, clash_resolve, chaintoolong). */
  total: Record<string, number>;
  perCpu: Record<string, number>[];
}

/** `conntrack -S` text (lines "cpu=0 found=0 invalid=3 ..."). */
export function parseConntrackS(text: string): KernelStats {
  const total: Record<string, number> = {};
  const perCpu: Record<string, number>[] = [];
  for (const line of text.split("\n")) {
    const d: Record<string, number> = {};
    for (const t of line.trim().split(/\s+/)) {
      const eq = t.indexOf("=");
      if (eq <= 0) continue;
      const n = Number(t.slice(eq + 1));
      if (Number.isInteger(n)) d[t.slice(0, eq)] = n;
    }
    if (d.cpu === undefined) continue;
    perCpu.push(d);
    for (const [k, v] of Object.entries(d)) if (k !== "cpu") total[k] = (total[k] ?? 0) + v;
  }
  return { total, perCpu };
}

/** /proc/net/stat/nf_conntrack: header line of names, then one hex line per CPU -> summed per name
 *  ("entries" is global, so it is taken from the first CPU line, not summed). */
export function parseProcStat(text: string): Record<string, number> {
  const lines = text.split("\n").filter((l) => l.trim());
  const names = (lines[0] ?? "").trim().split(/\s+/);
  const out: Record<string, number> = {};
  for (const [row, line] of lines.slice(1).entries()) {
    const vals = line.trim().split(/\s+/);
    names.forEach((n, i) => {
      const v = Number.parseInt(vals[i] ?? "0", 16);
      if (n === "entries") {
        if (row === 0) out[n] = v;
      } else out[n] = (out[n] ?? 0) + v;
    });
  }
  return out;
}

export interface SlabLine {
  name: string;
  activeObjs: number;
  numObjs: number;
  /** Bytes per object incl. SLUB metadata/alignment (s->size). */
  objsize: number;
  objPerSlab: number;
  pagesPerSlab: number;
  activeSlabs: number;
  numSlabs: number;
  /** numSlabs * pagesPerSlab * pageSize. */
  bytes: number;
}

/** One cache's line of /proc/slabinfo:
 *  name active_objs num_objs objsize objperslab pagesperslab : tunables a b c : slabdata active_slabs num_slabs shared */
export function parseSlabinfo(text: string, name = "nf_conntrack", pageSize = 4096): SlabLine | null {
  for (const line of text.split("\n")) {
    const p = line.trim().split(/\s+/);
    if (p[0] !== name || p.length < 15) continue;
    const n = (i: number): number => Number(p[i]);
    return {
      name,
      activeObjs: n(1),
      numObjs: n(2),
      objsize: n(3),
      objPerSlab: n(4),
      pagesPerSlab: n(5),
      activeSlabs: n(13),
      numSlabs: n(14),
      bytes: n(14) * n(5) * pageSize,
    };
  }
  return null;
}

/** /sys/kernel/slab/<cache>/<attr> values (first word of each file; "objects" is "N N0=.." -> N). */
export interface SysfsSlab {
  objects?: number;
  slabs?: number;
  objs_per_slab?: number;
  object_size?: number;
  slab_size?: number;
  order?: number;
}
