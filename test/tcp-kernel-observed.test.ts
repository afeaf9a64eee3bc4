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
import type { SysctlValues } from "../engine/conntrack/settings.js";
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

/*
 * The same pcap through the kernel with one TCP sysctl changed per run (kernel-oracle --sysctl, --speed 1).
 * Table rows: flow, state, A(SSURED)/U(NREPLIED), remaining seconds; or "absent".
 */
interface SysctlRun {
  sysctl: Partial<SysctlValues>;
  dump: number;
  invalid: number;
  table: string;
}
const SYSCTL_RUNS: SysctlRun[] = [
  {
    sysctl: { nf_conntrack_tcp_loose: 0 },
    dump: 3.042,
    invalid: 16,
    table: `
handshake ESTABLISHED A- 431996
close-wait CLOSE_WAIT A- 58
time-wait TIME_WAIT A- 118
rst-before-reply absent
rst-exact CLOSE A- 8
rst-below-maxack ESTABLISHED A- 431996
rst-inexact ESTABLISHED A- 8
rst-after-data CLOSE A- 7
syn-retransmit SYN_SENT -U 116
pickup-1 absent
pickup-2 absent
pickup-3 absent
reopen-time-wait SYN_SENT -U 119
resync-after-peer-rst ESTABLISHED A- 431998
far-out-of-window ESTABLISHED A- 431996
overshoot-then-ack ESTABLISHED A- 431998
ack-over-upper-bound ESTABLISHED A- 431996
invalid-fin-both-sides ESTABLISHED A- 298
syn-fin absent
null-flags absent
xmas absent
bad-checksum absent
synack-first absent
simultaneous-open ESTABLISHED A- 431996
simultaneous-syn2-no-refresh SYN_SENT2 -- 116
dup-ack-x3 ESTABLISHED A- 298
dup-ack-x2 ESTABLISHED A- 431998
zero-window ESTABLISHED A- 297
challenge-ack-last-ack LAST_ACK A- 28
rst-close-wait-below-maxack CLOSE A- 8
wscale-both ESTABLISHED A- 297
wscale-one-side ESTABLISHED A- 431996
old-retransmission ESTABLISHED A- 431996
reinit-lower-syn ESTABLISHED A- 298
server-data-unacked ESTABLISHED A- 297`,
  },
  {
    sysctl: { nf_conntrack_tcp_be_liberal: 1 },
    dump: 3.033,
    invalid: 6,
    table: `
handshake ESTABLISHED A- 431996
close-wait CLOSE_WAIT A- 58
time-wait TIME_WAIT A- 118
rst-before-reply absent
rst-exact CLOSE A- 8
rst-below-maxack ESTABLISHED A- 431996
rst-inexact ESTABLISHED A- 8
rst-after-data CLOSE A- 7
syn-retransmit SYN_SENT -U 116
pickup-1 ESTABLISHED -U 296
pickup-2 ESTABLISHED -- 297
pickup-3 ESTABLISHED A- 431998
reopen-time-wait SYN_SENT -U 119
resync-after-peer-rst ESTABLISHED A- 431998
far-out-of-window ESTABLISHED A- 431998
overshoot-then-ack ESTABLISHED A- 431998
ack-over-upper-bound ESTABLISHED A- 431998
invalid-fin-both-sides LAST_ACK A- 28
syn-fin absent
null-flags absent
xmas absent
bad-checksum absent
synack-first absent
simultaneous-open ESTABLISHED A- 431997
simultaneous-syn2-no-refresh SYN_SENT2 -- 116
dup-ack-x3 ESTABLISHED A- 298
dup-ack-x2 ESTABLISHED A- 431998
zero-window ESTABLISHED A- 297
challenge-ack-last-ack LAST_ACK A- 28
rst-close-wait-below-maxack CLOSE A- 8
wscale-both ESTABLISHED A- 297
wscale-one-side ESTABLISHED A- 297
old-retransmission ESTABLISHED A- 431998
reinit-lower-syn ESTABLISHED A- 298
server-data-unacked ESTABLISHED A- 297`,
  },
  {
    sysctl: { nf_conntrack_tcp_ignore_invalid_rst: 1 },
    dump: 3.036,
    invalid: 9,
    table: `
handshake ESTABLISHED A- 431996
close-wait CLOSE_WAIT A- 58
time-wait TIME_WAIT A- 118
rst-before-reply absent
rst-exact CLOSE A- 8
rst-below-maxack ESTABLISHED A- 8
rst-inexact ESTABLISHED A- 8
rst-after-data CLOSE A- 7
syn-retransmit SYN_SENT -U 116
pickup-1 ESTABLISHED -U 296
pickup-2 ESTABLISHED -- 297
pickup-3 ESTABLISHED A- 431998
reopen-time-wait SYN_SENT -U 119
resync-after-peer-rst ESTABLISHED A- 431998
far-out-of-window ESTABLISHED A- 431996
overshoot-then-ack ESTABLISHED A- 431998
ack-over-upper-bound ESTABLISHED A- 431996
invalid-fin-both-sides ESTABLISHED A- 298
syn-fin absent
null-flags absent
xmas absent
bad-checksum absent
synack-first absent
simultaneous-open ESTABLISHED A- 431996
simultaneous-syn2-no-refresh SYN_SENT2 -- 116
dup-ack-x3 ESTABLISHED A- 298
dup-ack-x2 ESTABLISHED A- 431998
zero-window ESTABLISHED A- 297
challenge-ack-last-ack LAST_ACK A- 28
rst-close-wait-below-maxack CLOSE A- 8
wscale-both ESTABLISHED A- 297
wscale-one-side ESTABLISHED A- 431996
old-retransmission ESTABLISHED A- 431996
reinit-lower-syn ESTABLISHED A- 298
server-data-unacked ESTABLISHED A- 297`,
  },
  {
    sysctl: { nf_conntrack_tcp_max_retrans: 1 },
    dump: 3.052,
    invalid: 10,
    table: `
handshake ESTABLISHED A- 431996
close-wait CLOSE_WAIT A- 58
time-wait TIME_WAIT A- 118
rst-before-reply absent
rst-exact CLOSE A- 8
rst-below-maxack ESTABLISHED A- 431996
rst-inexact ESTABLISHED A- 8
rst-after-data CLOSE A- 7
syn-retransmit SYN_SENT -U 116
pickup-1 ESTABLISHED -U 296
pickup-2 ESTABLISHED -- 297
pickup-3 ESTABLISHED A- 431998
reopen-time-wait SYN_SENT -U 119
resync-after-peer-rst ESTABLISHED A- 431998
far-out-of-window ESTABLISHED A- 431996
overshoot-then-ack ESTABLISHED A- 431998
ack-over-upper-bound ESTABLISHED A- 431996
invalid-fin-both-sides ESTABLISHED A- 298
syn-fin absent
null-flags absent
xmas absent
bad-checksum absent
synack-first absent
simultaneous-open ESTABLISHED A- 431996
simultaneous-syn2-no-refresh SYN_SENT2 -- 116
dup-ack-x3 ESTABLISHED A- 298
dup-ack-x2 ESTABLISHED A- 298
zero-window ESTABLISHED A- 297
challenge-ack-last-ack LAST_ACK A- 28
rst-close-wait-below-maxack CLOSE A- 8
wscale-both ESTABLISHED A- 297
wscale-one-side ESTABLISHED A- 431996
old-retransmission ESTABLISHED A- 431996
reinit-lower-syn ESTABLISHED A- 298
server-data-unacked ESTABLISHED A- 297`,
  },
];

