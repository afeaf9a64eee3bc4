/**
 * tcpTracker driven by packet sequences through a minimal fake core (test/helpers/tcp-fake.ts). Each
 * expectation is derived from the kernel's rules (reference §6 and 6.x nf_conntrack_proto_tcp.c, worked
 * through by hand in the comments), not from the implementation.
 */
import { describe, expect, it } from "vitest";
import { V_ACCEPT, V_INVALID } from "../engine/conntrack/l4proto.js";
import { tcpTracker } from "../engine/conntrack/proto-tcp.js";
import { Conn } from "./helpers/tcp-fake.js";

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;
const URG = 0x20;

const C = 1_000_000; // client ISN
const S = 3_000_000_000; // server ISN (> 2^31: exercises u32 arithmetic)
const u32 = (x: number): number => x >>> 0;

/** SYN, SYN/ACK, ACK at t0, t0+0.01, t0+0.02 with window scaling (7) and SACK on both sides. */
function handshake(c: Conn, t0 = 0): void {
  expect(c.send("c", { flags: SYN, seq: C, win: 64240, wscale: 7, sackPerm: true }, t0).verdict).toBe(
    V_ACCEPT,
  );
  expect(
    c.send("s", { flags: SYN | ACK, seq: S, ack: C + 1, win: 65160, wscale: 7, sackPerm: true }, t0 + 0.01)
      .verdict,
  ).toBe(V_ACCEPT);
  expect(c.send("c", { flags: ACK, seq: C + 1, ack: u32(S + 1), win: 502 }, t0 + 0.02).verdict).toBe(
    V_ACCEPT,
  );
}

describe("three-way handshake", () => {
  it("SYN -> SYN_SENT 120 s, SYN/ACK -> SYN_RECV 60 s, ACK -> ESTABLISHED ASSURED 432000 s", () => {
    const c = new Conn();
    c.send("c", { flags: SYN, seq: C, win: 64240, wscale: 7, sackPerm: true }, 0);
    expect(c.state()).toBe("SYN_SENT");
    expect(c.assured()).toBe(false);
    expect(c.remaining(0)).toBe(120);
    c.send("s", { flags: SYN | ACK, seq: S, ack: C + 1, win: 65160, wscale: 7, sackPerm: true }, 1);
    expect(c.state()).toBe("SYN_RECV");
    expect(c.assured()).toBe(false);
    expect(c.remaining(1)).toBe(60);
    c.send("c", { flags: ACK, seq: C + 1, ack: u32(S + 1), win: 502 }, 2);
    expect(c.state()).toBe("ESTABLISHED");
    expect(c.assured()).toBe(true);
    expect(c.remaining(2)).toBe(432000);
    expect(tcpTracker.canEarlyDrop(c.ctx.store, c.ct)).toBe(false);
  });

  it("server data not yet acknowledged clamps ESTABLISHED to 300 s until the client ACKs it", () => {
    const c = new Conn();
    handshake(c);
    c.send("s", { flags: ACK | PSH, seq: u32(S + 1), ack: C + 1, win: 509, len: 1000 }, 1);
    expect(c.remaining(1)).toBe(300); // DATA_UNACKNOWLEDGED on the server side
    c.send("c", { flags: ACK, seq: C + 1, ack: u32(S + 1001), win: 502 }, 2);
    expect(c.remaining(2)).toBe(432000); // ack == receiver.td_end clears it
  });
});

