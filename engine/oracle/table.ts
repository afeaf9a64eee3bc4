/**
 * The kernel's conntrack table as text (`conntrack -L -o extended`, same fields as /proc/net/nf_conntrack)
 * -> normalized entries, in the kernel-oracle tool's JSON-lines format (one entry per line, sorted, keys
 * sorted, Python json.dumps layout), so a ctreplay table dump and a kernel dump diff line by line.
 *
 *  ipv4 2 tcp 6 431999 ESTABLISHED src=.. dst=.. sport=.. dport=.. [packets=.. bytes=..]
 *       [UNREPLIED] src=.. dst=.. sport=.. dport=.. [packets=.. bytes=..] [ASSURED] mark=0 [zone=..] use=1
 */
import { type PyJson, pyJsonDumps } from "./pyjson.js";

export type TupleValue = string | number;
export type OracleTuple = Record<string, TupleValue>;

export interface OracleEntry {
  l3: string;
  l3num: number;
  l4: string;
  proto: number;
  /** Remaining seconds as the kernel prints them (floor of remaining jiffies / HZ). */
  timeout: number;
  /** TCP/SCTP/DCCP state name, else null. */
  state: string | null;
  orig: OracleTuple;
  reply: OracleTuple;
  /** Bracketed words, sorted (ASSURED, UNREPLIED, OFFLOAD, HW_OFFLOAD ...). */
  flags: string[];
  assured: boolean;
  unreplied: boolean;
  mark: TupleValue;
  zone: TupleValue;
  use: TupleValue | null;
  /** With nf_conntrack_acct=1. */
  counters?: { orig: Record<string, number>; reply: Record<string, number> };
  /** Anything else printed (delta-time, secctx, labels ...). */
  extra?: Record<string, PyJson>;
}

const TUPLE_KEYS = new Set(["src", "dst", "sport", "dport", "type", "code", "id", "srckey", "dstkey"]);
const INT_KEYS = new Set(["sport", "dport", "type", "code", "id", "packets", "bytes", "srckey", "dstkey"]);

/** Python's int(v, 0): decimal without leading zeros, 0x/0o/0b prefixes; null when Python would raise. */
export function pyInt0(v: string): number | null {
  const s = v.trim();
  const m = /^([+-]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|([1-9][0-9]*|0+))$/.exec(s);
  if (!m) return null;
  const sign = m[1] === "-" ? -1 : 1;
  if (m[2] !== undefined) return sign * Number.parseInt(m[2], 16);
  if (m[3] !== undefined) return sign * Number.parseInt(m[3], 8);
  if (m[4] !== undefined) return sign * Number.parseInt(m[4], 2);
  return sign * Number.parseInt(m[5] as string, 10);
}

/** One table line -> entry (null for lines that are not entries). */
export function parseEntryLine(line: string): OracleEntry | null {
  const toks = line.trim().split(/\s+/);
  if (toks.length < 5) return null;
  const l3num = pyInt0(toks[1] as string);
  const proto = pyInt0(toks[3] as string);
  const timeout = pyInt0(toks[4] as string);
  if (l3num === null || proto === null || timeout === null) return null;
  let i = 5;
  let state: string | null = null;
  const t5 = toks[5];
  if (t5 !== undefined && !t5.includes("=") && !t5.startsWith("[")) {
    state = t5;
    i++;
  }
  const tuples: OracleTuple[] = [{}, {}];
  const counters: Record<string, number>[] = [{}, {}];
  let cur = -1;
  const flags: string[] = [];
  const extra: Record<string, PyJson> = {};
  const push = (k: string, v: string): void => {
    const prev = extra[k];
    if (Array.isArray(prev)) prev.push(v);
    else extra[k] = [v];
  };
  for (const t of toks.slice(i)) {
    if (t.startsWith("[") && t.endsWith("]")) {
      flags.push(t.slice(1, -1));
      continue;
    }
    const eq = t.indexOf("=");
    if (eq < 0) {
      push("_words", t);
      continue;
    }
    const k = t.slice(0, eq);
    const v = t.slice(eq + 1);
    if (k === "src") {
      cur++;
      if (cur > 1) {
        push("_more_tuples", t);
        continue;
      }
    }
    if (TUPLE_KEYS.has(k) && cur >= 0 && cur <= 1) {
      const n = INT_KEYS.has(k) ? pyInt0(v) : null;
      (tuples[cur] as OracleTuple)[k] = n ?? v;
    } else if ((k === "packets" || k === "bytes") && cur >= 0 && cur <= 1) {
      (counters[cur] as Record<string, number>)[k] = Number(v);
    } else {
      extra[k] = pyInt0(v) ?? v;
    }
  }
  flags.sort();
  const take = (k: string): PyJson | undefined => {
    const v = extra[k];
    delete extra[k];
    return v;
  };
  const e: OracleEntry = {
    l3: toks[0] as string,
    l3num,
    l4: toks[2] as string,
    proto,
    timeout,
    state,
    orig: tuples[0] as OracleTuple,
    reply: tuples[1] as OracleTuple,
    flags,
    assured: flags.includes("ASSURED"),
    unreplied: flags.includes("UNREPLIED"),
    mark: (take("mark") as TupleValue | undefined) ?? 0,
    zone: (take("zone") as TupleValue | undefined) ?? 0,
    use: (take("use") as TupleValue | undefined) ?? null,
  };
  const c0 = counters[0] as Record<string, number>;
  const c1 = counters[1] as Record<string, number>;
  if (Object.keys(c0).length || Object.keys(c1).length) e.counters = { orig: c0, reply: c1 };
  if (Object.keys(extra).length) e.extra = extra;
  return e;
}

type SortCell = string | number;

function sortKey(e: OracleEntry): SortCell[] {
  const o = e.orig;
  return [
    e.l3num,
    e.proto,
    o.src ?? "",
    o.dst ?? "",
    o.sport ?? o.type ?? 0,
    o.dport ?? o.code ?? 0,
    o.id ?? 0,
  ];
}

function cmpCells(a: SortCell[], b: SortCell[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as SortCell;
    const y = b[i] as SortCell;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

/** The oracle's entry order (l3num, proto, orig src, dst, sport|type, dport|code, id). */
export function sortEntries(entries: OracleEntry[]): OracleEntry[] {
  return entries
    .map((e) => ({ e, k: sortKey(e) }))
    .sort((a, b) => cmpCells(a.k, b.k))
    .map((x) => x.e);
}

/** `conntrack -L -o extended` (or /proc/net/nf_conntrack) text -> sorted entries. */
export function parseTable(text: string): OracleEntry[] {
  const out: OracleEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("conntrack v") || line.includes("flow entries have been shown")) continue;
    const e = parseEntryLine(line);
    if (e) out.push(e);
  }
  return sortEntries(out);
}

/** Entries -> table.jsonl text (one json.dumps(sort_keys=True) line per entry). */
export function toJsonLines(entries: OracleEntry[]): string {
  return entries.map((e) => `${pyJsonDumps(e as unknown as PyJson)}\n`).join("");
}
