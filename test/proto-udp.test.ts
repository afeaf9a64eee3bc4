import { describe, expect, it } from "vitest";
import { IPS_ASSURED, IPS_SEEN_REPLY, V_ACCEPT, V_INVALID } from "../engine/conntrack/l4proto.js";
import { udpliteTracker, udpTracker } from "../engine/conntrack/proto-udp.js";
import { resolveSettings } from "../engine/conntrack/settings.js";
import { L4_CSUM_BAD, L4_CSUM_UNKNOWN, L4_HDR_OK, L4_UDP_LEN_BAD } from "../engine/decode/packet-batch.js";
import { FakeCore, HZ, pkt } from "./helpers/proto-fake.js";

const ORIG = 0;
const REPLY = 1;
const UDP = 17;
const UDPLITE = 136;

// Kernel 6.18 defaults (sysctl nf_conntrack_udp_timeout / _stream), seconds.
const UNREPLIED = 30;
const STREAM = 120;

describe("udpTracker (nf_conntrack_udp_packet, 6.18 stream rule)", () => {
  const good = pkt({ proto: UDP, flags: L4_HDR_OK });

  it("query, reply, third packet before 2 s: replied but not assured, 30 s", () => {
    const c = new FakeCore();
    const ct = c.alloc(UDP, 5353, 53);
    expect(c.at(0).process(udpTracker, ct, good, ORIG)).toBe(V_ACCEPT);
    expect(c.remaining(ct)).toBe(UNREPLIED);
    expect(c.at(0.05).process(udpTracker, ct, good, REPLY)).toBe(V_ACCEPT);
    // The reply itself runs before SEEN_REPLY is set: still the unreplied timeout, not assured.
    expect(c.status(ct) & IPS_SEEN_REPLY).toBe(IPS_SEEN_REPLY);
    expect(c.status(ct) & IPS_ASSURED).toBe(0);
    expect(c.remaining(ct)).toBe(UNREPLIED);
    expect(c.at(1.5).process(udpTracker, ct, good, ORIG)).toBe(V_ACCEPT);
    expect(c.status(ct) & IPS_ASSURED).toBe(0);
    expect(c.remaining(ct)).toBe(UNREPLIED);
  });

  it("third packet at 2.2 s: ASSURED, 120 s", () => {
    const c = new FakeCore();
    const ct = c.alloc(UDP, 40000, 53);
    c.at(0).process(udpTracker, ct, good, ORIG);
    c.at(0.1).process(udpTracker, ct, good, REPLY);
    expect(c.at(2.2).process(udpTracker, ct, good, ORIG)).toBe(V_ACCEPT);
    expect(c.status(ct) & IPS_ASSURED).toBe(IPS_ASSURED);
    expect(c.remaining(ct)).toBe(STREAM);
    // Stays a stream afterwards, in either direction.
    c.at(50).process(udpTracker, ct, good, REPLY);
    expect(c.remaining(ct)).toBe(STREAM);
  });

  it("stream_ts is strict: exactly 2 s after the first packet is not yet a stream, one jiffy later is", () => {
    const c = new FakeCore();
    const ct = c.alloc(UDP, 1, 2);
    c.at(0).process(udpTracker, ct, good, ORIG);
    c.at(1).process(udpTracker, ct, good, REPLY);
    c.at(2).process(udpTracker, ct, good, ORIG);
    expect(c.status(ct) & IPS_ASSURED).toBe(0);
    c.at(2 + 1 / HZ).process(udpTracker, ct, good, ORIG);
    expect(c.status(ct) & IPS_ASSURED).toBe(IPS_ASSURED);
  });

  it("2 s are counted from the first packet, not from the reply, and survive the u32 jiffies wrap", () => {
    const c = new FakeCore();
    const ct = c.alloc(UDP, 1, 2);
    // The fake clock starts 300 s before the u32 wrap (INITIAL_JIFFIES), so this crosses it.
    c.at(299).process(udpTracker, ct, good, ORIG);
    c.at(300.9).process(udpTracker, ct, good, REPLY);
    c.at(301.2).process(udpTracker, ct, good, ORIG);
    expect(c.status(ct) & IPS_ASSURED).toBe(IPS_ASSURED);
    expect(c.remaining(ct)).toBe(STREAM);
  });

  it("one-way traffic never assures and keeps 30 s", () => {
    const c = new FakeCore();
    const ct = c.alloc(UDP, 1, 2);
    for (let t = 0; t < 20; t += 5) c.at(t).process(udpTracker, ct, good, ORIG);
    expect(c.status(ct) & IPS_ASSURED).toBe(0);
    expect(c.remaining(ct)).toBe(UNREPLIED);
  });

  it.each([
    ["short header", 0],
    ["bad length", L4_HDR_OK | L4_UDP_LEN_BAD],
    ["bad checksum", L4_HDR_OK | L4_CSUM_BAD],
  ])("udp_error: %s -> invalid, a new entry is freed", (_name, flags) => {
    const c = new FakeCore();
    const ct = c.alloc(UDP, 1, 2);
    expect(c.at(0).process(udpTracker, ct, pkt({ proto: UDP, flags }), ORIG)).toBe(V_INVALID);
    expect(c.freed.has(ct)).toBe(true);
  });

  it("an invalid packet does not refresh a confirmed entry", () => {
    const c = new FakeCore();
    const ct = c.alloc(UDP, 1, 2);
    c.at(0).process(udpTracker, ct, good, ORIG);
    expect(c.at(10).process(udpTracker, ct, pkt({ flags: L4_HDR_OK | L4_UDP_LEN_BAD }), ORIG)).toBe(
      V_INVALID,
    );
    expect(c.remaining(ct)).toBe(UNREPLIED - 10);
  });

  it("bad checksum is accepted with nf_conntrack_checksum=0; an unverifiable checksum is always accepted", () => {
    const off = new FakeCore(resolveSettings({ nf_conntrack_checksum: 0 }, HZ));
    const a = off.alloc(UDP, 1, 2);
    expect(off.at(0).process(udpTracker, a, pkt({ flags: L4_HDR_OK | L4_CSUM_BAD }), ORIG)).toBe(V_ACCEPT);
    const on = new FakeCore();
    const b = on.alloc(UDP, 1, 2);
    expect(on.at(0).process(udpTracker, b, pkt({ flags: L4_HDR_OK | L4_CSUM_UNKNOWN }), ORIG)).toBe(V_ACCEPT);
  });

  it("uses the configured sysctl timeouts", () => {
    const c = new FakeCore(
      resolveSettings({ nf_conntrack_udp_timeout: 7, nf_conntrack_udp_timeout_stream: 99 }, HZ),
    );
    const ct = c.alloc(UDP, 1, 2);
    c.at(0).process(udpTracker, ct, good, ORIG);
    expect(c.remaining(ct)).toBe(7);
    c.at(0.5).process(udpTracker, ct, good, REPLY);
    c.at(3).process(udpTracker, ct, good, ORIG);
    expect(c.remaining(ct)).toBe(99);
  });

  it("is stateless for reporting and never early-droppable by protocol", () => {
    const c = new FakeCore();
    const ct = c.alloc(UDP, 1, 2);
    c.at(0).process(udpTracker, ct, good, ORIG);
    expect(udpTracker.stateName(c.store, ct)).toBeNull();
    expect(udpTracker.canEarlyDrop(c.store, ct)).toBe(false);
    expect(udpTracker.protonum).toBe(17);
  });
});

