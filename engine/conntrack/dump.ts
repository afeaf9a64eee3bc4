/**
 * Table and counter dumps in the formats operators and the kernel oracle use:
 * - JSON lines normalized exactly like kernel-oracle's ko_parse.py (`table.jsonl`: Python json.dumps with
 *   sort_keys, sorted by (l3num, proto, orig src, orig dst, sport|type, dport|code, id));
 * - `conntrack -L` text; `conntrack -S` text.
 * Dumps list live entries only (ctnetlink skips expired ones), with the remaining time in whole seconds.
 */

import { NFPROTO_IPV6 } from "../decode/packet-batch.js";
import { CONNTRACK_S_FIELDS, type CtStatsCounters } from "./ct-stats.js";
import { T_DST, T_PORTS, T_PROTO, T_SRC } from "./ct-store.js";
import { IPS_ASSURED, IPS_OFFLOAD, IPS_SEEN_REPLY } from "./l4proto.js";
import type { Conntrack } from "./nf-conntrack-in.js";
import { l4Name } from "./trackers.js";

/** inet_ntop for a 4-word address (IPv4 in word 0), glibc's IPv6 formatting (as conntrack prints). */
export function formatAddr(words: Uint32Array, o: number, l3: number): string {
  if (l3 !== NFPROTO_IPV6) {
    const w = words[o]!;
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
  }
  const g: number[] = [];
  for (let k = 0; k < 4; k++) g.push(words[o + k]! >>> 16, words[o + k]! & 0xffff);
  // Longest run of >= 2 zero groups (first one on ties) becomes "::".
  let best = -1;
  let bestLen = 0;
  for (let k = 0; k < 8; ) {
    if (g[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && g[e] === 0) e++;
    if (e - k > bestLen) {
      best = k;
      bestLen = e - k;
    }
    k = e;
  }
  if (bestLen < 2) best = -1;
  let s = "";
  for (let k = 0; k < 8; k++) {
    if (best >= 0 && k >= best && k < best + bestLen) {
      if (k === best) s += ":";
      continue;
    }
    if (k !== 0) s += ":";
    // Embedded IPv4: ::a.b.c.d (compatible) or ::ffff:a.b.c.d (mapped), as glibc prints them.
    if (k === 6 && best === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff))) {
      const w = words[o + 3]!;
      s += `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
      break;
    }
    s += g[k]!.toString(16);
  }
  if (best >= 0 && best + bestLen === 8) s += ":";
  return s;
}

/** One dumped entry, with the fields ko_parse.py produces. */
export interface DumpEntry {
  l3: string;
  l3num: number;
  l4: string;
  proto: number;
  orig: Record<string, string | number>;
  reply: Record<string, string | number>;
  state: string | null;
  flags: string[];
  assured: boolean;
  unreplied: boolean;
  timeout: number;
  mark: number;
  zone: number;
  use: number;
}

type TupleKind = "ports" | "icmp" | "gre" | "none";

function tupleKind(protonum: number): TupleKind {
  if (protonum === 6 || protonum === 17 || protonum === 136 || protonum === 132 || protonum === 33)
    return "ports";
  if (protonum === 1 || protonum === 58) return "icmp";
  if (protonum === 47) return "gre";
  return "none";
}

/** Tuple fields in conntrack -L order (the JSON sorts keys itself). */
function tupleFields(ct: Conntrack, node: number): [string, string | number][] {
  const t = ct.store.tuple;
  const o = ct.store.tupleOff(node);
  const l3 = t[o + T_PROTO]! >>> 8;
  const protonum = t[o + T_PROTO]! & 0xff;
  const ports = t[o + T_PORTS]!;
  const f: [string, string | number][] = [
    ["src", formatAddr(t, o + T_SRC, l3)],
    ["dst", formatAddr(t, o + T_DST, l3)],
  ];
  switch (tupleKind(protonum)) {
    case "ports":
      f.push(["sport", ports >>> 16], ["dport", ports & 0xffff]);
      break;
    case "icmp":
      f.push(["type", (ports >>> 8) & 0xff], ["code", ports & 0xff], ["id", ports >>> 16]);
      break;
    case "gre":
      f.push(["srckey", ports >>> 16], ["dstkey", ports & 0xffff]);
      break;
    default:
      break;
  }
  return f;
}

export function dumpEntry(ct: Conntrack, e: number, now: number): DumpEntry {
  const store = ct.store;
  const l3num = store.tuple[store.tupleOff(e * 2) + T_PROTO]! >>> 8;
  const proto = store.l4proto[e]!;
  const st = store.statusOf(e);
  const assured = (st & IPS_ASSURED) !== 0;
  const unreplied = (st & IPS_SEEN_REPLY) === 0;
  const flags: string[] = [];
  if (assured) flags.push("ASSURED");
  if ((st & IPS_OFFLOAD) !== 0) flags.push("OFFLOAD");
  if (unreplied) flags.push("UNREPLIED");
  return {
    l3: l3num === NFPROTO_IPV6 ? "ipv6" : "ipv4",
    l3num,
    l4: l4Name(proto),
    proto,
    orig: Object.fromEntries(tupleFields(ct, e * 2)),
    reply: Object.fromEntries(tupleFields(ct, e * 2 + 1)),
    state: ct.stateName(e),
    flags: flags.sort(),
    assured,
    unreplied,
    timeout: ct.secondsLeft(e, now),
    mark: 0,
    zone: 0,
    use: 1,
  };
}

/** Python json.dumps(obj, sort_keys=True) for the value shapes a DumpEntry holds. */
export function pyJson(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(pyJson).join(", ")}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}: ${pyJson(o[k])}`).join(", ")}}`;
}

function num(o: Record<string, string | number>, a: string, b: string): number {
  const v = o[a] ?? o[b] ?? 0;
  return typeof v === "number" ? v : 0;
}

/** ko_parse.py sort_key. */
function compareEntries(a: DumpEntry, b: DumpEntry): number {
  if (a.l3num !== b.l3num) return a.l3num - b.l3num;
  if (a.proto !== b.proto) return a.proto - b.proto;
  const as = String(a.orig.src ?? "");
  const bs = String(b.orig.src ?? "");
  if (as !== bs) return as < bs ? -1 : 1;
  const ad = String(a.orig.dst ?? "");
  const bd = String(b.orig.dst ?? "");
  if (ad !== bd) return ad < bd ? -1 : 1;
  const d1 = num(a.orig, "sport", "type") - num(b.orig, "sport", "type");
  if (d1 !== 0) return d1;
  const d2 = num(a.orig, "dport", "code") - num(b.orig, "dport", "code");
  if (d2 !== 0) return d2;
  return num(a.orig, "id", "id") - num(b.orig, "id", "id");
}

/** Live entries at `now` (u32 jiffies), sorted like ko_parse.py (ties broken by the JSON text). */
export function liveEntries(ct: Conntrack, now: number): DumpEntry[] {
  const out: DumpEntry[] = [];
  ct.forEachEntry((e) => {
    if (!ct.isExpired(e, now)) out.push(dumpEntry(ct, e, now));
  });
  return out.sort(
    (a, b) => compareEntries(a, b) || (pyJson(a) < pyJson(b) ? -1 : pyJson(a) > pyJson(b) ? 1 : 0),
  );
}

/** table.jsonl text (one line per live entry, trailing newline when non-empty). */
export function tableJsonl(ct: Conntrack, now: number): string {
  return liveEntries(ct, now)
    .map((e) => `${pyJson(e)}\n`)
    .join("");
}

function tupleText(f: Record<string, string | number>, kind: TupleKind): string {
  const parts = [`src=${f.src}`, `dst=${f.dst}`];
  if (kind === "ports") parts.push(`sport=${f.sport}`, `dport=${f.dport}`);
  else if (kind === "icmp") parts.push(`type=${f.type}`, `code=${f.code}`, `id=${f.id}`);
  else if (kind === "gre")
    parts.push(`srckey=0x${Number(f.srckey).toString(16)}`, `dstkey=0x${Number(f.dstkey).toString(16)}`);
  return parts.join(" ");
}

/** `conntrack -L` text for one entry. */
export function entryText(e: DumpEntry): string {
  const kind = tupleKind(e.proto);
  let s = `${e.l3.padEnd(8)} ${e.l3num} ${e.l4.padEnd(8)} ${e.proto} ${e.timeout} `;
  if (e.state !== null) s += `${e.state} `;
  s += tupleText(e.orig, kind);
  if (e.unreplied) s += " [UNREPLIED]";
  s += ` ${tupleText(e.reply, kind)}`;
  if (e.assured) s += " [ASSURED]";
  s += ` mark=${e.mark} use=${e.use}`;
  return s;
}

/** `conntrack -L` output for the live table. */
export function tableText(ct: Conntrack, now: number): string {
  const entries = liveEntries(ct, now);
  return (
    entries.map((e) => `${entryText(e)}\n`).join("") +
    `conntrack v1.4.7 (conntrack-tools): ${entries.length} flow entries have been shown.\n`
  );
}

/** `conntrack -S` output (one CPU: ctreplay keeps one set of counters). */
export function conntrackSText(stats: CtStatsCounters): string {
  return `cpu=0   \t${CONNTRACK_S_FIELDS.map((k) => `${k}=${stats[k]}`).join(" ")} \n`;
}