describe("teardown", () => {
  it("client FIN -> FIN_WAIT 120, server ACK -> CLOSE_WAIT 60, server FIN -> LAST_ACK 30, last ACK -> TIME_WAIT 120", () => {
    const c = new Conn();
    handshake(c);
    c.send("c", { flags: FIN | ACK, seq: C + 1, ack: u32(S + 1), win: 502 }, 10);
    expect(c.state()).toBe("FIN_WAIT");
    expect(c.remaining(10)).toBe(120);
    c.send("s", { flags: ACK, seq: u32(S + 1), ack: C + 2, win: 509 }, 10.5);
    expect(c.state()).toBe("CLOSE_WAIT");
    expect(c.remaining(10.5)).toBe(60);
    expect(tcpTracker.canEarlyDrop(c.ctx.store, c.ct)).toBe(true);
    c.send("s", { flags: FIN | ACK, seq: u32(S + 1), ack: C + 2, win: 509 }, 11);
    expect(c.state()).toBe("LAST_ACK");
    expect(c.remaining(11)).toBe(30);
    c.send("c", { flags: ACK, seq: C + 2, ack: u32(S + 2), win: 502 }, 12);
    expect(c.state()).toBe("TIME_WAIT");
    expect(c.assured()).toBe(true);
    expect(c.remaining(12)).toBe(120);
    expect(c.alive(131.9)).toBe(true);
    expect(c.alive(132.01)).toBe(false);
  });

  it("RFC 5961: a challenge ACK to a SYN in LAST_ACK does not move to TIME_WAIT", () => {
    const c = new Conn();
    handshake(c);
    c.send("c", { flags: FIN | ACK, seq: C + 1, ack: u32(S + 1), win: 502 }, 1);
    c.send("s", { flags: FIN | ACK, seq: u32(S + 1), ack: C + 2, win: 509 }, 1.1);
    expect(c.state()).toBe("LAST_ACK");
    // A new SYN from the client in LAST_ACK is ignored (annotated, EXP_CHALLENGE_ACK set).
    expect(c.send("c", { flags: SYN, seq: C + 50000, win: 64240 }, 2).verdict).toBe(V_ACCEPT);
    expect(c.state()).toBe("LAST_ACK");
    // The server's challenge ACK: table says TIME_WAIT, the special case keeps LAST_ACK, no refresh.
    expect(c.send("s", { flags: ACK, seq: u32(S + 2), ack: C + 2, win: 509 }, 3).verdict).toBe(V_ACCEPT);
    expect(c.state()).toBe("LAST_ACK");
    expect(c.remaining(3)).toBeCloseTo(30 - 1.9, 5);
    // The client's real last ACK completes the close.
    c.send("c", { flags: ACK, seq: C + 2, ack: u32(S + 2), win: 502 }, 4);
    expect(c.state()).toBe("TIME_WAIT");
  });
});

