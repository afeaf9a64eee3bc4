/**
 * One kernel run: a capture's IPv4/IPv6 packets written into the host kernel's conntrack inside a private,
 * throwaway network namespace, then the table, the `conntrack -S` counters, nf_conntrack_count and the
 * nf_conntrack slab read back. Writes replayed.pcap (every injected packet stamped with the CLOCK_REALTIME of
 * its write) so ctreplay can replay exactly the timeline the kernel saw, and dump_time for --end-time.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { CaptureError } from "../capture/index.js";
import {
  type KernelStats,
  parseConntrackS,
  parseProcStat,
  type SlabLine,
  type SysfsSlab,
} from "./counters.js";
import { run, which } from "./exec.js";
import { buildInjector, type InjectSummary } from "./injector.js";
import { type InputStats, prepareInjection, type TruncatedMode } from "./input.js";
import { acquireLock, type OracleLock } from "./lock.js";
import {
  Cleanup,
  destroyNetnsSync,
  newNetnsName,
  nftRuleset,
  nsExec,
  restoreStaleMax,
  setGlobalMax,
  setupScript,
  staleMaxPending,
  sweepStaleNetns,
  sysctlScript,
  TUN_DEV,
} from "./netns.js";
import { readSlabinfoLine, readSysfsSlab, settleSlab } from "./slab.js";
import { type OracleEntry, parseTable, toJsonLines } from "./table.js";

export interface KernelRunOptions {
  /** Capture to inject (pcap/pcapng, gzip, any link type ctreplay reads). */
  capture?: string;
  /** Or an already prepared raw-IP pcap (LINKTYPE_RAW), injected as is (bulk experiments). */
  rawInput?: string;
  /** Directory for the run's files (created). */
  outDir: string;
  /** sysctls inside the namespace, e.g. ["net.netfilter.nf_conntrack_udp_timeout", "3600"]. */
  sysctls?: [string, string][];
  /** Global nf_conntrack_max for the run (restored after; such runs are serialized). */
  max?: number;
  fixChecksums?: boolean;
  truncated?: TruncatedMode;
  /** 0 = as fast as possible; 1 = the capture's own pacing; 10 = ten times faster. */
  speed?: number;
  /** Join multicast destinations (host-member semantics); default true. */
  mcastJoin?: boolean;
  /** Seconds to wait after injection before dumping. */
  waitSec?: number;
  /** Dump the table (default true; bulk slab runs skip it). */
  dumpTable?: boolean;
  /** Take the lock exclusively and start from an empty, shrunk nf_conntrack slab cache (slab measurements). */
  measureSlab?: boolean;
  /** Test hook: called when each stage starts ("netns", "inject", "dump"). */
  onStage?: (stage: string) => void | Promise<void>;
}

export interface NftCounters {
  [name: string]: number;
}

export interface KernelRun {
  netns: string;
  outDir: string;
  /** Raw-IP ns pcap of every injected packet, stamped with its write time. */
  replayedPcap: string;
  /** CLOCK_REALTIME (float seconds) right before / after the table dump. */
  dumpTime: number;
  dumpTimeEnd: number;
  entries: OracleEntry[];
  /** `conntrack -S` summed over CPUs. */
  stats: KernelStats;
  /** /proc/net/stat/nf_conntrack summed (hex columns; includes entries, new, delete, icmp_error...). */
  procStat: Record<string, number>;
  countBefore: number;
  count: number;
  slabBefore: SlabLine | null;
  slabAfter: SlabLine | null;
  sysfsBefore: SysfsSlab;
  sysfsAfter: SysfsSlab;
  input: InputStats | null;
  inject: InjectSummary;
  /** nft packet counters: pre_in (after conntrack in PREROUTING), pre_new/est/rel/invalid/untracked, in_in
   *  (reached INPUT = the confirm point), out_local (the stack's own replies, untracked). */
  nft: NftCounters;
  /** netns netfilter sysctls as read back (nf_conntrack_* = value). */
  settings: Record<string, string>;
  /** Global nf_conntrack_max during the run. */
  globalMax: number;
  /** With --max: the value it had before (restored at the end of the run); else null. */
  originalMax: number | null;
  buckets: number;
}

export class OracleError {
  constructor(
    /** "cannot-run": this machine cannot run the oracle (not root, tool missing); "input": bad capture or
     *  option; "system": a step failed. */
    readonly kind: "cannot-run" | "input" | "system",
    readonly message: string,
  ) {}
  toString(): string {
    return this.message;
  }
}

