import { describe, expect, it } from "vitest";
import { IPS_ASSURED, IPS_SEEN_REPLY, type L4Tracker, V_ACCEPT } from "../engine/conntrack/l4proto.js";
import { greTracker } from "../engine/conntrack/proto-gre.js";
import { icmpTracker } from "../engine/conntrack/proto-icmp.js";
import { sctpTracker } from "../engine/conntrack/proto-sctp.js";
import { udpliteTracker, udpTracker } from "../engine/conntrack/proto-udp.js";
import { L4_HDR_OK } from "../engine/decode/packet-batch.js";
import { CRAFTED_FLOWS, FakeCore, pkt } from "./helpers/proto-fake.js";

/*
 * Ground truth from the real kernel: the crafted flows (CRAFTED_FLOWS, helpers/proto-fake.ts) were written as
 * a pcap (same relative times),
 * injected with /work/shared/kernel-oracle (Linux 6.18.44, HZ 250, default sysctls, --speed 1) and the table
 * dumped 2.531 s after the first packet. EXPECTED is what `conntrack -L` printed there; `invalid` is
 * conntrack -S. Two kernel facts this pins down: UDPLite still has its own handler (assured right after the
 * reply, no 2-second rule) and the SCTP 6.x table/vtag rules (INIT retransmit does not refresh, OOTB
 * SHUTDOWN_ACK creates, a vtag-changing HEARTBEAT/HEARTBEAT_ACK pair is accepted, > 8 chunks are fine).
 */
const DUMP = 2.531;

// conntrack -L on 6.18.44: flow -> [remaining s, state, ASSURED, UNREPLIED]; flows not listed had no entry.
const EXPECTED: Record<string, [number, string | null, boolean, boolean]> = {
  G1: [177, null, true, false],
  G2: [27, null, false, true],
  I1: [27, null, false, false],
  I3: [27, null, false, true],
  L1: [117, null, true, false],
  L2: [27, null, false, false],
  U1: [27, null, false, false],
  U2: [119, null, true, false],
  S1: [8, "CLOSED", true, false],
  S2: [8, "CLOSED", true, false],
  S3: [207, "ESTABLISHED", true, false],
  S4: [207, "ESTABLISHED", true, false],
  S5: [7, "CLOSED", false, true],
  S8: [1, "SHUTDOWN_RECD", true, false],
  S10: [207, "ESTABLISHED", true, false],
  S11: [208, "ESTABLISHED", true, false],
  S13: [208, "ESTABLISHED", true, false],
  S14: [0, "SHUTDOWN_ACK_SENT", false, true],
  S15: [8, "CLOSED", true, false],
  S16: [207, "ESTABLISHED", true, false],
  S17: [1, "SHUTDOWN_ACK_SENT", true, false],
};
const KERNEL_INVALID = 10;

const TRACKERS: Record<number, L4Tracker> = {
  1: icmpTracker,
  17: udpTracker,
  47: greTracker,
  132: sctpTracker,
  136: udpliteTracker,
};

describe("trackers vs the 6.18 kernel on crafted UDP/UDPLite/GRE/ICMP/SCTP flows", () => {
  const c = new FakeCore();
  const flows = new Map<string, number>();
  let invalid = 0;
  for (const p of CRAFTED_FLOWS) {
    const row = pkt({
      proto: p.proto,
      flags: p.flags ?? L4_HDR_OK,
      sport: p.id ?? 0,
      dport: (p.type ?? 0) << 8,
      x0: p.vtag ?? 0,
      x1: p.itag ?? 0,
      chunks: p.chunks ?? [],
    });
    let ct = flows.get(p.flow);
    if (ct === undefined) {
      ct = c.alloc(p.proto, p.id ?? 0, (p.type ?? 0) << 8);
      flows.set(p.flow, ct);
    }
    if (c.at(p.t).process(TRACKERS[p.proto]!, ct, row, p.dir) !== V_ACCEPT) {
      invalid++;
      if (c.freed.has(ct)) flows.delete(p.flow);
    }
  }
  c.at(DUMP);

  it("the same entries exist", () => {
    expect([...flows.keys()].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))("%s: timeout, state and flags as the kernel printed", (flow, exp) => {
    const ct = flows.get(flow)!;
    const st = c.status(ct);
    const tr = TRACKERS[c.store.l4protoOf(ct)]!;
    expect([
      Math.floor(c.remaining(ct)),
      tr.stateName(c.store, ct),
      (st & IPS_ASSURED) !== 0,
      (st & IPS_SEEN_REPLY) === 0,
    ]).toEqual(exp);
  });

  it("the same number of invalid packets", () => {
    expect(invalid).toBe(KERNEL_INVALID);
  });
});
