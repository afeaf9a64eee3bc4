import { describe, expect, it } from "vitest";
import { IPS_ASSURED, V_ACCEPT, V_INVALID } from "../engine/conntrack/l4proto.js";
import { SCTP_W_VTAG, sctpTracker } from "../engine/conntrack/proto-sctp.js";
import { resolveSettings } from "../engine/conntrack/settings.js";
import { L4_CSUM_BAD, L4_HDR_OK, type PacketBatch } from "../engine/decode/packet-batch.js";
import { FakeCore, HZ, pkt } from "./helpers/proto-fake.js";

const ORIG = 0;
const REPLY = 1;

const DATA = 0;
const INIT = 1;
const INIT_ACK = 2;
const SACK = 3;
const HEARTBEAT = 4;
const HEARTBEAT_ACK = 5;
const ABORT = 6;
const SHUTDOWN = 7;
const SHUTDOWN_ACK = 8;
const COOKIE_ECHO = 10;
const COOKIE_ACK = 11;
const SHUTDOWN_COMPLETE = 14;
const T = 1; // T bit

// A = client (ORIGINAL side), B = server. Each side's own tag is what the OTHER side puts in its packets.
const TAG_A = 0x11111111;
const TAG_B = 0x22222222;

// 6.18 defaults (seconds): closed 10, cookie_wait 3, cookie_echoed 3, established 210, shutdown_* 3, heartbeat_sent 30.
type Chunks = [number, number][];
const sctp = (vtag: number, chunks: Chunks, initTag = 0, flags = L4_HDR_OK): PacketBatch =>
  pkt({ proto: 132, flags, sport: 5000, dport: 36412, x0: vtag, x1: initTag, chunks });

/** Runs INIT .. COOKIE_ACK (t = 0 .. 0.12 s, whole jiffies) and returns the established entry. */
function handshake(c: FakeCore): number {
  const ct = c.alloc(132, 5000, 36412);
  expect(c.at(0).process(sctpTracker, ct, sctp(0, [[INIT, 0]], TAG_A), ORIG)).toBe(V_ACCEPT);
  expect(c.at(0.04).process(sctpTracker, ct, sctp(TAG_A, [[INIT_ACK, 0]], TAG_B), REPLY)).toBe(V_ACCEPT);
  expect(c.at(0.08).process(sctpTracker, ct, sctp(TAG_B, [[COOKIE_ECHO, 0]]), ORIG)).toBe(V_ACCEPT);
  expect(c.at(0.12).process(sctpTracker, ct, sctp(TAG_A, [[COOKIE_ACK, 0]]), REPLY)).toBe(V_ACCEPT);
  return ct;
}

const name = (c: FakeCore, ct: number) => sctpTracker.stateName(c.store, ct);