describe("RST", () => {
  it("RST before any reply deletes the entry (nf_ct_kill), packet accepted", () => {
    const c = new Conn();
    c.send("c", { flags: SYN, seq: C, win: 64240 }, 0);
    const r = c.send("s", { flags: RST | ACK, seq: 0, ack: C + 1, win: 0 }, 0.01);
    expect(r.verdict).toBe(V_ACCEPT);
    expect(r.ct).toBe(-1);
    expect(c.ctx.kills).toBe(1);
  });

  it("RST in ESTABLISHED with the exact sequence -> CLOSE 10 s", () => {
    const c = new Conn();
    handshake(c);
    const r = c.send("s", { flags: RST, seq: u32(S + 1), win: 0 }, 5);
    expect(r.verdict).toBe(V_ACCEPT);
    expect(c.state()).toBe("CLOSE");
    expect(c.remaining(5)).toBe(10);
    expect(c.alive(14.99)).toBe(true);
    expect(c.alive(15.01)).toBe(false);
  });

  it("RST|ACK from the client with its exact sequence -> CLOSE 10 s", () => {
    const c = new Conn();
    handshake(c);
    c.send("c", { flags: RST | ACK, seq: C + 1, ack: u32(S + 1), win: 0 }, 5);
    expect(c.state()).toBe("CLOSE");
    expect(c.remaining(5)).toBe(10);
  });

  it("RST with a sequence below td_maxack is invalid: no state change, no refresh", () => {
    const c = new Conn();
    handshake(c);
    const r = c.send("s", { flags: RST, seq: u32(S + 1 - 1000), win: 0 }, 5);
    expect(r.verdict).toBe(V_INVALID);
    expect(c.state()).toBe("ESTABLISHED");
    expect(c.remaining(5)).toBeCloseTo(432000 - 4.98, 5);
  });

  it("with nf_conntrack_tcp_ignore_invalid_rst=1 that RST passes: ESTABLISHED kept (inexact), timeout 10 s", () => {
    const c = new Conn({ nf_conntrack_tcp_ignore_invalid_rst: 1 });
    handshake(c);
    const r = c.send("s", { flags: RST, seq: u32(S + 1 - 1000), win: 0 }, 5);
    expect(r.verdict).toBe(V_ACCEPT);
    expect(c.state()).toBe("ESTABLISHED");
    expect(c.remaining(5)).toBe(10);
  });

  it("in-window but inexact RST in an assured ESTABLISHED keeps the state (challenge ACK), timeout 10 s", () => {
    const c = new Conn();
    handshake(c);
    c.send("s", { flags: RST, seq: u32(S + 101), win: 0 }, 5);
    expect(c.state()).toBe("ESTABLISHED");
    expect(c.remaining(5)).toBe(10);
  });

  it("RST right after the same side's data (seq == last_end) closes", () => {
    const c = new Conn();
    handshake(c);
    c.send("s", { flags: ACK | PSH, seq: u32(S + 1), ack: C + 1, win: 509, len: 100 }, 1);
    c.send("s", { flags: RST, seq: u32(S + 101), win: 0 }, 1.01);
    expect(c.state()).toBe("CLOSE");
  });
});

describe("RST in closing states", () => {
  it("skips sequence validation (tcp_can_early_drop states): a RST below td_maxack closes CLOSE_WAIT", () => {
    const c = new Conn();
    handshake(c);
    c.send("c", { flags: FIN | ACK, seq: C + 1, ack: u32(S + 1), win: 502 }, 1);
    c.send("s", { flags: ACK, seq: u32(S + 1), ack: C + 2, win: 509 }, 1.1);
    expect(c.state()).toBe("CLOSE_WAIT");
    const r = c.send("s", { flags: RST, seq: u32(S + 1 - 100_000), win: 0 }, 2);
    expect(r.verdict).toBe(V_ACCEPT);
    expect(c.state()).toBe("CLOSE");
    expect(c.remaining(2)).toBe(10);
  });
});

describe("SYN retransmission", () => {
  it("does not renew the SYN_SENT timeout", () => {
    const c = new Conn();
    c.send("c", { flags: SYN, seq: C, win: 64240 }, 0);
    const r = c.send("c", { flags: SYN, seq: C, win: 64240 }, 3);
    expect(r.verdict).toBe(V_ACCEPT);
    expect(c.state()).toBe("SYN_SENT");
    expect(c.remaining(3)).toBe(117);
    c.send("c", { flags: SYN, seq: C, win: 64240 }, 110);
    expect(c.alive(119.99)).toBe(true);
    expect(c.alive(120.01)).toBe(false);
  });
});

