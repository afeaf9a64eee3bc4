/**
 * Settings the way operators hold them: a sysctl.d profile or `sysctl -a` output, `--sysctl key=value`
 * overrides and a few direct options, resolved into CtSettings. Problems are returned as SysctlError values
 * naming the file and line (or the option), never thrown.
 */
import { readFile } from "node:fs/promises";
import {
  type CtSettings,
  resolveSettings,
  SYSCTL_DEFAULTS,
  type SysctlName,
  type SysctlValues,
} from "./settings.js";

export class SysctlError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly message: string,
  ) {}
  toString(): string {
    return this.line > 0 ? `${this.file}:${this.line}: ${this.message}` : `${this.file}: ${this.message}`;
  }
}

/**
 * Real nf_conntrack sysctls (current or older kernels) that ctreplay does not model: accepted and ignored.
 * nf_conntrack_count is read-only state that `sysctl -a` prints.
 */
export const UNMODELED_KEYS: readonly string[] = [
  "nf_conntrack_count",
  "nf_conntrack_log_invalid",
  "nf_conntrack_expect_max",
  "nf_conntrack_helper",
  "nf_conntrack_frag6_timeout",
  "nf_conntrack_frag6_low_thresh",
  "nf_conntrack_frag6_high_thresh",
  "nf_conntrack_dccp_loose",
  "nf_conntrack_dccp_timeout_request",
  "nf_conntrack_dccp_timeout_respond",
  "nf_conntrack_dccp_timeout_partopen",
  "nf_conntrack_dccp_timeout_open",
  "nf_conntrack_dccp_timeout_closereq",
  "nf_conntrack_dccp_timeout_closing",
  "nf_conntrack_dccp_timeout_timewait",
  "nf_conntrack_sctp_timeout_heartbeat_acked",
  "nf_conntrack_udplite_timeout",
  "nf_conntrack_udplite_timeout_stream",
];

export interface SysctlProfile {
  /** Values set, by sysctl name (net.netfilter. prefix dropped). */
  values: Partial<SysctlValues>;
  /** Keys outside nf_conntrack (e.g. the rest of `sysctl -a`): counted, ignored. */
  ignoredOther: number;
  /** Known nf_conntrack keys ctreplay does not model that were present. */
  ignoredUnmodeled: string[];
  /** Adjustments made the way the kernel makes them (e.g. bucket rounding). */
  notes: string[];
}

export function emptyProfile(): SysctlProfile {
  return { values: {}, ignoredOther: 0, ignoredUnmodeled: [], notes: [] };
}

type KeyClass = { kind: "known"; name: SysctlName } | { kind: "unmodeled"; name: string } | { kind: "other" };

/** Normalizes a sysctl key: "/" separators, "net.netfilter." prefix, the net.nf_conntrack_max alias. */
function classify(rawKey: string, strict: boolean): KeyClass | string {
  const key = rawKey.replace(/\//g, ".");
  let name = key;
  if (key === "net.nf_conntrack_max") name = "nf_conntrack_max";
  else if (key.startsWith("net.netfilter.")) name = key.slice("net.netfilter.".length);
  if (!name.startsWith("nf_conntrack_")) return strict ? `unknown sysctl "${rawKey}"` : { kind: "other" };
  if (Object.hasOwn(SYSCTL_DEFAULTS, name)) return { kind: "known", name: name as SysctlName };
  if (UNMODELED_KEYS.includes(name)) return { kind: "unmodeled", name };
  return `unknown conntrack sysctl "${rawKey}"`;
}

function parseValue(name: string, raw: string): number | string {
  const v = raw.trim();
  if (!/^\d+$/.test(v)) return `${name}: value "${raw.trim()}" is not a non-negative integer`;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n > 0x7fffffff) return `${name}: value ${v} out of range`;
  if (name === "nf_conntrack_buckets" && n < 1) return `${name}: must be at least 1`;
  return n;
}

