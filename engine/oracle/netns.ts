/**
 * The throwaway network namespace one oracle run injects into, and everything that guarantees it leaves
 * nothing behind: a unique name per run (ctr-<pid>-<rand>), a cleanup that is registered before anything is
 * created and runs on normal end, on error, and on SIGINT/SIGTERM/SIGHUP (synchronously, then the signal is
 * re-raised), a sweep of namespaces left by runs that were SIGKILLed (their pid is gone), and the global
 * nf_conntrack_max: its original value is saved in a state file before it is changed, so even a SIGKILLed
 * run's change is undone by the next run.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { childEnv, run } from "./exec.js";

export const NETNS_PREFIX = "ctr-";
export const TUN_DEV = "ctr0";
export const GLOBAL_MAX = "/proc/sys/net/netfilter/nf_conntrack_max";
/** Original nf_conntrack_max while a run has changed it: "<value> <pid>". */
export const MAX_STATE_FILE = "/run/ctreplay-oracle.max";

export function newNetnsName(): string {
  return `${NETNS_PREFIX}${process.pid}-${randomBytes(3).toString("hex")}`;
}

function execSyncQuiet(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { env: childEnv, stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Names of the oracle namespaces that exist now (ours and others'). */
export function listOracleNetns(): string[] {
  try {
    const out = execFileSync("ip", ["netns", "list"], {
      env: childEnv,
      encoding: "utf8",
      timeout: 10_000,
      stdio: ["ignore", "pipe", "ignore"], // "Peer netns reference is invalid" while another netns is being deleted
    });
    return out
      .split("\n")
      .map((l) => l.trim().split(/\s+/)[0] ?? "")
      .filter((n) => n.startsWith(NETNS_PREFIX));
  } catch {
    return [];
  }
}

/** Deletes the TUN device and the namespace (synchronously; safe to call twice). */
export function destroyNetnsSync(name: string): void {
  if (!listOracleNetns().includes(name)) return;
  execSyncQuiet("ip", ["-n", name, "link", "del", TUN_DEV]);
  execSyncQuiet("ip", ["netns", "del", name]);
}

/** Removes namespaces of oracle runs whose process no longer exists (a SIGKILLed run cannot clean up). */
export function sweepStaleNetns(): string[] {
  const removed: string[] = [];
  for (const n of listOracleNetns()) {
    const m = /^ctr-(\d+)-/.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && !pidAlive(pid)) {
      destroyNetnsSync(n);
      removed.push(n);
    }
  }
  return removed;
}

export function readGlobalMax(): number {
  return Number(readFileSync(GLOBAL_MAX, "utf8").trim());
}

/** Restores nf_conntrack_max left changed by a run that died without cleanup (call with the exclusive lock). */
export function restoreStaleMax(): number | null {
  let text: string;
  try {
    text = readFileSync(MAX_STATE_FILE, "utf8");
  } catch {
    return null;
  }
  const [val, pid] = text.trim().split(/\s+/).map(Number);
  if (pid !== undefined && pid !== process.pid && pidAlive(pid)) return null;
  if (val !== undefined && Number.isInteger(val) && val > 0) writeFileSync(GLOBAL_MAX, `${val}\n`);
  rmSync(MAX_STATE_FILE, { force: true });
  return val ?? null;
}

export function staleMaxPending(): boolean {
  try {
    readFileSync(MAX_STATE_FILE);
    return true;
  } catch {
    return false;
  }
}

/** Sets the global nf_conntrack_max, remembering the original in MAX_STATE_FILE; returns it and the undo. */
export function setGlobalMax(value: number): { original: number; undo: () => void } {
  const original = readGlobalMax();
  writeFileSync(MAX_STATE_FILE, `${original} ${process.pid}\n`);
  writeFileSync(GLOBAL_MAX, `${value}\n`);
  return {
    original,
    undo: () => {
      writeFileSync(GLOBAL_MAX, `${original}\n`);
      rmSync(MAX_STATE_FILE, { force: true });
    },
  };
}

// ---- cleanup registry: every run registers its undo steps before it creates anything ----

type Undo = () => void;
const active = new Set<Undo[]>();
const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
let installed = false;

function runAllSync(): void {
  for (const steps of active) {
    for (const step of steps.splice(0).reverse()) {
      try {
        step();
      } catch {
        // keep undoing the rest
      }
    }
  }
  active.clear();
}

function onSignal(sig: NodeJS.Signals): void {
  runAllSync();
  uninstall();
  // Default action for the signal now that we cleaned up (exit status 128+n).
  process.kill(process.pid, sig);
}

function onExit(): void {
  runAllSync();
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on("exit", onExit);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.removeListener("exit", onExit);
}

/** A run's undo list: `add` steps as things are created; `done()` runs them (newest first) and unregisters. */
export class Cleanup {
  private readonly steps: Undo[] = [];
  constructor() {
    active.add(this.steps);
    install();
  }
  add(step: Undo): void {
    this.steps.push(step);
  }
  done(): void {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        step();
      } catch {
        // keep undoing the rest
      }
    }
    active.delete(this.steps);
    if (active.size === 0) uninstall();
  }
}

