import { describe, expect, it } from "vitest";
import { T_PORTS } from "../engine/conntrack/ct-store.js";
import { IPS_ASSURED, IPS_CONFIRMED, V_ACCEPT, V_INVALID } from "../engine/conntrack/l4proto.js";
import {
  icmpInvertible,
  icmpInvertType,
  icmpIsError,
  icmpTracker,
  icmpValidNew,
} from "../engine/conntrack/proto-icmp.js";
import {
  icmpv6Invertible,
  icmpv6InvertType,
  icmpv6IsError,
  icmpv6IsUntracked,
  icmpv6Tracker,
  icmpv6ValidNew,
} from "../engine/conntrack/proto-icmpv6.js";
import { resolveSettings } from "../engine/conntrack/settings.js";
import { L4_HDR_OK, NFPROTO_IPV4, NFPROTO_IPV6 } from "../engine/decode/packet-batch.js";
import { FakeCore, HZ, pkt } from "./helpers/proto-fake.js";

const ORIG = 0;
const REPLY = 1;

// Transcribed from RFC 792/950 request/reply pairs and the kernel's icmp invmap (reference §1.4),
// independently of engine/conntrack/proto-icmp.ts.
const V4_PAIRS: Record<number, number> = { 8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17 };
const V4_VALID_NEW = new Set([8, 13, 15, 17]);
const V4_ERRORS = new Set([3, 4, 5, 11, 12]);
// RFC 4443 echo, RFC 4620 node information.
const V6_PAIRS: Record<number, number> = { 128: 129, 129: 128, 139: 140, 140: 139 };
const V6_VALID_NEW = new Set([128, 139]);
// MLD (130-132), RS/RA/NS/NA (133-136), MLDv2 report (143).
const V6_NOCT = new Set([130, 131, 132, 133, 134, 135, 136, 143]);

const ALL_TYPES = Array.from({ length: 256 }, (_, t) => t);

describe("ICMP tables", () => {
  it.each(ALL_TYPES)("ICMPv4 type %i: inverse, creatable, error", (t) => {
    expect(icmpInvertType(t)).toBe(V4_PAIRS[t] ?? -1);
    expect(icmpInvertible(t)).toBe(t in V4_PAIRS);
    expect(icmpValidNew(t)).toBe(V4_VALID_NEW.has(t));
    expect(icmpIsError(t)).toBe(V4_ERRORS.has(t));
  });

  it.each(ALL_TYPES)("ICMPv6 type %i: inverse, creatable, untracked, error", (t) => {
    expect(icmpv6InvertType(t)).toBe(V6_PAIRS[t] ?? -1);
    expect(icmpv6Invertible(t)).toBe(t in V6_PAIRS);
    expect(icmpv6ValidNew(t)).toBe(V6_VALID_NEW.has(t));
    expect(icmpv6IsUntracked(t)).toBe(V6_NOCT.has(t));
    expect(icmpv6IsError(t)).toBe(t < 128);
  });
});

/** Allocates an entry whose ORIGINAL tuple carries ICMP (type, code, id) as the core would. */
function icmpEntry(c: FakeCore, proto: number, type: number, id = 0x1234, l3 = NFPROTO_IPV4): number {
  return c.alloc(proto, id, (type << 8) | 0, l3);
}