/** Applies one key=value to a profile; returns an error message or null. */
function apply(p: SysctlProfile, key: string, value: string, strict: boolean): string | null {
  const c = classify(key, strict);
  if (typeof c === "string") return c;
  if (c.kind === "other") {
    p.ignoredOther++;
    return null;
  }
  if (c.kind === "unmodeled") {
    if (!p.ignoredUnmodeled.includes(c.name)) p.ignoredUnmodeled.push(c.name);
    return null;
  }
  const v = parseValue(c.name, value);
  if (typeof v === "string") return v;
  p.values[c.name] = c.name === "nf_conntrack_buckets" ? roundBuckets(v, p) : v;
  return null;
}

/** nf_ct_alloc_hashtable rounds the size up to a page of hlist heads (512 on 64-bit, 4 KiB pages). */
function roundBuckets(n: number, p: SysctlProfile): number {
  const r = Math.ceil(n / 512) * 512;
  if (r !== n)
    p.notes.push(`nf_conntrack_buckets ${n} rounded up to ${r} (a multiple of 512, as the kernel does)`);
  return r;
}

/**
 * Parses sysctl.d / sysctl.conf text or `sysctl -a` output. Lines: `key = value`, `key=value`, comments
 * (# or ;), blank lines, a leading "-" (ignore-failure marker in sysctl.d).
 */
export function parseSysctlText(
  text: string,
  file: string,
  into: SysctlProfile = emptyProfile(),
): SysctlProfile | SysctlError {
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n]!.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    if (line.startsWith("-")) line = line.slice(1).trim();
    const eq = line.indexOf("=");
    if (eq <= 0) {
      // `sysctl -a` prints nothing else; anything else is a malformed line.
      return new SysctlError(file, n + 1, `expected "key = value", got "${lines[n]!.trim()}"`);
    }
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    const err = apply(into, key, value, false);
    if (err) return new SysctlError(file, n + 1, err);
  }
  return into;
}

export interface SettingsInput {
  /** Profile file (sysctl.d format or `sysctl -a` output). */
  profile?: string | undefined;
  /** `key=value` overrides, net.netfilter. prefix optional. */
  sysctl?: readonly string[] | undefined;
  max?: number | undefined;
  buckets?: number | undefined;
  hz?: number | undefined;
  /** --no-checksum: nf_conntrack_checksum = 0. */
  noChecksum?: boolean | undefined;
}

export interface LoadedSettings {
  settings: CtSettings;
  profile: SysctlProfile;
}

/** Resolves settings: defaults < profile file < --sysctl < --max/--buckets/--no-checksum. */
export async function loadSettings(input: SettingsInput): Promise<LoadedSettings | SysctlError> {
  const p = emptyProfile();
  if (input.profile !== undefined) {
    let text: string;
    try {
      text = await readFile(input.profile, "utf8");
    } catch (e) {
      return new SysctlError(input.profile, 0, `cannot read profile: ${(e as Error).message}`);
    }
    const r = parseSysctlText(text, input.profile, p);
    if (r instanceof SysctlError) return r;
  }
  return resolveInput(p, input);
}

/** The synchronous part of loadSettings (profile text already parsed into p). */
export function resolveInput(p: SysctlProfile, input: SettingsInput): LoadedSettings | SysctlError {
  for (const kv of input.sysctl ?? []) {
    const eq = kv.indexOf("=");
    if (eq <= 0) return new SysctlError("--sysctl", 0, `expected key=value, got "${kv}"`);
    const err = apply(p, kv.slice(0, eq).trim(), kv.slice(eq + 1), true);
    if (err) return new SysctlError("--sysctl", 0, err);
  }
  const direct: [string, number | undefined][] = [
    ["nf_conntrack_max", input.max],
    ["nf_conntrack_buckets", input.buckets],
  ];
  for (const [name, v] of direct) {
    if (v === undefined) continue;
    const opt = name === "nf_conntrack_max" ? "--max" : "--buckets";
    const err = apply(p, name, String(v), true);
    if (err) return new SysctlError(opt, 0, err);
  }
  if (input.noChecksum) p.values.nf_conntrack_checksum = 0;
  const hz = input.hz ?? 250;
  if (!Number.isInteger(hz) || hz < 1 || hz > 10000) return new SysctlError("--hz", 0, `bad HZ ${input.hz}`);
  return { settings: resolveSettings(p.values, hz), profile: p };
}