export interface NetnsConfig {
  /** key=value sysctls applied inside the namespace (net.* only). */
  sysctls: [string, string][];
  /** Join multicast groups (done by the injector); kept here for the settings record. */
  mcastJoin: boolean;
}

const SYSCTL_KEY = /^net\.[A-Za-z0-9_.-]+$/;
const SYSCTL_VAL = /^[A-Za-z0-9_.:\t -]*$/;

/** "key=value" -> [key, value] or an error message. */
export function parseSysctl(kv: string): [string, string] | string {
  const eq = kv.indexOf("=");
  if (eq <= 0) return `bad --sysctl "${kv}": expected key=value`;
  const k = kv.slice(0, eq).trim().replace(/\//g, ".");
  const v = kv.slice(eq + 1).trim();
  if (!SYSCTL_KEY.test(k)) return `bad --sysctl key "${k}": only net.* keys apply inside the namespace`;
  if (!SYSCTL_VAL.test(v)) return `bad --sysctl value "${v}" for ${k}`;
  if (k === "net.netfilter.nf_conntrack_max")
    return "nf_conntrack_max is global (read-only in a namespace): use --max";
  if (k === "net.netfilter.nf_conntrack_buckets") {
    return "nf_conntrack_buckets is global (the boot-time hash size): it cannot be set for one run";
  }
  return [k, v];
}

function sysctlPath(k: string): string {
  return `/proc/sys/${k.replace(/\./g, "/")}`;
}

/** The nft ruleset: ct rules in prerouting register the conntrack + defrag hooks for IPv4 and IPv6; counters
 *  measure where packets went; notrack in OUTPUT (raw priority) keeps the stack's own replies away from the
 *  entries the capture creates. */
export function nftRuleset(dev: string): string {
  return `table inet ctreplay {
  counter pre_in {}
  counter pre_new {}
  counter pre_est {}
  counter pre_rel {}
  counter pre_invalid {}
  counter pre_untracked {}
  counter in_in {}
  counter out_local {}
  chain pre {
    type filter hook prerouting priority -150; policy accept;
    iifname != "${dev}" accept
    counter name "pre_in"
    ct state new counter name "pre_new"
    ct state established counter name "pre_est"
    ct state related counter name "pre_rel"
    ct state invalid counter name "pre_invalid"
    ct state untracked counter name "pre_untracked"
  }
  chain inp {
    type filter hook input priority 0; policy accept;
    iifname != "${dev}" accept
    counter name "in_in"
  }
  chain out {
    type filter hook output priority -300; policy accept;
    counter name "out_local" notrack
  }
}
`;
}

/** Shell script run inside the namespace: lo + TUN device up, forwarding-free local delivery of every
 *  destination, permissive source checks, user sysctls. */
export function setupScript(dev: string): string {
  const w = (p: string, v: string) => `printf '%s\\n' '${v}' > ${p}`;
  const lines = ["set -e", "ip link set lo up"];
  // all/default first: the TUN device inherits "default" when it is created (no DAD, no RA from the start)
  const conf = (c: string) => {
    lines.push(w(`/proc/sys/net/ipv4/conf/${c}/rp_filter`, "0"));
    lines.push(w(`/proc/sys/net/ipv4/conf/${c}/accept_local`, "1"));
    lines.push(w(`/proc/sys/net/ipv4/conf/${c}/route_localnet`, "1"));
    lines.push(w(`/proc/sys/net/ipv4/conf/${c}/log_martians`, "0"));
    lines.push(w(`/proc/sys/net/ipv6/conf/${c}/accept_ra`, "0"));
    lines.push(w(`/proc/sys/net/ipv6/conf/${c}/accept_dad`, "0"));
  };
  conf("all");
  conf("default");
  lines.push(`ip tuntap add dev ${dev} mode tun`);
  conf(dev);
  lines.push(`ip link set ${dev} mtu 65535 up`);
  lines.push(w("/proc/sys/net/ipv4/igmp_max_memberships", "100000"));
  // Every destination is local: PREROUTING (nf_conntrack_in) -> INPUT (nf_confirm), whatever TTL or address.
  lines.push("ip route add local 0.0.0.0/0 dev lo table local");
  lines.push("ip -6 route add local ::/0 dev lo table local");
  // IPv6 link-local destinations need a route on the input device (strict interface match).
  lines.push(`ip -6 route add local fe80::/10 dev ${dev} table local`);
  return `${lines.join("\n")}\n`;
}

/** Applies the user's sysctls (after the nft rules loaded nf_conntrack's per-netns sysctls). */
export function sysctlScript(cfg: NetnsConfig): string {
  const lines = ["set -e"];
  for (const [k, v] of cfg.sysctls) lines.push(`printf '%s\\n' '${v}' > ${sysctlPath(k)}`);
  return `${lines.join("\n")}\n`;
}

export async function nsExec(ns: string, cmd: string, args: string[], input?: string) {
  return run("ip", ["netns", "exec", ns, cmd, ...args], input === undefined ? {} : { input });
}
