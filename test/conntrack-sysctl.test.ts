import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SYSCTL_DEFAULTS } from "../engine/conntrack/settings.js";
import {
  emptyProfile,
  loadSettings,
  parseSysctlText,
  resolveInput,
  SysctlError,
  type SysctlProfile,
} from "../engine/conntrack/sysctl.js";

function profile(text: string): SysctlProfile {
  const r = parseSysctlText(text, "p.conf");
  if (r instanceof SysctlError) throw new Error(r.toString());
  return r;
}

describe("sysctl profiles", () => {
  it("reads sysctl.d syntax: comments, blank lines, '-' prefix, slashes, both prefixes", () => {
    const p = profile(
      [
        "# conntrack tuning",
        "; also a comment",
        "",
        "net.netfilter.nf_conntrack_max = 131072",
        "-net.netfilter.nf_conntrack_udp_timeout=60",
        "net/netfilter/nf_conntrack_tcp_timeout_established = 86400",
        "net.nf_conntrack_max = 65536",
        "nf_conntrack_tcp_loose = 0",
      ].join("\n"),
    );
    expect(p.values).toEqual({
      nf_conntrack_max: 65536,
      nf_conntrack_udp_timeout: 60,
      nf_conntrack_tcp_timeout_established: 86400,
      nf_conntrack_tcp_loose: 0,
    });
    const r = resolveInput(p, {});
    if (r instanceof SysctlError) throw new Error(r.toString());
    expect(r.settings.max).toBe(65536);
    expect(r.settings.udpTimeout).toBe(60 * 250);
    expect(r.settings.tcpLoose).toBe(false);
  });

  it("reads `sysctl -a` output: counts other keys, accepts known unmodelled conntrack keys", () => {
    const p = profile(
      [
        "net.ipv4.tcp_rmem = 4096\t131072\t6291456",
        "net.netfilter.nf_conntrack_acct = 1",
        "net.netfilter.nf_conntrack_count = 17",
        "net.netfilter.nf_conntrack_log_invalid = 0",
        "net.netfilter.nf_conntrack_frag6_timeout = 60",
        "net.netfilter.nf_hooks_lwtunnel = 0",
        "net.netfilter.nf_log.2 = NONE",
        "net.netfilter.nf_conntrack_buckets = 1000",
        "vm.swappiness = 60",
      ].join("\n"),
    );
    expect(p.ignoredOther).toBe(4);
    expect(p.ignoredUnmodeled).toEqual([
      "nf_conntrack_count",
      "nf_conntrack_log_invalid",
      "nf_conntrack_frag6_timeout",
    ]);
    expect(p.values).toEqual({ nf_conntrack_acct: 1, nf_conntrack_buckets: 1024 });
    expect(p.notes.join()).toMatch(/rounded up to 1024/);
  });

  it("rejects unknown conntrack keys and bad values naming file and line", () => {
    const cases: [string, number, RegExp][] = [
      [
        "net.netfilter.nf_conntrack_max = 10\nnet.netfilter.nf_conntrack_tcp_timeout_bogus = 5",
        2,
        /unknown conntrack sysctl/,
      ],
      ["\n\nnet.netfilter.nf_conntrack_max = lots", 3, /not a non-negative integer/],
      ["net.netfilter.nf_conntrack_udp_timeout = -1", 1, /not a non-negative integer/],
      ["net.netfilter.nf_conntrack_max = 99999999999", 1, /out of range/],
      ["this line has no equals sign", 1, /expected "key = value"/],
      ["net.netfilter.nf_conntrack_buckets = 0", 1, /at least 1/],
    ];
    for (const [text, line, re] of cases) {
      const r = parseSysctlText(text, "bad.conf");
      expect(r).toBeInstanceOf(SysctlError);
      const e = r as SysctlError;
      expect(e.file).toBe("bad.conf");
      expect(e.line).toBe(line);
      expect(e.message).toMatch(re);
      expect(e.toString()).toMatch(new RegExp(`^bad\\.conf:${line}: `));
    }
  });

  it("applies --sysctl overrides after the profile and direct options last", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "ctreplay-sysctl-"));
    const file = path.join(dir, "p.conf");
    writeFileSync(
      file,
      "net.netfilter.nf_conntrack_max = 1000\nnet.netfilter.nf_conntrack_udp_timeout = 10\n",
    );
    const r = await loadSettings({
      profile: file,
      sysctl: ["nf_conntrack_udp_timeout=20", "net.netfilter.nf_conntrack_generic_timeout=5"],
      max: 7,
      hz: 100,
      noChecksum: true,
    });
    if (r instanceof SysctlError) throw new Error(r.toString());
    expect(r.settings.max).toBe(7);
    expect(r.settings.udpTimeout).toBe(20 * 100);
    expect(r.settings.genericTimeout).toBe(5 * 100);
    expect(r.settings.checksum).toBe(false);
    expect(r.settings.hz).toBe(100);
    expect(r.settings.buckets).toBe(SYSCTL_DEFAULTS.nf_conntrack_buckets);
  });

  it("reports option errors with the option's name, and unreadable files", async () => {
    const bad = resolveInput(emptyProfile(), { sysctl: ["net.ipv4.ip_forward=1"] });
    expect(bad).toBeInstanceOf(SysctlError);
    expect(String(bad)).toBe('--sysctl: unknown sysctl "net.ipv4.ip_forward"');
    expect(String(resolveInput(emptyProfile(), { sysctl: ["nf_conntrack_max"] }))).toMatch(
      /^--sysctl: expected key=value/,
    );
    expect(String(resolveInput(emptyProfile(), { hz: 0 }))).toMatch(/^--hz: /);
    const missing = await loadSettings({ profile: "/nonexistent/ctreplay.conf" });
    expect(missing).toBeInstanceOf(SysctlError);
    expect(String(missing)).toMatch(/^\/nonexistent\/ctreplay\.conf: cannot read profile/);
  });
});