describe("mid-stream pickup (nf_conntrack_tcp_loose)", () => {
  it("ACK creates ESTABLISHED, 300 s until a reply, ASSURED and 432000 s on the next packet", () => {
    const c = new Conn();
    const r = c.send("c", { flags: ACK | PSH, seq: 1001, ack: 5001, win: 500, len: 100 }, 0);
    expect(r.verdict).toBe(V_ACCEPT);
    expect(c.state()).toBe("ESTABLISHED");
    expect(c.assured()).toBe(false);
    expect(c.remaining(0)).toBe(300);
    c.send("s", { flags: ACK, seq: 5001, ack: 1101, win: 600 }, 1);
    expect(c.state()).toBe("ESTABLISHED");
    expect(c.assured()).toBe(false); // SEEN_REPLY is set only after this packet
    expect(c.remaining(1)).toBe(300);
    c.send("c", { flags: ACK, seq: 1101, ack: 5001, win: 500 }, 2);
    expect(c.assured()).toBe(true);
    expect(c.remaining(2)).toBe(432000);
  });

  it("picked-up connections are liberal: far out-of-window data is accepted", () => {
    const c = new Conn();
    c.send("c", { flags: ACK, seq: 1001, ack: 5001, win: 500 }, 0);
    c.send("s", { flags: ACK, seq: 5001, ack: 1001, win: 600 }, 1);
    const r = c.send("c", { flags: ACK | PSH, seq: 1001 + 50_000_000, ack: 5001, win: 500, len: 10 }, 2);
    expect(r.verdict).toBe(V_ACCEPT);
  });

  it("loose=0 rejects pickup but SYN still creates", () => {
    const c = new Conn({ nf_conntrack_tcp_loose: 0 });
    const r = c.send("c", { flags: ACK, seq: 1001, ack: 5001, win: 500 }, 0);
    expect(r.verdict).toBe(V_INVALID);
    expect(r.ct).toBe(-1);
    expect(c.send("c", { flags: SYN, seq: C, win: 500 }, 1).verdict).toBe(V_ACCEPT);
    expect(c.state()).toBe("SYN_SENT");
  });

  it.each([
    ["SYN/ACK", SYN | ACK],
    ["FIN|ACK", FIN | ACK],
    ["RST", RST],
    ["RST|ACK", RST | ACK],
  ])("%s cannot create an entry", (_n, flags) => {
    const r = new Conn().send("c", { flags, seq: 1, ack: 1, win: 100 }, 0);
    expect(r.verdict).toBe(V_INVALID);
    expect(r.ct).toBe(-1);
  });
});

describe("reopen", () => {
  it("a new SYN in TIME_WAIT kills the old entry and creates a new one (-NF_REPEAT)", () => {
    const c = new Conn();
    handshake(c);
    c.send("c", { flags: FIN | ACK, seq: C + 1, ack: u32(S + 1), win: 502 }, 1);
    c.send("s", { flags: FIN | ACK, seq: u32(S + 1), ack: C + 2, win: 509 }, 1.1);
    c.send("c", { flags: ACK, seq: C + 2, ack: u32(S + 2), win: 502 }, 1.2);
    expect(c.state()).toBe("TIME_WAIT");
    const old = c.ct;
    const r = c.send("c", { flags: SYN, seq: C + 100_000, win: 64240 }, 20);
    expect(r.verdict).toBe(V_ACCEPT);
    expect(r.repeats).toBe(1);
    expect(r.ct).not.toBe(old);
    expect(c.state()).toBe("SYN_SENT");
    expect(c.assured()).toBe(false);
    expect(c.remaining(20)).toBe(120);
  });

  it("a SYN in CLOSE after this side's own RST reopens", () => {
    const c = new Conn();
    handshake(c);
    c.send("c", { flags: RST, seq: C + 1, win: 0 }, 1);
    expect(c.state()).toBe("CLOSE");
    const r = c.send("c", { flags: SYN, seq: C + 100_000, win: 64240 }, 2);
    expect(r.repeats).toBe(1);
    expect(c.state()).toBe("SYN_SENT");
  });

  it("SYN in CLOSE after the peer's RST is ignored; the matching SYN/ACK resyncs to SYN_RECV", () => {
    const c = new Conn();
    handshake(c);
    c.send("s", { flags: RST, seq: u32(S + 1), win: 0 }, 1);
    expect(c.state()).toBe("CLOSE");
    const n = C + 100_000;
    const r = c.send("c", { flags: SYN, seq: n, win: 64240, wscale: 7, sackPerm: true }, 2);
    expect(r.verdict).toBe(V_ACCEPT);
    expect(r.repeats).toBe(0);
    expect(c.state()).toBe("CLOSE");
    expect(c.remaining(2)).toBeCloseTo(9, 5); // ignored: no refresh
    c.send("s", { flags: SYN | ACK, seq: 7000, ack: n + 1, win: 65160, wscale: 7, sackPerm: true }, 2.01);
    expect(c.state()).toBe("SYN_RECV");
    expect(c.remaining(2.01)).toBe(60);
    c.send("c", { flags: ACK, seq: n + 1, ack: 7001, win: 502 }, 2.02);
    expect(c.state()).toBe("ESTABLISHED");
    expect(c.remaining(2.02)).toBe(432000);
  });
});

