/**
 * Crafted TCP flows that were also replayed through the real kernel (kernel-oracle, Linux 6.18, --speed 1):
 * one flow per client port (client 10.1.0.1:40000+k -> server 10.2.0.1:80), times in seconds from the first
 * packet. test/tcp-kernel-observed.test.ts drives tcpTracker with them and compares with what the kernel
 * printed; the same list generated the pcap the kernel saw.
 */
import type { Seg, Side } from "./tcp-fake.js";

export interface ObsPkt {
  t: number;
  side: Side;
  seg: Seg;
}
export interface ObsFlow {
  name: string;
  pkts: ObsPkt[];
}

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;
const URG = 0x20;

const C = 1_000_000;
const S = 3_000_000_000;
const u32 = (x: number): number => x >>> 0;

const hs = (t0 = 0): ObsPkt[] => [
  { t: t0, side: "c", seg: { flags: SYN, seq: C, win: 64240, wscale: 7, sackPerm: true } },
  {
    t: t0 + 0.01,
    side: "s",
    seg: { flags: SYN | ACK, seq: S, ack: C + 1, win: 65160, wscale: 7, sackPerm: true },
  },
  { t: t0 + 0.02, side: "c", seg: { flags: ACK, seq: C + 1, ack: u32(S + 1), win: 502 } },
];
const cFin = (t: number): ObsPkt => ({
  t,
  side: "c",
  seg: { flags: FIN | ACK, seq: C + 1, ack: u32(S + 1), win: 502 },
});
const sAckFin = (t: number): ObsPkt => ({
  t,
  side: "s",
  seg: { flags: ACK, seq: u32(S + 1), ack: C + 2, win: 509 },
});
const sFin = (t: number): ObsPkt => ({
  t,
  side: "s",
  seg: { flags: FIN | ACK, seq: u32(S + 1), ack: C + 2, win: 509 },
});
const cLastAck = (t: number): ObsPkt => ({
  t,
  side: "c",
  seg: { flags: ACK, seq: C + 2, ack: u32(S + 2), win: 502 },
});