describe("TCP flows vs the live 6.18 kernel with non-default TCP sysctls", () => {
  describe.each(SYSCTL_RUNS.map((r) => [Object.entries(r.sysctl)[0]!.join("="), r] as const))(
    "%s",
    (_n, run) => {
      const rows = new Map(
        run.table
          .trim()
          .split("\n")
          .map((l) => {
            const [name, ...rest] = l.split(" ");
            return [name!, rest] as const;
          }),
      );
      it("covers every flow", () => {
        expect([...rows.keys()].sort()).toEqual(OBS_FLOWS.map((f) => f.name).sort());
      });
      it.each(OBS_FLOWS.map((f) => [f.name, f] as const))("%s", (name, f) => {
        const c = new Conn(run.sysctl);
        for (const p of f.pkts) c.send(p.side, p.seg, p.t);
        const want = rows.get(name)!;
        if (want[0] === "absent") {
          expect(c.alive(run.dump)).toBe(false);
          return;
        }
        expect(c.alive(run.dump)).toBe(true);
        expect(c.state()).toBe(want[0]);
        expect(`${c.assured() ? "A" : "-"}${c.unreplied() ? "U" : "-"}`).toBe(want[1]);
        expect(Math.abs(Math.floor(c.remaining(run.dump)) - Number(want[2]))).toBeLessThanOrEqual(1);
      });
      it("counts the same number of invalid packets", () => {
        let invalid = 0;
        for (const f of OBS_FLOWS) {
          const c = new Conn(run.sysctl);
          for (const p of f.pkts) {
            const v = c.send(p.side, p.seg, p.t).verdict;
            if (v !== V_ACCEPT && v !== V_REPEAT) invalid++;
          }
        }
        expect(invalid).toBe(run.invalid);
      });
    },
  );
});