describe("icmpTracker (nf_conntrack_icmp_packet)", () => {
  const echo = pkt({ proto: 1, flags: L4_HDR_OK, sport: 0x1234, dport: 8 << 8 });
  const echoReply = pkt({ proto: 1, flags: L4_HDR_OK, sport: 0x1234, dport: 0 << 8 });

  it("echo request creates, the reply is accepted, 30 s refreshed by every packet, never ASSURED", () => {
    const c = new FakeCore();
    const ct = icmpEntry(c, 1, 8);
    expect(c.at(0).process(icmpTracker, ct, echo, ORIG)).toBe(V_ACCEPT);
    expect(c.status(ct) & IPS_CONFIRMED).toBe(IPS_CONFIRMED);
    expect(c.remaining(ct)).toBe(30);
    expect(c.at(0.01).process(icmpTracker, ct, echoReply, REPLY)).toBe(V_ACCEPT);
    expect(c.remaining(ct)).toBe(30);
    expect(c.at(1).process(icmpTracker, ct, echo, ORIG)).toBe(V_ACCEPT);
    expect(c.at(1.02).process(icmpTracker, ct, echoReply, REPLY)).toBe(V_ACCEPT);
    expect(c.remaining(ct)).toBe(30);
    expect(c.at(20).remaining(ct)).toBe(11.02);
    expect(c.status(ct) & IPS_ASSURED).toBe(0);
    expect(icmpTracker.stateName(c.store, ct)).toBeNull();
  });

  it.each([0, 14, 16, 18])("type %i as the first packet (invertible reply) is invalid and freed", (type) => {
    const c = new FakeCore();
    const ct = icmpEntry(c, 1, type);
    const p = pkt({ proto: 1, flags: L4_HDR_OK, sport: 0x1234, dport: type << 8 });
    expect(c.at(0).process(icmpTracker, ct, p, ORIG)).toBe(V_INVALID);
    expect(c.freed.has(ct)).toBe(true);
  });

  it.each([8, 13, 15, 17])("request type %i creates", (type) => {
    const c = new FakeCore();
    const ct = icmpEntry(c, 1, type);
    const p = pkt({ proto: 1, flags: L4_HDR_OK, sport: 0x1234, dport: type << 8 });
    expect(c.at(0).process(icmpTracker, ct, p, ORIG)).toBe(V_ACCEPT);
  });

  it("reads the type from the entry's ORIGINAL tuple, not from the packet", () => {
    const c = new FakeCore();
    const ct = icmpEntry(c, 1, 8);
    c.at(0).process(icmpTracker, ct, echo, ORIG);
    // Corrupting the stored ORIGINAL type to a reply type makes every later packet invalid (kernel checks
    // tuplehash[ORIGINAL].dst.u.icmp.type on each packet).
    c.store.tuple[c.store.tupleOff(ct * 2) + T_PORTS] = (0x1234 << 16) | (0 << 8);
    expect(c.at(1).process(icmpTracker, ct, echo, ORIG)).toBe(V_INVALID);
    expect(c.remaining(ct)).toBe(29);
  });

  it("ICMP (protocol 1) carried in IPv6 is invalid", () => {
    const c = new FakeCore();
    const ct = icmpEntry(c, 1, 8, 1, NFPROTO_IPV6);
    expect(c.at(0).process(icmpTracker, ct, pkt({ l3: NFPROTO_IPV6, proto: 1 }), ORIG)).toBe(V_INVALID);
  });

  it("uses nf_conntrack_icmp_timeout", () => {
    const c = new FakeCore(resolveSettings({ nf_conntrack_icmp_timeout: 5 }, HZ));
    const ct = icmpEntry(c, 1, 8);
    c.at(0).process(icmpTracker, ct, echo, ORIG);
    expect(c.remaining(ct)).toBe(5);
  });
});

describe("icmpv6Tracker (nf_conntrack_icmpv6_packet)", () => {
  const v6 = (type: number) =>
    pkt({ l3: NFPROTO_IPV6, proto: 58, flags: L4_HDR_OK, sport: 7, dport: type << 8 });

  it("echo request creates, reply accepted, 30 s, never ASSURED", () => {
    const c = new FakeCore();
    const ct = icmpEntry(c, 58, 128, 7, NFPROTO_IPV6);
    expect(c.at(0).process(icmpv6Tracker, ct, v6(128), ORIG)).toBe(V_ACCEPT);
    expect(c.at(0.5).process(icmpv6Tracker, ct, v6(129), REPLY)).toBe(V_ACCEPT);
    expect(c.remaining(ct)).toBe(30);
    expect(c.status(ct) & IPS_ASSURED).toBe(0);
  });

  it.each([129, 140])("type %i as the first packet is invalid", (type) => {
    const c = new FakeCore();
    const ct = icmpEntry(c, 58, type, 7, NFPROTO_IPV6);
    expect(c.at(0).process(icmpv6Tracker, ct, v6(type), ORIG)).toBe(V_INVALID);
    expect(c.freed.has(ct)).toBe(true);
  });

  it("node information query creates", () => {
    const c = new FakeCore();
    const ct = icmpEntry(c, 58, 139, 7, NFPROTO_IPV6);
    expect(c.at(0).process(icmpv6Tracker, ct, v6(139), ORIG)).toBe(V_ACCEPT);
  });

  it("ICMPv6 in IPv4 is invalid", () => {
    const c = new FakeCore();
    const ct = icmpEntry(c, 58, 128, 7, NFPROTO_IPV4);
    expect(c.at(0).process(icmpv6Tracker, ct, pkt({ l3: NFPROTO_IPV4, proto: 58 }), ORIG)).toBe(V_INVALID);
  });

  it("uses nf_conntrack_icmpv6_timeout", () => {
    const c = new FakeCore(resolveSettings({ nf_conntrack_icmpv6_timeout: 9 }, HZ));
    const ct = icmpEntry(c, 58, 128, 7, NFPROTO_IPV6);
    c.at(0).process(icmpv6Tracker, ct, v6(128), ORIG);
    expect(c.remaining(ct)).toBe(9);
  });
});
