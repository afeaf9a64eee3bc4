/**
 * `ctreplay verify` as operators run it: exit 0 identical, 1 differences (each printed), 2 cannot run
 * (bad input, bad option, not root); --keep leaves a timing-faithful replayed.pcap and the kernel table.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { which } from "../engine/oracle/exec.js";
import { readRawPcap } from "../engine/oracle/pcap-raw.js";
import { capturesDir, oracleUnavailable, repoRoot } from "./oracle-helpers.js";

const main = path.join(repoRoot, "dist/engine/cli/main.js");
let why = await oracleUnavailable();
if (!why && !existsSync(main)) why = "dist/ is not built (npm run build)";
if (!why && !existsSync(capturesDir)) why = `${capturesDir} is absent`;
if (why) console.log(`oracle-verify-cli: skipped: ${why}`);

function verify(args: string[], asUser?: number) {
  const cmd = asUser === undefined ? process.execPath : which("setpriv")!;
  const pre =
    asUser === undefined
      ? []
      : [`--reuid=${asUser}`, `--regid=${asUser}`, "--clear-groups", process.execPath];
  const r = spawnSync(cmd, [...pre, main, "verify", ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe.skipIf(why !== null)("ctreplay verify", () => {
  it("exit 0 and 'N of N entries identical' when ctreplay matches the kernel", () => {
    const r = verify([path.join(capturesDir, "vlan-icmp-echo.pcap")]);
    expect(r.err).toBe("");
    expect(r.out).toMatch(/^1 of 1 entries identical/);
    expect(r.code).toBe(0);
  });

  it("exit 1 and every difference printed when they differ", () => {
    // A namespace sysctl only the kernel side sees: without route_localnet, 127.0.0.1 arriving on the TUN device
    // is a martian destination, dropped by routing after conntrack and before INPUT, so nothing is confirmed;
    // ctreplay (which is not told: net.ipv4.* only shapes the namespace) tracks all 15 connections.
    const r = verify([
      path.join(capturesDir, "sll-tcp-redis-15-conns.pcap"),
      "--fix-checksums",
      "--sysctl",
      "net.ipv4.conf.all.route_localnet=0",
      "--sysctl",
      "net.ipv4.conf.ctr0.route_localnet=0",
    ]);
    expect(r.out).toMatch(/^0 of 0 entries identical \(ctreplay has 15\)/);
    expect(r.out.match(/extra in ctreplay: {3}tcp 127\.0\.0\.1:\d+>127\.0\.0\.1:6379/g)).toHaveLength(15);
    expect(r.out).toContain("150 packets passed conntrack but were dropped by routing before INPUT");
    expect(r.code).toBe(1);
  });

  it("--keep leaves replayed.pcap stamped with the injection times, and the kernel table", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "ctreplay-verify-keep-"));
    try {
      const before = Date.now() / 1000;
      const r = verify([path.join(capturesDir, "sll2-linux.pcap"), "--keep", dir, "--json"]);
      const after = Date.now() / 1000;
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out) as { dumpTime: number; kernelEntries: number };
      const pkts = readRawPcap(path.join(dir, "replayed.pcap"));
      expect(readFileSync(path.join(dir, "replayed.pcap")).readUInt32LE(0)).toBe(0xa1b23c4d); // ns pcap
      expect(pkts).toHaveLength(4); // the capture's 2 IPv4 + 2 IPv6 packets
      for (const p of pkts) {
        const t = p.sec + p.nsec / 1e9;
        expect(t).toBeGreaterThan(before);
        expect(t).toBeLessThanOrEqual(j.dumpTime);
      }
      expect(j.dumpTime).toBeLessThan(after);
      const lines = readFileSync(path.join(dir, "table.jsonl"), "utf8").trim().split("\n");
      expect(lines).toHaveLength(j.kernelEntries);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exit 2 with the reason: unreadable capture, bad option", () => {
    const a = verify([path.join(capturesDir, "MANIFEST.md")]);
    expect(a.code).toBe(2);
    expect(a.err).toContain("not a pcap or pcapng file");
    const b = verify([path.join(capturesDir, "vlan-icmp-echo.pcap"), "--sysctl", "kernel.panic=1"]);
    expect(b.code).toBe(2);
    expect(b.err).toContain("only net.* keys");
  });

  it.skipIf(!which("setpriv"))("exit 2 with the reason when not root", () => {
    const r = verify([path.join(capturesDir, "vlan-icmp-echo.pcap")], 65534);
    expect(r.err).toContain("needs root");
    expect(r.code).toBe(2);
  });
});
