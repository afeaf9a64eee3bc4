/**
 * The TCP timeout ladder of nf_conntrack_tcp_packet (reference §6.6), table-driven. Settings are resolved
 * at HZ 1 so timeouts read in seconds. Expected values come from the rules and the sysctl defaults
 * (reference §5.1), not from the code under test.
 */
import { describe, expect, it } from "vitest";
import { tcpChooseTimeout } from "../engine/conntrack/proto-tcp.js";
import { resolveSettings, type SysctlValues } from "../engine/conntrack/settings.js";

const ST: Record<string, number> = {
  SYN_SENT: 1,
  SYN_RECV: 2,
  ESTABLISHED: 3,
  FIN_WAIT: 4,
  CLOSE_WAIT: 5,
  LAST_ACK: 6,
  TIME_WAIT: 7,
  CLOSE: 8,
  SYN_SENT2: 9,
};
const CLS: Record<string, number> = { SYN: 0, SYNACK: 1, FIN: 2, ACK: 3, RST: 4 };
const DATA_UNACK = 0x10;

interface Row {
  what: string;
  sysctl?: Partial<SysctlValues>;
  retrans?: number;
  cls?: string;
  state: string;
  unack?: boolean;
  lastWin?: number;
  want: number;
}

const rows: Row[] = [
  // Plain state timeouts (defaults).
  { what: "SYN_SENT", cls: "SYN", state: "SYN_SENT", want: 120 },
  { what: "SYN_RECV", cls: "SYNACK", state: "SYN_RECV", want: 60 },
  { what: "ESTABLISHED", state: "ESTABLISHED", want: 432000 },
  { what: "FIN_WAIT", cls: "FIN", state: "FIN_WAIT", want: 120 },
  { what: "CLOSE_WAIT", state: "CLOSE_WAIT", want: 60 },
  { what: "LAST_ACK", cls: "FIN", state: "LAST_ACK", want: 30 },
  { what: "TIME_WAIT", state: "TIME_WAIT", want: 120 },
  { what: "CLOSE by ACK", state: "CLOSE", want: 10 },
  { what: "SYN_SENT2 (no sysctl)", cls: "SYN", state: "SYN_SENT2", want: 120 },
  // 1. retransmissions >= max_retrans, only when the state's timeout is longer than 300 s.
  { what: "retrans 3 in ES", retrans: 3, state: "ESTABLISHED", want: 300 },
  { what: "retrans 2 in ES", retrans: 2, state: "ESTABLISHED", want: 432000 },
  { what: "retrans 200 in ES", retrans: 200, state: "ESTABLISHED", want: 300 },
  { what: "retrans 3 in SYN_RECV keeps 60", retrans: 3, state: "SYN_RECV", want: 60 },
  { what: "retrans beats RST", retrans: 3, cls: "RST", state: "ESTABLISHED", want: 300 },
  {
    what: "max_retrans=1",
    sysctl: { nf_conntrack_tcp_max_retrans: 1 },
    retrans: 1,
    state: "ESTABLISHED",
    want: 300,
  },
  {
    what: "timeout_max_retrans=500",
    sysctl: { nf_conntrack_tcp_timeout_max_retrans: 500 },
    retrans: 3,
    state: "ESTABLISHED",
    want: 500,
  },
  // 2. RST class -> CLOSE timeout whatever the new state.
  { what: "RST -> CLOSE", cls: "RST", state: "CLOSE", want: 10 },
  { what: "inexact RST keeps ES, 10 s", cls: "RST", state: "ESTABLISHED", want: 10 },
  { what: "RST beats unacked data", cls: "RST", state: "ESTABLISHED", unack: true, want: 10 },
  // 3. unacknowledged data on either side.
  { what: "unacked data in ES", state: "ESTABLISHED", unack: true, want: 300 },
  { what: "unacked data in FIN_WAIT", cls: "FIN", state: "FIN_WAIT", unack: true, want: 120 },
  {
    what: "timeout_unacknowledged=1000",
    sysctl: { nf_conntrack_tcp_timeout_unacknowledged: 1000 },
    state: "ESTABLISHED",
    unack: true,
    want: 1000,
  },
  {
    what: "short established is not raised",
    sysctl: { nf_conntrack_tcp_timeout_established: 200 },
    state: "ESTABLISHED",
    unack: true,
    want: 200,
  },
  // 4. zero window.
  { what: "last_win 0 in ES", state: "ESTABLISHED", lastWin: 0, want: 300 },
  { what: "last_win 0 in CLOSE_WAIT", state: "CLOSE_WAIT", lastWin: 0, want: 60 },
  {
    what: "last_win 0 uses max_retrans timeout",
    sysctl: { nf_conntrack_tcp_timeout_max_retrans: 400, nf_conntrack_tcp_timeout_unacknowledged: 250 },
    state: "ESTABLISHED",
    lastWin: 0,
    want: 400,
  },
  {
    what: "unacked (rule 3) before zero window (rule 4)",
    sysctl: { nf_conntrack_tcp_timeout_max_retrans: 400, nf_conntrack_tcp_timeout_unacknowledged: 250 },
    state: "ESTABLISHED",
    unack: true,
    lastWin: 0,
    want: 250,
  },
];

describe("TCP timeout ladder", () => {
  it.each(rows)("$what -> $want s", (r) => {
    const s = resolveSettings(r.sysctl ?? {}, 1);
    const got = tcpChooseTimeout(
      s.tcpTimeouts,
      s.tcpMaxRetrans,
      r.retrans ?? 0,
      CLS[r.cls ?? "ACK"] as number,
      ST[r.state] as number,
      r.unack ? DATA_UNACK : 0,
      r.lastWin ?? 1000,
    );
    expect(got).toBe(r.want);
  });
});
