import { describe, expect, it } from "vitest";
import { IPS_ASSURED, IPS_SEEN_REPLY, type L4Tracker, V_ACCEPT } from "../engine/conntrack/l4proto.js";
import { greTracker } from "../engine/conntrack/proto-gre.js";
import { icmpTracker } from "../engine/conntrack/proto-icmp.js";
import { sctpTracker } from "../engine/conntrack/proto-sctp.js";
import { udpliteTracker, udpTracker } from "../engine/conntrack/proto-udp.js";
import { L4_CSUM_BAD, L4_HDR_OK, L4_UDP_LEN_BAD } from "../engine/decode/packet-batch.js";
import { FakeCore, pkt } from "./helpers/proto-fake.js";

/*
 * Ground truth from the real kernel: these crafted flows were written as a pcap (same relative times),
 * injected with /work/shared/kernel-oracle (Linux 6.18.44, HZ 250, default sysctls, --speed 1) and the table
 * dumped 2.531 s after the first packet. EXPECTED is what `conntrack -L` printed there; `invalid` is
 * conntrack -S. Two kernel facts this pins down: UDPLite still has its own handler (assured right after the
 * reply, no 2-second rule) and the SCTP 6.x table/vtag rules (INIT retransmit does not refresh, OOTB
 * SHUTDOWN_ACK creates, a vtag-changing HEARTBEAT/HEARTBEAT_ACK pair is accepted, > 8 chunks are fine).
 */
const DUMP = 2.531;

interface P {
  t: number;
  flow: string;
  dir: 0 | 1;
  proto: number;
  flags?: number;
  vtag?: number;
  itag?: number;
  chunks?: [number, number][];
  type?: number;
  id?: number;
}

const P_: P[] = [];
const add = (p: P) => P_.push(p);
const TA = 0x11111111;
const TB = 0x22222222;

for (const [flow, last] of [
  ["U1", 0.5],
  ["U2", 2.5],
] as const) {
  add({ t: 0, flow, dir: 0, proto: 17 });
  add({ t: 0.1, flow, dir: 1, proto: 17 });
  add({ t: last, flow, dir: 0, proto: 17 });
}
add({ t: 0, flow: "L1", dir: 0, proto: 136 });
add({ t: 0.1, flow: "L1", dir: 1, proto: 136 });
add({ t: 0.5, flow: "L1", dir: 0, proto: 136 });
add({ t: 0, flow: "L2", dir: 0, proto: 136 });
add({ t: 0.1, flow: "L2", dir: 1, proto: 136 });
add({ t: 0.2, flow: "L3", dir: 0, proto: 136, flags: L4_HDR_OK | L4_UDP_LEN_BAD }); // coverage 4 < 8
add({ t: 0.25, flow: "L4", dir: 0, proto: 136, flags: L4_HDR_OK | L4_CSUM_BAD }); // RFC pseudo-header proto 136
add({ t: 0, flow: "G1", dir: 0, proto: 47 });
add({ t: 0.1, flow: "G1", dir: 1, proto: 47 });
add({ t: 0.2, flow: "G1", dir: 0, proto: 47 });
add({ t: 0, flow: "G2", dir: 0, proto: 47 });
add({ t: 0, flow: "I1", dir: 0, proto: 1, type: 8, id: 77 });
add({ t: 0.1, flow: "I1", dir: 1, proto: 1, type: 0, id: 77 });
add({ t: 0.2, flow: "I2", dir: 0, proto: 1, type: 0, id: 78 });
add({ t: 0.3, flow: "I3", dir: 0, proto: 1, type: 13, id: 79 });

const S = (t: number, flow: string, dir: 0 | 1, vtag: number, chunks: [number, number][], itag = 0) =>
  add({ t, flow, dir, proto: 132, vtag, itag, chunks });
const hs = (flow: string) => {
  S(0, flow, 0, 0, [[1, 0]], TA);
  S(0.04, flow, 1, TA, [[2, 0]], TB);
  S(0.08, flow, 0, TB, [[10, 0]]);
  S(0.12, flow, 1, TA, [[11, 0]]);
};
const D: [number, number] = [0, 3];
hs("S1");
S(1, "S1", 0, TB, [[7, 0]]);
S(1.1, "S1", 1, TA, [[8, 0]]);
S(1.2, "S1", 0, TB, [[14, 0]]);
hs("S2");
S(1, "S2", 1, TA, [[6, 0]]);
hs("S3");
S(1, "S3", 0, 0xdeadbeef, [D]);
S(0, "S4", 0, TB, [[4, 0]]);
S(0.5, "S4", 1, TA, [[5, 0]]);
S(0, "S5", 0, 0, [[1, 0]], TA);
S(2, "S5", 0, 0, [[1, 0]], TA);
S(0, "S6", 0, TB, [[6, 0]]);
S(0, "S7", 0, TB, [D]);
hs("S8");
S(1, "S8", 1, TA, [[7, 0]]);
S(0, "S9", 0, 5, [[1, 0]], TA);
hs("S10");
S(1, "S10", 1, TA, [[6, 1]]);
hs("S11");
S(1, "S11", 0, 0x33333333, [[4, 0]]);
S(1.5, "S11", 1, 0x44444444, [[5, 0]]);
S(0, "S12", 0, 0, [[1, 0], D], TA);
hs("S13");
S(
  1,
  "S13",
  0,
  TB,
  Array.from({ length: 12 }, () => D),
);
S(0, "S14", 0, TB, [[8, 0]]);
hs("S15");
S(1, "S15", 1, TB, [[6, 1]]);
hs("S16");
S(1, "S16", 1, TA, [[2, 0]], 0x99999999);
hs("S17");
S(1, "S17", 0, TB, [[7, 0]]);
S(1.1, "S17", 1, TA, [[8, 0]]);

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
  for (const p of [...P_].sort((a, b) => a.t - b.t)) {
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
    const tr = TRACKERS[c.store.l4proto[ct]!]!;
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