describe("window tracking", () => {
  it("data far beyond the receiver's window is INVALID: no state change, no refresh", () => {
    const c = new Conn();
    handshake(c);
    const r = c.send(
      "c",
      { flags: ACK | PSH, seq: C + 1 + 10_000_000, ack: u32(S + 1), win: 502, len: 100 },
      100,
    );
    expect(r.verdict).toBe(V_INVALID);
    expect(c.state()).toBe("ESTABLISHED");
    expect(c.remaining(100)).toBeCloseTo(432000 - 99.98, 5);
  });

  it("old already-ACKed data is IGNOREd: accepted, but no refresh", () => {
    const c = new Conn();
    handshake(c);
    const r = c.send(
      "c",
      { flags: ACK | PSH, seq: C + 1 - 200_000, ack: u32(S + 1), win: 502, len: 100 },
      100,
    );
    expect(r.verdict).toBe(V_ACCEPT);
    expect(c.remaining(100)).toBeCloseTo(432000 - 99.98, 5);
  });

  it("an ACK far below the receiver's window (overly delayed) is IGNOREd", () => {
    const c = new Conn();
    handshake(c);
    const r = c.send("c", { flags: ACK, seq: C + 1, ack: u32(S + 1 - 100_000), win: 502 }, 100);
    expect(r.verdict).toBe(V_ACCEPT);
    expect(c.remaining(100)).toBeCloseTo(432000 - 99.98, 5);
  });

  it("sequence numbers wrap around 2^32", () => {
    const c = new Conn();
    const isn = 0xffffff00;
    c.send("c", { flags: SYN, seq: isn, win: 64240 }, 0);
    c.send("s", { flags: SYN | ACK, seq: 77, ack: u32(isn + 1), win: 65160 }, 0.01);
    c.send("c", { flags: ACK, seq: u32(isn + 1), ack: 78, win: 64240 }, 0.02);
    // 1000 bytes from 0xffffff01 to 0x000002e9 cross zero.
    const d = c.send("c", { flags: ACK | PSH, seq: u32(isn + 1), ack: 78, win: 64240, len: 1000 }, 1);
    expect(d.verdict).toBe(V_ACCEPT);
    expect(c.remaining(1)).toBe(300); // accepted (refreshed), unacknowledged
    expect(c.send("s", { flags: ACK, seq: 78, ack: u32(isn + 1 + 1001), win: 65160 }, 2).verdict).toBe(
      V_INVALID,
    );
    expect(c.send("s", { flags: ACK, seq: 78, ack: u32(isn + 1 + 1000), win: 65160 }, 3).verdict).toBe(
      V_ACCEPT,
    );
    expect(c.remaining(3)).toBe(432000);
  });

  it("ACK for data never seen is INVALID (ACK over upper bound)", () => {
    const c = new Conn();
    handshake(c);
    const r = c.send("s", { flags: ACK, seq: u32(S + 1), ack: C + 1 + 5000, win: 509 }, 1);
    expect(r.verdict).toBe(V_INVALID);
  });

  it("a small overshoot is IGNOREd but remembered, so the peer's ACK of it passes", () => {
    const c = new Conn();
    handshake(c);
    // Client's right edge = ack + window of the SYN/ACK (unscaled) = C+1+65160; 1 byte past it, 100 bytes.
    const seq = C + 1 + 65160 + 1;
    const r = c.send("c", { flags: ACK | PSH, seq, ack: u32(S + 1), win: 502, len: 100 }, 1);
    expect(r.verdict).toBe(V_ACCEPT);
    expect(c.remaining(1)).toBeCloseTo(432000 - 0.98, 5); // ignored: no refresh
    const a = c.send("s", { flags: ACK, seq: u32(S + 1), ack: seq + 100, win: 509 }, 2);
    expect(a.verdict).toBe(V_ACCEPT);
    expect(c.remaining(2)).toBe(432000);
  });

  it("window scaling (both sides announced it) widens the right edge", () => {
    const c = new Conn();
    handshake(c); // client ACK win 502 << 7 = 64256: server may send up to S+1+64256
    const r = c.send("s", { flags: ACK | PSH, seq: u32(S + 1 + 60000), ack: C + 1, win: 509, len: 1000 }, 1);
    expect(r.verdict).toBe(V_ACCEPT);
    expect(c.remaining(1)).toBe(300); // accepted and refreshed; the data is unacknowledged
  });

  it("window scaling announced by one side only is off: the same segment is IGNOREd", () => {
    const c = new Conn();
    c.send("c", { flags: SYN, seq: C, win: 64240, sackPerm: true }, 0);
    c.send("s", { flags: SYN | ACK, seq: S, ack: C + 1, win: 65160, wscale: 7, sackPerm: true }, 0.01);
    c.send("c", { flags: ACK, seq: C + 1, ack: u32(S + 1), win: 502 }, 0.02); // right edge S+1+502
    const r = c.send("s", { flags: ACK | PSH, seq: u32(S + 1 + 60000), ack: C + 1, win: 509, len: 1000 }, 1);
    expect(r.verdict).toBe(V_ACCEPT);
    expect(c.remaining(1)).toBeCloseTo(432000 - 0.98, 5); // overshoot within the peer's max window: ignored
  });

  it("nf_conntrack_tcp_be_liberal=1 accepts out-of-window data and refreshes", () => {
    const c = new Conn({ nf_conntrack_tcp_be_liberal: 1 });
    handshake(c);
    const r = c.send(
      "c",
      { flags: ACK | PSH, seq: C + 1 + 10_000_000, ack: u32(S + 1), win: 502, len: 100 },
      100,
    );
    expect(r.verdict).toBe(V_ACCEPT);
    expect(c.remaining(100)).toBe(432000);
  });

  it("out-of-window FIN from both sides shortens an assured entry to 300 s (nf_tcp_handle_invalid)", () => {
    const c = new Conn();
    handshake(c);
    const a = c.send("c", { flags: FIN | ACK, seq: C + 1 + 10_000_000, ack: u32(S + 1), win: 502 }, 50);
    expect(a.verdict).toBe(V_INVALID);
    expect(c.remaining(50)).toBeCloseTo(432000 - 49.98, 5);
    const b = c.send("s", { flags: FIN | ACK, seq: u32(S + 1 + 10_000_000), ack: C + 1, win: 509 }, 51);
    expect(b.verdict).toBe(V_INVALID);
    expect(c.state()).toBe("ESTABLISHED");
    expect(c.remaining(51)).toBe(300);
  });
});

