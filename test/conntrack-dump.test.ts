import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  conntrackSText,
  entryText,
  formatAddr,
  liveEntries,
  pyJson,
  tableJsonl,
} from "../engine/conntrack/dump.js";
import { Conntrack } from "../engine/conntrack/nf-conntrack-in.js";
import { resolveSettings } from "../engine/conntrack/settings.js";
import { NFPROTO_IPV4, NFPROTO_IPV6 } from "../engine/decode/packet-batch.js";
import { addrWords, Packets, TH_ACK, TH_SYN } from "./helpers/packets.js";

const T0 = 1_700_000_000;

function python(code: string): string | null {
  try {
    return execFileSync("python3", ["-c", code], { encoding: "utf8" });
  } catch {
    return null;
  }
}

const V6 = [
  "fd99::1",
  "::",
  "::1",
  "1::",
  "fe80::1:2",
  "2001:db8:0:0:1:0:0:1",
  "1:0:2:0:3:0:4:0",
  "0:0:1:0:0:0:1:0",
  "::ffff:1.2.3.4",
  "::1.2.3.4",
  "2001:db8:85a3::8a2e:370:7334",
  "ff02::1:ff00:1",
  "0:0:0:0:0:1:0:0",
];

describe("addresses as conntrack prints them", () => {
  it("IPv4 dotted quad", () => {
    expect(formatAddr(new Uint32Array(addrWords("10.99.0.254")), 0, NFPROTO_IPV4)).toBe("10.99.0.254");
  });

  it("IPv6 exactly like glibc inet_ntop (checked against python's socket.inet_ntop)", () => {
    const got = V6.map((a) => formatAddr(new Uint32Array(addrWords(a)), 0, NFPROTO_IPV6));
    const want = python(
      `import socket,json;print(json.dumps([socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, a)) for a in ${JSON.stringify(V6)}]))`,
    );
    if (want === null) {
      console.log("python3 not available: comparing against known glibc outputs only");
      expect(got.slice(0, 4)).toEqual(["fd99::1", "::", "::1", "1::"]);
      return;
    }
    expect(got).toEqual(JSON.parse(want));
  });
});

describe("oracle JSON-lines format", () => {
  it("pyJson matches python json.dumps(sort_keys=True)", () => {
    const v = { b: [1, "x"], a: { z: null, y: true, x: false }, "a b": 'q"', l3num: 10, l3: "ipv6" };
    const want = python(
      `import json;print(json.dumps(${JSON.stringify(JSON.stringify(v))} and json.loads(${JSON.stringify(JSON.stringify(v))}), sort_keys=True))`,
    );
    if (want === null) return;
    expect(pyJson(v)).toBe(want.trim());
  });

  it("dumps tuples, flags, states, timeouts and sorts like ko_parse.py", () => {
    const ct = new Conntrack(resolveSettings());
    const p = new Packets();
    // TCP handshake -> ESTABLISHED + ASSURED, a one-way UDP flow, an ICMPv6 echo, an unknown protocol.
    p.tcp(T0, "10.0.0.9", 40000, "10.0.0.2", 80, TH_SYN, { seq: 100 });
    p.tcp(T0 + 0.01, "10.0.0.2", 80, "10.0.0.9", 40000, TH_SYN | TH_ACK, { seq: 500, ack: 101 });
    p.tcp(T0 + 0.02, "10.0.0.9", 40000, "10.0.0.2", 80, TH_ACK, { seq: 101, ack: 501 });
    p.udp(T0, "10.0.0.10", 5353, "10.0.0.2", 53);
    p.icmp(T0, "fd00::1", "fd00::2", 128, 9);
    p.add({ t: T0, src: "10.0.0.1", dst: "10.0.0.2", proto: 50 });
    for (let i = 0; i < p.batch.count; i++) ct.process(p.batch, i);
    ct.advanceTo(T0 + 10.5);
    const lines = tableJsonl(ct, ct.now).trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    const es = lines.map((l) => JSON.parse(l));
    // Sort: l3num, then protocol number.
    expect(es.map((e) => [e.l3num, e.proto])).toEqual([
      [2, 6],
      [2, 17],
      [2, 50],
      [10, 58],
    ]);
    expect(es[0]).toMatchObject({
      state: "ESTABLISHED",
      flags: ["ASSURED"],
      assured: true,
      unreplied: false,
    });
    expect(es[0].timeout).toBe(432000 - 11);
    expect(es[1]).toMatchObject({ l4: "udp", flags: ["UNREPLIED"], timeout: 19, state: null });
    expect(es[1].reply).toEqual({ src: "10.0.0.2", dst: "10.0.0.10", sport: 53, dport: 5353 });
    expect(es[2]).toMatchObject({ l4: "unknown", orig: { src: "10.0.0.1", dst: "10.0.0.2" }, timeout: 589 });
    expect(es[3]).toMatchObject({ l4: "icmpv6", orig: { type: 128, code: 0, id: 9 }, reply: { type: 129 } });
    // Each line is the canonical serialization of itself.
    for (const l of lines) expect(pyJson(JSON.parse(l))).toBe(l);
    const text = liveEntries(ct, ct.now).map(entryText);
    expect(text[0]).toBe(
      "ipv4     2 tcp      6 431989 ESTABLISHED src=10.0.0.9 dst=10.0.0.2 sport=40000 dport=80 src=10.0.0.2 dst=10.0.0.9 sport=80 dport=40000 [ASSURED] mark=0 use=1",
    );
    expect(text[1]).toContain("dport=53 [UNREPLIED] src=10.0.0.2");
    // Expired entries are not dumped even before they are reaped.
    // UDP (unreplied, 30 s) and ICMPv6 (30 s) expire at T0 + 30; TCP and the generic entry remain.
    ct.advanceTo(T0 + 31);
    expect(ct.count).toBe(4);
    expect(tableJsonl(ct, ct.now).trimEnd().split("\n")).toHaveLength(2);
  });

  it("conntrack -S text has the kernel's field order", () => {
    const ct = new Conntrack(resolveSettings());
    ct.stats.invalid = 3;
    ct.stats.chaintoolong = 1;
    expect(conntrackSText(ct.stats)).toBe(
      "cpu=0   \tfound=0 invalid=3 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=1 \n",
    );
  });
});
