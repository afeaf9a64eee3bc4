/**
 * tcpTracker against the real kernel. The flows of test/helpers/tcp-observed.ts were written as a pcap
 * (one flow per client port, same relative times), injected with /work/shared/kernel-oracle into Linux
 * 6.18.44 (HZ 250, default sysctls, --speed 1) and the table dumped 3.077 s after the first packet
 * (dump_time minus the first write time of replayed.pcap). KERNEL is what `conntrack -L` printed there
 * (state, ASSURED, UNREPLIED, remaining seconds; null = no entry) and INVALID_KERNEL is conntrack -S's
 * invalid total. This pins down 6.18 behaviour the source copies could not: SYN_SENT2 and SYN retransmit
 * not refreshing, pickup clamps, RST rules, challenge ACK in LAST_ACK, nf_tcp_handle_invalid, retrans,
 * and that the Feb-2025 TCP reinit patch is not in 6.18 (flow reinit-lower-syn).
 */
import { describe, expect, it } from "vitest";
import { V_ACCEPT, V_REPEAT } from "../engine/conntrack/l4proto.js";
import { Conn } from "./helpers/tcp-fake.js";
import { OBS_FLOWS } from "./helpers/tcp-observed.js";

const DUMP = 3.077;
const INVALID_KERNEL = 10;

type Row = [state: string, assured: boolean, unreplied: boolean, timeout: number] | null;
const KERNEL: Record<string, Row> = {
  handshake: ["ESTABLISHED", true, false, 431996],
  "close-wait": ["CLOSE_WAIT", true, false, 58],
  "time-wait": ["TIME_WAIT", true, false, 118],
  "rst-before-reply": null,
  "rst-exact": ["CLOSE", true, false, 8],
  "rst-below-maxack": ["ESTABLISHED", true, false, 431996],
  "rst-inexact": ["ESTABLISHED", true, false, 8],
  "rst-after-data": ["CLOSE", true, false, 7],
  "syn-retransmit": ["SYN_SENT", false, true, 116],
  "pickup-1": ["ESTABLISHED", false, true, 296],
  "pickup-2": ["ESTABLISHED", false, false, 297],
  "pickup-3": ["ESTABLISHED", true, false, 431998],
  "reopen-time-wait": ["SYN_SENT", false, true, 119],
  "resync-after-peer-rst": ["ESTABLISHED", true, false, 431998],
  "far-out-of-window": ["ESTABLISHED", true, false, 431996],
  "overshoot-then-ack": ["ESTABLISHED", true, false, 431998],
  "ack-over-upper-bound": ["ESTABLISHED", true, false, 431996],
  "invalid-fin-both-sides": ["ESTABLISHED", true, false, 298],
  "syn-fin": null,
  "null-flags": null,
  xmas: null,
  "bad-checksum": null,
  "synack-first": null,
  "simultaneous-open": ["ESTABLISHED", true, false, 431996],
  "simultaneous-syn2-no-refresh": ["SYN_SENT2", false, false, 116],
  "dup-ack-x3": ["ESTABLISHED", true, false, 298],
  "dup-ack-x2": ["ESTABLISHED", true, false, 431998],
  "zero-window": ["ESTABLISHED", true, false, 297],
  "challenge-ack-last-ack": ["LAST_ACK", true, false, 28],
  "rst-close-wait-below-maxack": ["CLOSE", true, false, 8],
  "wscale-both": ["ESTABLISHED", true, false, 297],
  "wscale-one-side": ["ESTABLISHED", true, false, 431996],
  "old-retransmission": ["ESTABLISHED", true, false, 431996],
  "reinit-lower-syn": ["ESTABLISHED", true, false, 298],
  "server-data-unacked": ["ESTABLISHED", true, false, 297],
};

describe("TCP flows vs the live 6.18 kernel (kernel-oracle)", () => {
  it("covers every flow", () => {
    expect(Object.keys(KERNEL).sort()).toEqual(OBS_FLOWS.map((f) => f.name).sort());
  });

  it.each(OBS_FLOWS.map((f) => [f.name, f] as const))("%s", (name, f) => {
    const c = new Conn();
    for (const p of f.pkts) c.send(p.side, p.seg, p.t);
    const want = KERNEL[name];
    if (want === null || want === undefined) {
      expect(c.alive(DUMP)).toBe(false);
      return;
    }
    expect(c.alive(DUMP)).toBe(true);
    expect(c.state()).toBe(want[0]);
    expect(c.assured()).toBe(want[1]);
    expect(c.unreplied()).toBe(want[2]);
    // conntrack -L prints floor(remaining); the dump itself spans a few ms.
    expect(Math.abs(Math.floor(c.remaining(DUMP)) - want[3])).toBeLessThanOrEqual(1);
  });

  it("counts the same number of invalid packets", () => {
    let invalid = 0;
    for (const f of OBS_FLOWS) {
      const c = new Conn();
      for (const p of f.pkts) {
        const v = c.send(p.side, p.seg, p.t).verdict;
        if (v !== V_ACCEPT && v !== V_REPEAT) invalid++;
      }
    }
    expect(invalid).toBe(INVALID_KERNEL);
  });
});