/** Why this machine cannot run the kernel oracle, or null when it can. */
export async function oraclePreflight(): Promise<string | null> {
  if (process.platform !== "linux") return "the kernel oracle needs Linux";
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    return "the kernel oracle needs root (network namespaces, TUN device, nft)";
  }
  for (const tool of ["ip", "nft", "conntrack", "flock"]) {
    if (!which(tool)) {
      const pkg =
        tool === "ip"
          ? "iproute2"
          : tool === "nft"
            ? "nftables"
            : tool === "flock"
              ? "util-linux"
              : "conntrack";
      return `${tool} not found (apt-get install ${pkg})`;
    }
  }
  if (!existsSync("/dev/net/tun")) return "/dev/net/tun is missing (no TUN support)";
  const inj = await buildInjector();
  if ("error" in inj) return inj.error;
  // named like a run (ctr-<pid>-...) so that the stale sweep removes it if we die right here
  const probe = `${newNetnsName()}-probe`;
  const add = await run("ip", ["netns", "add", probe]);
  if (add.code !== 0) return `ip netns add failed: ${add.stderr.trim()}`;
  await run("ip", ["netns", "del", probe]);
  return null;
}

function realtimeSec(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}

function readNum(file: string): number {
  try {
    return Number(readFileSync(file, "utf8").trim());
  } catch {
    return Number.NaN;
  }
}