describe("tcp_error", () => {
  it.each([
    ["SYN|FIN", SYN | FIN],
    ["NULL", 0],
    ["XMAS", FIN | PSH | URG],
    ["FIN alone", FIN],
    ["SYN|RST", SYN | RST],
  ])("%s is invalid as a first packet", (_n, flags) => {
    const r = new Conn().send("c", { flags, seq: C, win: 100 }, 0);
    expect(r.verdict).toBe(V_INVALID);
    expect(r.ct).toBe(-1);
  });

  it("bad flags on an established entry are invalid and change nothing", () => {
    const c = new Conn();
    handshake(c);
    expect(c.send("c", { flags: SYN | FIN, seq: C + 1, win: 502 }, 5).verdict).toBe(V_INVALID);
    expect(c.state()).toBe("ESTABLISHED");
    expect(c.remaining(5)).toBeCloseTo(432000 - 4.98, 5);
  });

  it("bad checksum is invalid with nf_conntrack_checksum=1, accepted with 0; unknown counts as ok", () => {
    expect(new Conn().send("c", { flags: SYN, seq: C, win: 100, csumBad: true }, 0).verdict).toBe(V_INVALID);
    const off = new Conn({ nf_conntrack_checksum: 0 });
    expect(off.send("c", { flags: SYN, seq: C, win: 100, csumBad: true }, 0).verdict).toBe(V_ACCEPT);
    expect(off.state()).toBe("SYN_SENT");
    const unk = new Conn();
    expect(unk.send("c", { flags: SYN, seq: C, win: 100, csumUnknown: true }, 0).verdict).toBe(V_ACCEPT);
  });

  it("data offset below 5 or a header longer than the datagram is invalid", () => {
    expect(new Conn().send("c", { flags: SYN, seq: C, doff: 4 }, 0).verdict).toBe(V_INVALID);
    expect(new Conn().send("c", { flags: SYN, seq: C, doff: 10, l4len: 36 }, 0).verdict).toBe(V_INVALID);
    expect(new Conn().send("c", { flags: SYN, seq: C, doff: 10, l4len: 40 }, 0).verdict).toBe(V_ACCEPT);
  });
});

