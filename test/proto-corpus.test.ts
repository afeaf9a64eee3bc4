/**
 * Corpus captures with SCTP, GRE, ICMP and ICMPv6 traffic replayed end to end (capture -> decode ->
 * conntrack). Expectations are what Linux 6.18.44 tracked for the same captures (kernel-oracle runs,
 * table + conntrack -S), reduced to what does not depend on the replay clock: which entries exist, their
 * state and flags, and the invalid/error counters.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { liveEntries } from "../engine/conntrack/dump.js";
import { resolveSettings } from "../engine/conntrack/settings.js";
import { replayCaptures } from "../engine/replay.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const captures = path.resolve(repoRoot, "../shared/captures");

interface Observed {
  /** "l4 origsrc>origdst state [FLAGS]" per entry, sorted. */
  entries: string[];
  invalid: number;
  error: number;
}

const KERNEL: Record<string, Observed> = {
  "sctp-ipv4.pcap": {
    entries: ["sctp 192.168.170.8>192.168.170.56 ESTABLISHED [ASSURED]"],
    invalid: 0,
    error: 0,
  },
  "gre-tunnel.pcap": {
    entries: ["gre 172.27.1.66>66.59.109.137 - [ASSURED]"],
    invalid: 0,
    error: 0,
  },
  "pptp-gre-bigendian.pcap": {
    entries: ["gre 10.1.1.11>10.1.1.10 - [UNREPLIED]", "tcp 10.1.1.11>10.1.1.10 TIME_WAIT [ASSURED]"],
    invalid: 0,
    error: 0,
  },
  "icmpv6-nd-echo-errors.pcap": {
    entries: [
      "icmpv6 3ffe:507:0:1:200:86ff:fe05:80da>3ffe:501:0:1001::2 - []",
      "icmpv6 3ffe:507:0:1:200:86ff:fe05:80da>3ffe:507:0:1:260:97ff:fe07:69ea - []",
    ],
    invalid: 0,
    error: 13,
  },
  "vlan-icmp-echo.pcap": {
    entries: ["icmp 192.168.123.2>192.168.123.1 - []"],
    invalid: 0,
    error: 0,
  },
};

describe("protocol trackers on corpus captures (kernel-observed entries and counters)", () => {
  if (!existsSync(captures)) {
    it.skip(`../shared/captures absent (${captures})`, () => {});
    return;
  }
  it.each(Object.entries(KERNEL))("%s", async (file, exp) => {
    const r = await replayCaptures([path.join(captures, file)], resolveSettings());
    expect(r.captureErrors).toEqual([]);
    const got = liveEntries(r.conntrack, r.endJiffies)
      .map((e) => `${e.l4} ${e.orig.src}>${e.orig.dst} ${e.state ?? "-"} [${e.flags.join(",")}]`)
      .sort();
    expect(got).toEqual(exp.entries);
    expect([r.stats.invalid, r.stats.error]).toEqual([exp.invalid, exp.error]);
  });
});
