import { describe, expect, it } from "vitest";
import { SCTP_STATE_NAMES, sctpNewState } from "../engine/conntrack/sctp-states.js";

/*
 * Transitions derived by hand from nf_conntrack_proto_sctp.c (6.x) — its state descriptions ("COOKIE WAIT:
 * INIT_ACK seen in the reply direction", "ESTABLISHED: COOKIE_ACK in the reply direction", ...), the 2023
 * changes (HEARTBEAT_ACKED merged into ESTABLISHED; INIT while shutting down -> CLOSED; COOKIE_ECHO in the
 * reply / COOKIE_ACK in the original direction for handshake collisions) and RFC 4960's association
 * life cycle — not copied from engine/conntrack/sctp-states.ts.
 */
const NO = 0;
const CL = 1;
const CW = 2;
const CE = 3;
const ES = 4;
const SS = 5;
const SR = 6;
const SA = 7;
const HS = 8;
const IV = 9; // invalid (sIV = SCTP_CONNTRACK_MAX)

const INIT = 1;
const INIT_ACK = 2;
const SACK = 3;
const HEARTBEAT = 4;
const HEARTBEAT_ACK = 5;
const ABORT = 6;
const SHUTDOWN = 7;
const SHUTDOWN_ACK = 8;
const ERROR = 9;
const COOKIE_ECHO = 10;
const COOKIE_ACK = 11;
const SHUTDOWN_COMPLETE = 14;
const DATA = 0;

const O = 0;
const R = 1;

// [dir, chunk, from, to, why]
const CASES: [number, number, number, number, string][] = [
  [O, INIT, NO, CL, "a new association's INIT leaves the entry CLOSED until the INIT_ACK"],
  [R, INIT_ACK, CL, CW, "INIT_ACK in the reply direction: COOKIE_WAIT"],
  [O, COOKIE_ECHO, CW, CE, "COOKIE_ECHO in the original direction: COOKIE_ECHOED"],
  [R, COOKIE_ACK, CE, ES, "COOKIE_ACK in the reply direction: ESTABLISHED"],
  [O, SHUTDOWN, ES, SS, "SHUTDOWN in the original direction: SHUTDOWN_SENT"],
  [R, SHUTDOWN, ES, SR, "SHUTDOWN in the reply direction: SHUTDOWN_RECD"],
  [R, SHUTDOWN_ACK, SS, SA, "SHUTDOWN_ACK opposite to the SHUTDOWN"],
  [O, SHUTDOWN_ACK, SR, SA, "SHUTDOWN_ACK opposite to a reply-direction SHUTDOWN"],
  [O, SHUTDOWN_COMPLETE, SA, CL, "SHUTDOWN_COMPLETE in the direction of the SHUTDOWN: CLOSED"],
  [R, SHUTDOWN_COMPLETE, SA, CL, "either direction may complete"],
  [O, ABORT, ES, CL, "ABORT closes"],
  [R, ABORT, CE, CL, "ABORT closes in either direction"],
  [O, HEARTBEAT, NO, HS, "a HEARTBEAT picks up a secondary path"],
  [
    R,
    HEARTBEAT_ACK,
    HS,
    ES,
    "its HEARTBEAT_ACK establishes the path (HEARTBEAT_ACKED merged into ESTABLISHED)",
  ],
  [O, SHUTDOWN_ACK, NO, SA, "OOTB SHUTDOWN_ACK creates, awaiting SHUTDOWN_COMPLETE"],
  [R, ERROR, CE, CL, "ERROR (stale cookie) from the peer while COOKIE_ECHOED closes"],
  [O, ERROR, CE, CE, "an ERROR from the cookie sender does not"],
  [O, INIT, SS, CL, "INIT during shutdown (restart) -> CLOSED (2023)"],
  [O, INIT, SR, CL, "INIT during shutdown (restart) -> CLOSED (2023)"],
  [O, INIT, ES, ES, "INIT on an established association (restart) keeps ESTABLISHED"],
  [O, INIT, HS, CW, "INIT seen on a HEARTBEAT-picked-up path"],
  [R, COOKIE_ECHO, CW, CE, "handshake collision: COOKIE_ECHO from the reply side"],
  [O, COOKIE_ACK, CE, ES, "handshake collision: COOKIE_ACK from the original side"],
  [R, INIT, NO, IV, "nothing can arrive in the reply direction of an entry with no state"],
  [R, HEARTBEAT, NO, IV, "nothing can arrive in the reply direction of an entry with no state"],
  [R, INIT, HS, IV, "an INIT from the peer on a heartbeat path is invalid"],
  [R, HEARTBEAT, HS, HS, "HEARTBEAT both ways on a picked-up path"],
  [O, HEARTBEAT, ES, ES, "heartbeats keep an established association"],
  [R, HEARTBEAT_ACK, ES, ES, "heartbeats keep an established association"],
  [R, INIT_ACK, HS, IV, "INIT_ACK in reply on a heartbeat path is invalid"],
  [O, INIT_ACK, HS, CL, "INIT_ACK in the original direction on a heartbeat path closes"],
];

describe("sctp_conntracks spot checks (hand-derived)", () => {
  it.each(CASES)("dir %i chunk %i: %i -> %i (%s)", (dir, chunk, from, to) => {
    expect(sctpNewState(dir, from, chunk)).toBe(to);
  });

  it.each([DATA, SACK, 12, 13, 64, 128, 192, 255])(
    "chunk type %i has no row: every state is kept",
    (chunk) => {
      for (let st = 0; st <= HS; st++) {
        expect(sctpNewState(O, st, chunk)).toBe(st);
        expect(sctpNewState(R, st, chunk)).toBe(st);
      }
    },
  );

  it("ABORT closes every state in the original direction", () => {
    for (let st = 0; st <= HS; st++) expect(sctpNewState(O, st, ABORT)).toBe(CL);
  });

  it("every known chunk can create in the original direction (sctp_new never sees NONE/invalid)", () => {
    for (const c of [
      INIT,
      INIT_ACK,
      ABORT,
      SHUTDOWN,
      SHUTDOWN_ACK,
      ERROR,
      COOKIE_ECHO,
      COOKIE_ACK,
      SHUTDOWN_COMPLETE,
    ]) {
      expect([CL, SA]).toContain(sctpNewState(O, NO, c));
    }
  });

  it("state names are what conntrack prints", () => {
    expect(SCTP_STATE_NAMES).toEqual([
      "NONE",
      "CLOSED",
      "COOKIE_WAIT",
      "COOKIE_ECHOED",
      "ESTABLISHED",
      "SHUTDOWN_SENT",
      "SHUTDOWN_RECD",
      "SHUTDOWN_ACK_SENT",
      "HEARTBEAT_SENT",
    ]);
  });
});