describe("simultaneous open", () => {
  it("SYN, SYN -> SYN_SENT2; SYN/ACK -> SYN_RECV; peer SYN/ACK ignored; reply ACK -> ESTABLISHED ASSURED", () => {
    const c = new Conn();
    const A = 1000;
    const B = 9000;
    c.send("c", { flags: SYN, seq: A, win: 64240 }, 0);
    c.send("s", { flags: SYN, seq: B, win: 65160 }, 0.01);
    expect(c.state()).toBe("SYN_SENT2");
    // The peer's SYN is also "index SYN, old SYN_SENT" before SEEN_REPLY: the kernel does not refresh it.
    expect(c.remaining(0.01)).toBeCloseTo(119.99, 1);
    c.send("c", { flags: SYN | ACK, seq: A, ack: B + 1, win: 64240 }, 0.02);
    expect(c.state()).toBe("SYN_RECV");
    expect(c.remaining(0.02)).toBe(60);
    expect(c.send("s", { flags: SYN | ACK, seq: B, ack: A + 1, win: 65160 }, 0.03).verdict).toBe(V_ACCEPT);
    expect(c.state()).toBe("SYN_RECV");
    c.send("s", { flags: ACK, seq: B + 1, ack: A + 1, win: 65160 }, 0.04);
    expect(c.state()).toBe("ESTABLISHED");
    expect(c.assured()).toBe(true);
    expect(c.remaining(0.04)).toBe(432000);
  });
});

describe("retransmission counter", () => {
  it("the third identical ACK in a row (max_retrans 3) drops the timeout to 300 s; a new ACK restores it", () => {
    const c = new Conn();
    handshake(c);
    const dup = { flags: ACK, seq: C + 1, ack: u32(S + 1), win: 502 };
    c.send("c", dup, 1);
    expect(c.remaining(1)).toBe(432000);
    c.send("c", dup, 2);
    expect(c.remaining(2)).toBe(432000);
    c.send("c", dup, 3);
    expect(c.remaining(3)).toBe(300);
    c.send("c", { ...dup, win: 503 }, 4);
    expect(c.remaining(4)).toBe(432000);
  });

  it("a zero window on the last ACK gives 300 s", () => {
    const c = new Conn();
    handshake(c);
    c.send("s", { flags: ACK, seq: u32(S + 1), ack: C + 1, win: 0 }, 1);
    expect(c.remaining(1)).toBe(300);
  });
});