describe("udpliteTracker (nf_conntrack_udplite_packet)", () => {
  const good = pkt({ proto: UDPLITE, flags: L4_HDR_OK });

  it("assures on the first packet after the reply, with the stream timeout, without the 2 s wait", () => {
    const c = new FakeCore();
    const ct = c.alloc(UDPLITE, 1, 2);
    c.at(0).process(udpliteTracker, ct, good, ORIG);
    expect(c.remaining(ct)).toBe(UNREPLIED);
    c.at(0.1).process(udpliteTracker, ct, good, REPLY);
    expect(c.status(ct) & IPS_ASSURED).toBe(0);
    c.at(0.2).process(udpliteTracker, ct, good, ORIG);
    expect(c.status(ct) & IPS_ASSURED).toBe(IPS_ASSURED);
    expect(c.remaining(ct)).toBe(STREAM);
    expect(udpliteTracker.protonum).toBe(136);
  });

  it("invalid checksum coverage / missing checksum (L4_UDP_LEN_BAD) and bad checksum are invalid", () => {
    const c = new FakeCore();
    const a = c.alloc(UDPLITE, 1, 2);
    expect(c.at(0).process(udpliteTracker, a, pkt({ flags: L4_HDR_OK | L4_UDP_LEN_BAD }), ORIG)).toBe(
      V_INVALID,
    );
    const b = c.alloc(UDPLITE, 1, 2);
    expect(c.at(0).process(udpliteTracker, b, pkt({ flags: L4_HDR_OK | L4_CSUM_BAD }), ORIG)).toBe(V_INVALID);
  });
});