function parseNftCounters(text: string): NftCounters {
  const out: NftCounters = {};
  for (const m of text.matchAll(/counter (\w+) \{\s*packets (\d+) bytes (\d+)/g))
    out[m[1] as string] = Number(m[2]);
  return out;
}

async function must(
  what: string,
  p: Promise<{ code: number; stderr: string; stdout: string }>,
): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new OracleError("system", `${what} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Runs the kernel side; never leaves a namespace, device or changed sysctl behind. */
export async function runKernel(opts: KernelRunOptions): Promise<KernelRun | OracleError> {
  try {
    return await runKernelInner(opts);
  } catch (e) {
    if (e instanceof OracleError) return e;
    throw e;
  }
}

async function runKernelInner(opts: KernelRunOptions): Promise<KernelRun> {
  const why = await oraclePreflight();
  if (why) throw new OracleError("cannot-run", why);
  const out = path.resolve(opts.outDir);
  mkdirSync(out, { recursive: true });

  let input: InputStats | null = null;
  let injectFile: string;
  if (opts.rawInput) injectFile = opts.rawInput;
  else if (opts.capture) {
    injectFile = path.join(out, "inject.pcap");
    const r = await prepareInjection(opts.capture, injectFile, {
      fixChecksums: opts.fixChecksums ?? false,
      truncated: opts.truncated ?? "pad",
    });
    if (r instanceof CaptureError) throw new OracleError("input", r.toString());
    input = r;
  } else throw new OracleError("input", "no capture given");

  const inj = await buildInjector();
  if ("error" in inj) throw new OracleError("cannot-run", inj.error);

  sweepStaleNetns();
  if (staleMaxPending()) {
    const l = await acquireLock("exclusive");
    if (typeof l === "string") throw new OracleError("system", l);
    try {
      restoreStaleMax();
    } finally {
      await l.release();
    }
  }
  const exclusive = opts.max !== undefined || opts.measureSlab === true;
  const lock: OracleLock | string = await acquireLock(exclusive ? "exclusive" : "shared");
  if (typeof lock === "string") throw new OracleError("system", lock);

  const cleanup = new Cleanup();
  cleanup.add(() => lock.releaseSync());
  try {
    let originalMax: number | null = null;
    // Holding the lock exclusively, a saved original can only be a dead run's: restore it before saving ours,
    // or we would "restore" its leaked value at the end.
    if (exclusive) restoreStaleMax();
    if (opts.max !== undefined) {
      const m = setGlobalMax(opts.max);
      cleanup.add(m.undo);
      originalMax = m.original;
    }
    if (opts.measureSlab) {
      const left = await settleSlab(16, 90_000);
      if (left === null) throw new OracleError("system", "nf_conntrack slab did not drain within 90 s");
    }
    const ns = newNetnsName();
    cleanup.add(() => destroyNetnsSync(ns));
    await opts.onStage?.("netns");
    await must("ip netns add", run("ip", ["netns", "add", ns]));
    const cfg = { sysctls: opts.sysctls ?? [], mcastJoin: opts.mcastJoin ?? true };
    await must("namespace setup", nsExec(ns, "sh", ["-c", setupScript(TUN_DEV)]));
    await must("nft ruleset", nsExec(ns, "nft", ["-f", "-"], nftRuleset(TUN_DEV)));
    const sys = await nsExec(ns, "sh", ["-c", sysctlScript(cfg)]);
    if (sys.code !== 0) throw new OracleError("input", `sysctl failed: ${sys.stderr.trim()}`);
    const settingsText = await must(
      "reading sysctls",
      nsExec(ns, "sh", [
        "-c",
        'cd /proc/sys/net/netfilter && for f in *; do [ -f "$f" ] && [ -r "$f" ] && echo "$f=$(cat "$f" 2>/dev/null)"; done; true',
      ]),
    );
    const settings: Record<string, string> = {};
    for (const l of settingsText.split("\n")) {
      const eq = l.indexOf("=");
      if (eq > 0) settings[l.slice(0, eq)] = l.slice(eq + 1);
    }

    const slabBefore = readSlabinfoLine();
    const sysfsBefore = readSysfsSlab();
    const countBefore = Number(
      (await nsExec(ns, "cat", ["/proc/sys/net/netfilter/nf_conntrack_count"])).stdout,
    );

    await opts.onStage?.("inject");
    const replayedPcap = path.join(out, "replayed.pcap");
    let injPid = 0;
    cleanup.add(() => {
      if (injPid) {
        try {
          process.kill(injPid, "SIGKILL");
        } catch {
          // finished
        }
      }
    });
    const args = ["netns", "exec", ns, inj.path, "--dev", TUN_DEV, "--in", injectFile, "--out", replayedPcap];
    if (opts.speed) args.push("--speed", String(opts.speed));
    if (opts.mcastJoin === false) args.push("--no-mcast-join");
    if (opts.measureSlab) args.push("--cpu", "0");
    const ir = await run("ip", args, {
      onSpawn: (pid) => {
        injPid = pid;
      },
    });
    injPid = 0;
    let inject: InjectSummary;
    try {
      inject = JSON.parse(ir.stdout.trim().split("\n").pop() ?? "") as InjectSummary;
    } catch {
      throw new OracleError("system", `injector failed (exit ${ir.code}): ${ir.stdout}${ir.stderr}`.trim());
    }
    if (ir.code !== 0 || inject.error) {
      throw new OracleError(
        ir.code === 2 ? "input" : "system",
        `injector: ${inject.error ?? ir.stderr.trim()}`,
      );
    }
    if (opts.waitSec) await new Promise((r) => setTimeout(r, opts.waitSec! * 1000));

    await opts.onStage?.("dump");
    const count = Number((await nsExec(ns, "cat", ["/proc/sys/net/netfilter/nf_conntrack_count"])).stdout);
    const slabAfter = readSlabinfoLine();
    const sysfsAfter = readSysfsSlab();
    const dumpTime = realtimeSec();
    let tableText = "";
    if (opts.dumpTable !== false) {
      tableText = await must("conntrack -L", nsExec(ns, "conntrack", ["-L", "-o", "extended"]));
    }
    const dumpTimeEnd = realtimeSec();
    const statsText = await must("conntrack -S", nsExec(ns, "conntrack", ["-S"]));
    const procStatText = (await nsExec(ns, "cat", ["/proc/net/stat/nf_conntrack"])).stdout;
    const nftText = (await nsExec(ns, "nft", ["list", "table", "inet", "ctreplay"])).stdout;

    const entries = parseTable(tableText);
    const res: KernelRun = {
      netns: ns,
      outDir: out,
      replayedPcap,
      dumpTime,
      dumpTimeEnd,
      entries,
      stats: parseConntrackS(statsText),
      procStat: parseProcStat(procStatText),
      countBefore,
      count,
      slabBefore,
      slabAfter,
      sysfsBefore,
      sysfsAfter,
      input,
      inject,
      nft: parseNftCounters(nftText),
      settings,
      globalMax: readNum("/proc/sys/net/netfilter/nf_conntrack_max"),
      originalMax,
      buckets: readNum("/proc/sys/net/netfilter/nf_conntrack_buckets"),
    };
    writeFileSync(path.join(out, "table.txt"), tableText);
    writeFileSync(path.join(out, "table.jsonl"), toJsonLines(entries));
    writeFileSync(path.join(out, "conntrack-S.txt"), statsText);
    writeFileSync(path.join(out, "proc_stat_nf_conntrack.txt"), procStatText);
    writeFileSync(path.join(out, "nft-counters.txt"), nftText);
    const { entries: _e, ...summary } = res;
    writeFileSync(path.join(out, "summary.json"), `${JSON.stringify(summary, null, 1)}\n`);
    return res;
  } finally {
    cleanup.done();
  }
}
