/**
 * Rows the decoder marks L3_ROUTE_MARTIAN: nf_conntrack_in runs on them in PRE_ROUTING (a new entry is
 * allocated, counts against nf_conntrack_max, may early_drop), then ip_route_input drops the skb before
 * nf_confirm, so the unconfirmed entry is freed and never appears in the table.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { IPS_SEEN_REPLY } from "../engine/conntrack/l4proto.js";
import { Conntrack } from "../engine/conntrack/nf-conntrack-in.js";
import { resolveSettings } from "../engine/conntrack/settings.js";
import { L3_ROUTE_MARTIAN, TH_SYN } from "../engine/decode/packet-batch.js";
import { replayCaptures } from "../engine/replay.js";
import { checkInvariants } from "./helpers/ct.js";
import { Packets } from "./helpers/packets.js";

const T0 = 1_700_000_000;

function mk(over: Parameters<typeof resolveSettings>[0] = {}): Conntrack {
  return new Conntrack(resolveSettings(over));
}

function martian(p: Packets, i: number): number {
  p.batch.l3flags[i] = L3_ROUTE_MARTIAN;
  return i;
}

describe("martian rows (ip_route_input drop after conntrack)", () => {
  it("a martian first packet is tracked as NEW but its entry is never confirmed", () => {
    const ct = mk();
    const p = new Packets();
    const a = martian(p, p.udp(T0, "224.0.0.5", 5000, "10.0.0.2", 53));
    ct.process(p.batch, a);
    expect(ct.count).toBe(0);
    expect(ct.stats.new).toBe(0);
    expect(ct.stats.insert).toBe(0);
    expect(ct.stats.insert_failed).toBe(0);
    expect(ct.stats.drop).toBe(0);
    expect(ct.ctstate.new).toBe(1);
    expect(ct.table.freeCount()).toBe(ct.table.capacity);
    // The same flow again, now routable: a normal new entry.
    ct.process(p.batch, p.udp(T0 + 1, "224.0.0.5", 5000, "10.0.0.2", 53));
    expect(ct.count).toBe(1);
    expect(ct.stats.new).toBe(1);
    expect(ct.ctstate.new).toBe(2);
    expect(checkInvariants(ct)).toEqual([]);
  });

  it("a TCP SYN from a martian source leaves nothing behind", () => {
    const ct = mk();
    const p = new Packets();
    ct.process(p.batch, martian(p, p.tcp(T0, "0.1.2.3", 40000, "10.0.0.2", 80, TH_SYN)));
    expect(ct.count).toBe(0);
    expect(ct.stats.new).toBe(0);
    expect(checkInvariants(ct)).toEqual([]);
  });

  it("a martian packet of an existing entry updates it like any packet (conntrack ran before routing)", () => {
    const ct = mk();
    const p = new Packets();
    ct.process(p.batch, p.udp(T0, "10.0.0.1", 5000, "224.0.0.9", 520));
    expect(ct.count).toBe(1);
    // The "reply" comes from the multicast address: a martian source, but it matches the entry's reply tuple.
    ct.process(p.batch, martian(p, p.udp(T0 + 1, "224.0.0.9", 520, "10.0.0.1", 5000)));
    expect(ct.count).toBe(1);
    let status = 0;
    ct.forEachEntry((e) => {
      status = ct.store.statusOf(e);
    });
    expect(status & IPS_SEEN_REPLY).toBe(IPS_SEEN_REPLY);
    expect(ct.ctstate.est).toBe(1);
  });

  it("still counts against nf_conntrack_max: a full table early_drops for a martian", () => {
    const ct = mk({ nf_conntrack_max: 2, nf_conntrack_buckets: 1 });
    const p = new Packets();
    ct.process(p.batch, p.udp(T0, "10.0.0.1", 1000, "10.0.0.2", 53));
    ct.process(p.batch, p.udp(T0, "10.0.0.1", 1001, "10.0.0.2", 53));
    expect(ct.count).toBe(2);
    ct.process(p.batch, martian(p, p.udp(T0 + 1, "255.255.255.255", 68, "10.0.0.2", 67)));
    // Both unassured entries of the (only) bucket were early-dropped to make room, then the martian died.
    expect(ct.stats.early_drop).toBe(2);
    expect(ct.count).toBe(0);
    expect(ct.stats.new).toBe(2);
    expect(checkInvariants(ct)).toEqual([]);
  });
});

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const capture = path.resolve(repoRoot, "../shared/captures/mixed-tcpreplay-vlan-mpls-ipv6.pcap");

/** ip_route_input's martian source test for IPv4 word 0 (multicast, limited broadcast, 0/8). */
function martianSource(w: number): boolean {
  return w >>> 28 === 0xe || w === 0xffffffff || w >>> 24 === 0;
}

describe.skipIf(!existsSync(capture))("martians in a real capture", () => {
  if (!existsSync(capture)) console.log(`skipped: ${capture} not found (../shared absent)`);
  it("mixed-tcpreplay-vlan-mpls-ipv6.pcap: the multicast-source IGMP gets no entry", async () => {
    const r = await replayCaptures([capture], resolveSettings());
    expect(r.decode.martian).toBeGreaterThan(0);
    const store = r.conntrack.store;
    const bad: number[] = [];
    r.conntrack.forEachEntry((e) => {
      const o = store.tupleOff(e * 2); // ORIGINAL tuple: src word 0 first, l3num << 8 | protonum at word 9
      const l3 = store.tuple[o + 9]! >>> 8;
      if (l3 === 2 && martianSource(store.tuple[o]!)) bad.push(e);
    });
    expect(bad).toEqual([]);
    expect(checkInvariants(r.conntrack)).toEqual([]);
  });
});