describe("sctpTracker (nf_conntrack_sctp_packet)", () => {
  it("INIT .. COOKIE_ACK walks CLOSED, COOKIE_WAIT, COOKIE_ECHOED, ESTABLISHED+ASSURED 210 s", () => {
    const c = new FakeCore();
    const ct = c.alloc(132, 5000, 36412);
    c.at(0).process(sctpTracker, ct, sctp(0, [[INIT, 0]], TAG_A), ORIG);
    expect([name(c, ct), c.remaining(ct)]).toEqual(["CLOSED", 10]);
    expect(c.word(ct, SCTP_W_VTAG + REPLY)).toBe(TAG_A);
    c.at(0.1).process(sctpTracker, ct, sctp(TAG_A, [[INIT_ACK, 0]], TAG_B), REPLY);
    expect([name(c, ct), c.remaining(ct)]).toEqual(["COOKIE_WAIT", 3]);
    expect(c.word(ct, SCTP_W_VTAG + ORIG)).toBe(TAG_B);
    c.at(0.2).process(sctpTracker, ct, sctp(TAG_B, [[COOKIE_ECHO, 0]]), ORIG);
    expect([name(c, ct), c.remaining(ct)]).toEqual(["COOKIE_ECHOED", 3]);
    expect(c.status(ct) & IPS_ASSURED).toBe(0);
    c.at(0.3).process(sctpTracker, ct, sctp(TAG_A, [[COOKIE_ACK, 0]]), REPLY);
    expect([name(c, ct), c.remaining(ct)]).toEqual(["ESTABLISHED", 210]);
    expect(c.status(ct) & IPS_ASSURED).toBe(IPS_ASSURED);
    // Data both ways keeps it at 210 s.
    expect(c.at(100).process(sctpTracker, ct, sctp(TAG_B, [[DATA, 3]]), ORIG)).toBe(V_ACCEPT);
    expect(c.at(100.1).process(sctpTracker, ct, sctp(TAG_A, [[SACK, 0]]), REPLY)).toBe(V_ACCEPT);
    expect(c.remaining(ct)).toBe(210);
  });

  it("COOKIE_ECHO bundled with DATA is fine (COOKIE_ECHO first)", () => {
    const c = new FakeCore();
    const ct = c.alloc(132, 5000, 36412);
    c.at(0).process(sctpTracker, ct, sctp(0, [[INIT, 0]], TAG_A), ORIG);
    c.at(0.1).process(sctpTracker, ct, sctp(TAG_A, [[INIT_ACK, 0]], TAG_B), REPLY);
    const p = sctp(TAG_B, [
      [COOKIE_ECHO, 0],
      [DATA, 3],
    ]);
    expect(c.at(0.2).process(sctpTracker, ct, p, ORIG)).toBe(V_ACCEPT);
    expect(name(c, ct)).toBe("COOKIE_ECHOED");
  });

  it("SHUTDOWN, SHUTDOWN_ACK, SHUTDOWN_COMPLETE: 3 s, 3 s, then CLOSED 10 s", () => {
    const c = new FakeCore();
    const ct = handshake(c);
    expect(c.at(5).process(sctpTracker, ct, sctp(TAG_B, [[SHUTDOWN, 0]]), ORIG)).toBe(V_ACCEPT);
    expect([name(c, ct), c.remaining(ct)]).toEqual(["SHUTDOWN_SENT", 3]);
    expect(sctpTracker.canEarlyDrop(c.store, ct)).toBe(true);
    expect(c.at(5.1).process(sctpTracker, ct, sctp(TAG_A, [[SHUTDOWN_ACK, 0]]), REPLY)).toBe(V_ACCEPT);
    expect([name(c, ct), c.remaining(ct)]).toEqual(["SHUTDOWN_ACK_SENT", 3]);
    expect(sctpTracker.canEarlyDrop(c.store, ct)).toBe(true);
    expect(c.at(5.2).process(sctpTracker, ct, sctp(TAG_B, [[SHUTDOWN_COMPLETE, 0]]), ORIG)).toBe(V_ACCEPT);
    expect([name(c, ct), c.remaining(ct)]).toEqual(["CLOSED", 10]);
    expect(sctpTracker.canEarlyDrop(c.store, ct)).toBe(false);
    expect(c.status(ct) & IPS_ASSURED).toBe(IPS_ASSURED); // ASSURED is never cleared
  });

  it("a reply-side SHUTDOWN gives SHUTDOWN_RECD", () => {
    const c = new FakeCore();
    const ct = handshake(c);
    c.at(1).process(sctpTracker, ct, sctp(TAG_A, [[SHUTDOWN, 0]]), REPLY);
    expect(name(c, ct)).toBe("SHUTDOWN_RECD");
  });

  it("ABORT: own tag with T clear, peer's tag with T set; otherwise invalid", () => {
    const c = new FakeCore();
    const ct = handshake(c);
    // T set but carrying its own tag: invalid, nothing changes.
    expect(c.at(1).process(sctpTracker, ct, sctp(TAG_A, [[ABORT, T]]), REPLY)).toBe(V_INVALID);
    expect([name(c, ct), c.remaining(ct)]).toEqual(["ESTABLISHED", 209.12]);
    // T clear but the peer's tag: invalid.
    expect(c.at(1).process(sctpTracker, ct, sctp(TAG_B, [[ABORT, 0]]), REPLY)).toBe(V_INVALID);
    // T set with the peer's (ORIGINAL-direction) tag: accepted.
    expect(c.at(2).process(sctpTracker, ct, sctp(TAG_B, [[ABORT, T]]), REPLY)).toBe(V_ACCEPT);
    expect([name(c, ct), c.remaining(ct)]).toEqual(["CLOSED", 10]);
  });

  it("ABORT with its own tag closes", () => {
    const c = new FakeCore();
    const ct = handshake(c);
    expect(c.at(1).process(sctpTracker, ct, sctp(TAG_B, [[ABORT, 0]]), ORIG)).toBe(V_ACCEPT);
    expect(name(c, ct)).toBe("CLOSED");
  });

  it("SHUTDOWN_COMPLETE with T set must carry the peer's tag", () => {
    const c = new FakeCore();
    const ct = handshake(c);
    c.at(1).process(sctpTracker, ct, sctp(TAG_B, [[SHUTDOWN, 0]]), ORIG);
    c.at(1.1).process(sctpTracker, ct, sctp(TAG_A, [[SHUTDOWN_ACK, 0]]), REPLY);
    expect(c.at(1.2).process(sctpTracker, ct, sctp(TAG_B, [[SHUTDOWN_COMPLETE, T]]), ORIG)).toBe(V_INVALID);
    expect(c.at(1.2).process(sctpTracker, ct, sctp(TAG_A, [[SHUTDOWN_COMPLETE, T]]), ORIG)).toBe(V_ACCEPT);
    expect(name(c, ct)).toBe("CLOSED");
  });

  it("bad verification tag on DATA is invalid and does not refresh", () => {
    const c = new FakeCore();
    const ct = handshake(c);
    expect(c.at(10).process(sctpTracker, ct, sctp(0xdeadbeef, [[DATA, 3]]), ORIG)).toBe(V_INVALID);
    expect(c.remaining(ct)).toBe(200.12);
    // Each direction has its own tag: B's tag is wrong in the reply direction.
    expect(c.at(10).process(sctpTracker, ct, sctp(TAG_B, [[SACK, 0]]), REPLY)).toBe(V_INVALID);
  });

  it("COOKIE_ECHO with a wrong tag is invalid", () => {
    const c = new FakeCore();
    const ct = c.alloc(132, 5000, 36412);
    c.at(0).process(sctpTracker, ct, sctp(0, [[INIT, 0]], TAG_A), ORIG);
    c.at(0.1).process(sctpTracker, ct, sctp(TAG_A, [[INIT_ACK, 0]], TAG_B), REPLY);
    expect(c.at(0.2).process(sctpTracker, ct, sctp(TAG_A, [[COOKIE_ECHO, 0]]), ORIG)).toBe(V_INVALID);
    expect(name(c, ct)).toBe("COOKIE_WAIT");
  });

  it("INIT must have vtag 0; a retransmitted INIT is accepted without renewing the timeout", () => {
    const c = new FakeCore();
    const bad = c.alloc(132, 1, 2);
    expect(c.at(0).process(sctpTracker, bad, sctp(5, [[INIT, 0]], TAG_A), ORIG)).toBe(V_INVALID);
    expect(c.freed.has(bad)).toBe(true);
    const ct = c.alloc(132, 1, 2);
    c.at(0).process(sctpTracker, ct, sctp(0, [[INIT, 0]], TAG_A), ORIG);
    expect(c.at(4).process(sctpTracker, ct, sctp(0, [[INIT, 0]], TAG_A), ORIG)).toBe(V_ACCEPT);
    expect(c.remaining(ct)).toBe(6); // still armed from t=0
  });

  it("out-of-the-blue ABORT, SHUTDOWN_COMPLETE, COOKIE_ACK and DATA cannot create", () => {
    for (const ch of [ABORT, SHUTDOWN_COMPLETE, COOKIE_ACK, DATA, SACK]) {
      const c = new FakeCore();
      const ct = c.alloc(132, 1, 2);
      expect(c.at(0).process(sctpTracker, ct, sctp(TAG_B, [[ch, 0]]), ORIG)).toBe(V_INVALID);
      expect(c.freed.has(ct)).toBe(true);
    }
  });

  it("HEARTBEAT picks up a path: HEARTBEAT_SENT 30 s, HEARTBEAT_ACK -> ESTABLISHED+ASSURED", () => {
    const c = new FakeCore();
    const ct = c.alloc(132, 1, 2);
    expect(c.at(0).process(sctpTracker, ct, sctp(TAG_B, [[HEARTBEAT, 0]]), ORIG)).toBe(V_ACCEPT);
    expect([name(c, ct), c.remaining(ct)]).toEqual(["HEARTBEAT_SENT", 30]);
    expect(c.word(ct, SCTP_W_VTAG + ORIG)).toBe(TAG_B);
    expect(c.at(1).process(sctpTracker, ct, sctp(TAG_A, [[HEARTBEAT_ACK, 0]]), REPLY)).toBe(V_ACCEPT);
    expect([name(c, ct), c.remaining(ct)]).toEqual(["ESTABLISHED", 210]);
    expect(c.word(ct, SCTP_W_VTAG + REPLY)).toBe(TAG_A);
    expect(c.status(ct) & IPS_ASSURED).toBe(IPS_ASSURED);
    // From now on DATA needs the learned tags.
    expect(c.at(2).process(sctpTracker, ct, sctp(TAG_A, [[DATA, 3]]), REPLY)).toBe(V_ACCEPT);
    expect(c.at(2).process(sctpTracker, ct, sctp(TAG_B, [[DATA, 3]]), REPLY)).toBe(V_INVALID);
  });

  it("a HEARTBEAT with a new tag passes once unrefreshed; its HEARTBEAT_ACK adopts the new tags", () => {
    const c = new FakeCore();
    const ct = handshake(c);
    const NEW_B = 0x33333333;
    const NEW_A = 0x44444444;
    expect(c.at(50).process(sctpTracker, ct, sctp(NEW_B, [[HEARTBEAT, 0]]), ORIG)).toBe(V_ACCEPT);
    expect(c.remaining(ct)).toBe(160.12); // not refreshed
    // An ACK from the same direction as the failed HEARTBEAT is not accepted.
    expect(c.at(50.1).process(sctpTracker, ct, sctp(NEW_A, [[HEARTBEAT_ACK, 0]]), ORIG)).toBe(V_INVALID);
    expect(c.at(50.2).process(sctpTracker, ct, sctp(NEW_A, [[HEARTBEAT_ACK, 0]]), REPLY)).toBe(V_ACCEPT);
    expect(c.remaining(ct)).toBe(210);
    expect(c.word(ct, SCTP_W_VTAG + REPLY)).toBe(NEW_A);
    expect(c.word(ct, SCTP_W_VTAG + ORIG)).toBe(0);
  });

  it("a HEARTBEAT with a wrong tag bundled with DATA is invalid", () => {
    const c = new FakeCore();
    const ct = handshake(c);
    const p = sctp(0x55555555, [
      [HEARTBEAT, 0],
      [DATA, 3],
    ]);
    expect(c.at(1).process(sctpTracker, ct, p, ORIG)).toBe(V_INVALID);
  });

  it("a stray INIT_ACK with an unexpected initiate tag after the handshake is invalid", () => {
    const c = new FakeCore();
    const ct = handshake(c);
    expect(c.at(1).process(sctpTracker, ct, sctp(TAG_A, [[INIT_ACK, 0]], 0x99999999), REPLY)).toBe(V_INVALID);
    expect(c.word(ct, SCTP_W_VTAG + ORIG)).toBe(TAG_B);
  });

  it("do_basic_checks: INIT not alone, COOKIE_ECHO not first, no chunks -> invalid", () => {
    const c = new FakeCore();
    const a = c.alloc(132, 1, 2);
    const initPlusData = sctp(
      0,
      [
        [INIT, 0],
        [DATA, 3],
      ],
      TAG_A,
    );
    expect(c.at(0).process(sctpTracker, a, initPlusData, ORIG)).toBe(V_INVALID);
    const ct = handshake(c);
    const echoSecond = sctp(TAG_B, [
      [DATA, 3],
      [COOKIE_ECHO, 0],
    ]);
    expect(c.at(1).process(sctpTracker, ct, echoSecond, ORIG)).toBe(V_INVALID);
    expect(c.at(1).process(sctpTracker, ct, sctp(TAG_B, []), ORIG)).toBe(V_INVALID);
  });

  it("bad CRC32c is invalid with nf_conntrack_checksum=1 only; a short header always", () => {
    const on = new FakeCore();
    const a = on.alloc(132, 1, 2);
    const bad = sctp(0, [[INIT, 0]], TAG_A, L4_HDR_OK | L4_CSUM_BAD);
    expect(on.at(0).process(sctpTracker, a, bad, ORIG)).toBe(V_INVALID);
    const off = new FakeCore(resolveSettings({ nf_conntrack_checksum: 0 }, HZ));
    const b = off.alloc(132, 1, 2);
    expect(off.at(0).process(sctpTracker, b, bad, ORIG)).toBe(V_ACCEPT);
    const d = off.alloc(132, 1, 2);
    expect(off.at(0).process(sctpTracker, d, sctp(0, [[INIT, 0]], TAG_A, 0), ORIG)).toBe(V_INVALID);
  });

  it("more than 8 chunks: the unseen tail keeps the state (DATA-like) and cannot create", () => {
    const c = new FakeCore();
    const ct = handshake(c);
    const data8: Chunks = Array.from({ length: 8 }, () => [DATA, 3] as [number, number]);
    const bundle = pkt({ proto: 132, flags: L4_HDR_OK, x0: TAG_B, chunks: data8, nchunks: 40 });
    expect(c.at(20).process(sctpTracker, ct, bundle, ORIG)).toBe(V_ACCEPT);
    expect([name(c, ct), c.remaining(ct)]).toEqual(["ESTABLISHED", 210]);
    const fresh = c.alloc(132, 9, 9);
    const hb: Chunks = [[HEARTBEAT, 0], ...data8.slice(1)];
    const big = pkt({ proto: 132, flags: L4_HDR_OK, x0: TAG_B, chunks: hb, nchunks: 12 });
    expect(c.at(20).process(sctpTracker, fresh, big, ORIG)).toBe(V_INVALID);
  });

  it("timeouts follow the sysctls", () => {
    const c = new FakeCore(resolveSettings({ nf_conntrack_sctp_timeout_established: 1000 }, HZ));
    const ct = handshake(c);
    expect(c.remaining(ct)).toBe(1000);
  });
});