export const OBS_FLOWS: ObsFlow[] = [
  { name: "handshake", pkts: hs() },
  { name: "close-wait", pkts: [...hs(), cFin(1), sAckFin(1.1)] },
  { name: "time-wait", pkts: [...hs(), cFin(1), sAckFin(1.1), sFin(1.2), cLastAck(1.3)] },
  {
    name: "rst-before-reply",
    pkts: [
      { t: 0, side: "c", seg: { flags: SYN, seq: C, win: 64240 } },
      { t: 0.01, side: "s", seg: { flags: RST | ACK, seq: 0, ack: C + 1, win: 0 } },
    ],
  },
  { name: "rst-exact", pkts: [...hs(), { t: 2, side: "s", seg: { flags: RST, seq: u32(S + 1), win: 0 } }] },
  {
    name: "rst-below-maxack",
    pkts: [...hs(), { t: 2, side: "s", seg: { flags: RST, seq: u32(S + 1 - 1000), win: 0 } }],
  },
  {
    name: "rst-inexact",
    pkts: [...hs(), { t: 2, side: "s", seg: { flags: RST, seq: u32(S + 101), win: 0 } }],
  },
  {
    name: "rst-after-data",
    pkts: [
      ...hs(),
      { t: 1, side: "s", seg: { flags: ACK | PSH, seq: u32(S + 1), ack: C + 1, win: 509, len: 100 } },
      { t: 1.01, side: "s", seg: { flags: RST, seq: u32(S + 101), win: 0 } },
    ],
  },
  {
    name: "syn-retransmit",
    pkts: [
      { t: 0, side: "c", seg: { flags: SYN, seq: C, win: 64240 } },
      { t: 3, side: "c", seg: { flags: SYN, seq: C, win: 64240 } },
    ],
  },
  {
    name: "pickup-1",
    pkts: [{ t: 0, side: "c", seg: { flags: ACK | PSH, seq: 1001, ack: 5001, win: 500, len: 100 } }],
  },
  {
    name: "pickup-2",
    pkts: [
      { t: 0, side: "c", seg: { flags: ACK | PSH, seq: 1001, ack: 5001, win: 500, len: 100 } },
      { t: 1, side: "s", seg: { flags: ACK, seq: 5001, ack: 1101, win: 600 } },
    ],
  },
  {
    name: "pickup-3",
    pkts: [
      { t: 0, side: "c", seg: { flags: ACK | PSH, seq: 1001, ack: 5001, win: 500, len: 100 } },
      { t: 1, side: "s", seg: { flags: ACK, seq: 5001, ack: 1101, win: 600 } },
      { t: 2, side: "c", seg: { flags: ACK, seq: 1101, ack: 5001, win: 500 } },
    ],
  },
  {
    name: "reopen-time-wait",
    pkts: [
      ...hs(),
      cFin(0.5),
      sFin(0.6),
      cLastAck(0.7),
      { t: 3, side: "c", seg: { flags: SYN, seq: C + 100_000, win: 64240 } },
    ],
  },
  {
    name: "resync-after-peer-rst",
    pkts: [
      ...hs(),
      { t: 1, side: "s", seg: { flags: RST, seq: u32(S + 1), win: 0 } },
      { t: 2, side: "c", seg: { flags: SYN, seq: C + 100_000, win: 64240, wscale: 7, sackPerm: true } },
      {
        t: 2.01,
        side: "s",
        seg: { flags: SYN | ACK, seq: 7000, ack: C + 100_001, win: 65160, wscale: 7, sackPerm: true },
      },
      { t: 2.02, side: "c", seg: { flags: ACK, seq: C + 100_001, ack: 7001, win: 502 } },
    ],
  },
  {
    name: "far-out-of-window",
    pkts: [
      ...hs(),
      {
        t: 2,
        side: "c",
        seg: { flags: ACK | PSH, seq: C + 1 + 10_000_000, ack: u32(S + 1), win: 502, len: 100 },
      },
    ],
  },
  {
    name: "overshoot-then-ack",
    pkts: [
      ...hs(),
      { t: 1, side: "c", seg: { flags: ACK | PSH, seq: C + 65162, ack: u32(S + 1), win: 502, len: 100 } },
      { t: 2, side: "s", seg: { flags: ACK, seq: u32(S + 1), ack: C + 65262, win: 509 } },
    ],
  },
  {
    name: "ack-over-upper-bound",
    pkts: [...hs(), { t: 2, side: "s", seg: { flags: ACK, seq: u32(S + 1), ack: C + 5001, win: 509 } }],
  },
  {
    name: "invalid-fin-both-sides",
    pkts: [
      ...hs(),
      { t: 1, side: "c", seg: { flags: FIN | ACK, seq: C + 1 + 10_000_000, ack: u32(S + 1), win: 502 } },
      { t: 2, side: "s", seg: { flags: FIN | ACK, seq: u32(S + 1 + 10_000_000), ack: C + 1, win: 509 } },
    ],
  },
  { name: "syn-fin", pkts: [{ t: 0, side: "c", seg: { flags: SYN | FIN, seq: C, win: 100 } }] },
  { name: "null-flags", pkts: [{ t: 0, side: "c", seg: { flags: 0, seq: C, win: 100 } }] },
  { name: "xmas", pkts: [{ t: 0, side: "c", seg: { flags: FIN | PSH | URG, seq: C, win: 100 } }] },
  { name: "bad-checksum", pkts: [{ t: 0, side: "c", seg: { flags: SYN, seq: C, win: 100, csumBad: true } }] },
  { name: "synack-first", pkts: [{ t: 0, side: "c", seg: { flags: SYN | ACK, seq: C, ack: 5, win: 100 } }] },
  {
    name: "simultaneous-open",
    pkts: [
      { t: 0, side: "c", seg: { flags: SYN, seq: 1000, win: 64240 } },
      { t: 0.01, side: "s", seg: { flags: SYN, seq: 9000, win: 65160 } },
      { t: 0.02, side: "c", seg: { flags: SYN | ACK, seq: 1000, ack: 9001, win: 64240 } },
      { t: 0.03, side: "s", seg: { flags: SYN | ACK, seq: 9000, ack: 1001, win: 65160 } },
      { t: 0.04, side: "s", seg: { flags: ACK, seq: 9001, ack: 1001, win: 65160 } },
    ],
  },
  {
    name: "simultaneous-syn2-no-refresh",
    pkts: [
      { t: 0, side: "c", seg: { flags: SYN, seq: 1000, win: 64240 } },
      { t: 2, side: "s", seg: { flags: SYN, seq: 9000, win: 65160 } },
    ],
  },
  {
    name: "dup-ack-x3",
    pkts: [
      ...hs(),
      { t: 1, side: "c", seg: { flags: ACK, seq: C + 1, ack: u32(S + 1), win: 502 } },
      { t: 1.1, side: "c", seg: { flags: ACK, seq: C + 1, ack: u32(S + 1), win: 502 } },
      { t: 1.2, side: "c", seg: { flags: ACK, seq: C + 1, ack: u32(S + 1), win: 502 } },
    ],
  },
  {
    name: "dup-ack-x2",
    pkts: [
      ...hs(),
      { t: 1, side: "c", seg: { flags: ACK, seq: C + 1, ack: u32(S + 1), win: 502 } },
      { t: 1.1, side: "c", seg: { flags: ACK, seq: C + 1, ack: u32(S + 1), win: 502 } },
    ],
  },
  {
    name: "zero-window",
    pkts: [...hs(), { t: 1, side: "s", seg: { flags: ACK, seq: u32(S + 1), ack: C + 1, win: 0 } }],
  },
  {
    name: "challenge-ack-last-ack",
    pkts: [
      ...hs(),
      cFin(1),
      sFin(1.1),
      { t: 2, side: "c", seg: { flags: SYN, seq: C + 50_000, win: 64240 } },
      { t: 2.1, side: "s", seg: { flags: ACK, seq: u32(S + 2), ack: C + 2, win: 509 } },
    ],
  },
  {
    name: "rst-close-wait-below-maxack",
    pkts: [
      ...hs(),
      cFin(1),
      sAckFin(1.1),
      { t: 2, side: "s", seg: { flags: RST, seq: u32(S + 1 - 100_000), win: 0 } },
    ],
  },
  {
    name: "wscale-both",
    pkts: [
      ...hs(),
      { t: 1, side: "s", seg: { flags: ACK | PSH, seq: u32(S + 60001), ack: C + 1, win: 509, len: 1000 } },
    ],
  },
  {
    name: "wscale-one-side",
    pkts: [
      { t: 0, side: "c", seg: { flags: SYN, seq: C, win: 64240, sackPerm: true } },
      {
        t: 0.01,
        side: "s",
        seg: { flags: SYN | ACK, seq: S, ack: C + 1, win: 65160, wscale: 7, sackPerm: true },
      },
      { t: 0.02, side: "c", seg: { flags: ACK, seq: C + 1, ack: u32(S + 1), win: 502 } },
      { t: 1, side: "s", seg: { flags: ACK | PSH, seq: u32(S + 60001), ack: C + 1, win: 509, len: 1000 } },
    ],
  },
  {
    name: "old-retransmission",
    pkts: [
      ...hs(),
      {
        t: 2,
        side: "c",
        seg: { flags: ACK | PSH, seq: C + 1 - 200_000, ack: u32(S + 1), win: 502, len: 100 },
      },
    ],
  },
  {
    // A second SYN with a lower sequence in SYN_SENT, then a SYN/ACK for it. If the Feb-2025 "correct
    // sequence on reinitialized TCP connection" patch were in the kernel, the client side would be resynced
    // to the lower sequence and the final ACK (acking data the client never sent from that view) would be
    // INVALID; without it the ACK passes and its zero window gives 300 s.
    name: "reinit-lower-syn",
    pkts: [
      { t: 0, side: "c", seg: { flags: SYN, seq: 5000, win: 64240 } },
      { t: 0.5, side: "c", seg: { flags: SYN, seq: 1000, win: 64240 } },
      { t: 0.6, side: "s", seg: { flags: SYN | ACK, seq: 90000, ack: 1001, win: 65160 } },
      { t: 0.7, side: "c", seg: { flags: ACK, seq: 1001, ack: 90001, win: 64240 } },
      { t: 2, side: "s", seg: { flags: ACK, seq: 90001, ack: 4500, win: 0 } },
    ],
  },
  {
    name: "server-data-unacked",
    pkts: [
      ...hs(),
      { t: 1, side: "s", seg: { flags: ACK | PSH, seq: u32(S + 1), ack: C + 1, win: 509, len: 1000 } },
    ],
  },
];
