/**
 * A minimal stand-in for the conntrack core, enough to drive one L4 tracker through a conversation:
 * entries are allocated by hand, the tracker runs, then the fake does what nf_conntrack_in/confirm do
 * around it (free an invalid unconfirmed entry, confirm after the first accepted packet with
 * timeout += now, set SEEN_REPLY after an accepted reply). Time starts at the kernel's INITIAL_JIFFIES
 * ((u32)-300*HZ) so every scenario longer than 300 s crosses the u32 wrap.
 */
import { CtStore, T_PORTS, T_PROTO } from "../../engine/conntrack/ct-store.js";
import {
  type CtContext,
  type Dir,
  IP_CT_DIR_REPLY,
  IP_CT_ESTABLISHED,
  IP_CT_ESTABLISHED_REPLY,
  IP_CT_NEW,
  IPS_CONFIRMED,
  IPS_FIXED_TIMEOUT,
  IPS_SEEN_REPLY,
  type L4Tracker,
  V_ACCEPT,
  type Verdict,
} from "../../engine/conntrack/l4proto.js";
import { type CtSettings, resolveSettings } from "../../engine/conntrack/settings.js";
import {
  L4_CSUM_BAD,
  L4_HDR_OK,
  L4_UDP_LEN_BAD,
  NFPROTO_IPV4,
  PacketBatch,
  PK_IP,
  SCTP_MAX_CHUNKS,
} from "../../engine/decode/packet-batch.js";

export const HZ = 250;
const INITIAL_JIFFIES = (-300 * HZ) >>> 0;

export class FakeCore implements CtContext {
  readonly store: CtStore;
  readonly settings: CtSettings;
  now = INITIAL_JIFFIES;
  private next = 0;
  readonly freed = new Set<number>();

  constructor(settings: CtSettings = resolveSettings({}, HZ), capacity = 64) {
    this.settings = settings;
    this.store = new CtStore(capacity);
  }

  /** Capture time in seconds since the start of the scenario -> jiffies. */
  at(sec: number): this {
    this.now = (INITIAL_JIFFIES + Math.round(sec * HZ)) >>> 0;
    return this;
  }

  refresh(ct: number, extra: number): void {
    const st = this.store.statusOf(ct);
    if (st & IPS_FIXED_TIMEOUT) return;
    this.store.setTimeout(ct, st & IPS_CONFIRMED ? (this.now + extra) >>> 0 : extra);
  }

  kill(ct: number): void {
    this.freed.add(ct);
  }

  /** init_conntrack: a fresh entry whose ORIGINAL tuple has the given ports word and protocol. */
  alloc(protonum: number, sport = 0, dport = 0, l3 = NFPROTO_IPV4): number {
    const ct = this.next++;
    this.store.reset(ct);
    this.store.setL4proto(ct, protonum);
    const t = this.store.tupleOff(ct * 2);
    this.store.tuple[t + T_PORTS] = ((sport << 16) | dport) >>> 0;
    this.store.tuple[t + T_PROTO] = (l3 << 8) | protonum;
    return ct;
  }

  /** Runs the tracker for a packet of `dir` and applies the core's after-handler steps. */
  process(tracker: L4Tracker, ct: number, pkt: PacketBatch, dir: Dir, i = 0): Verdict {
    const st = this.store.statusOf(ct);
    const ctinfo =
      dir === IP_CT_DIR_REPLY ? IP_CT_ESTABLISHED_REPLY : st & IPS_SEEN_REPLY ? IP_CT_ESTABLISHED : IP_CT_NEW;
    const v = tracker.packet(this, ct, pkt, i, dir, ctinfo);
    if (v !== V_ACCEPT) {
      if ((st & IPS_CONFIRMED) === 0) this.freed.add(ct);
      return v;
    }
    if (dir === IP_CT_DIR_REPLY) this.store.setStatus(ct, this.store.statusOf(ct) | IPS_SEEN_REPLY);
    if ((this.store.statusOf(ct) & IPS_CONFIRMED) === 0) {
      this.store.setStatus(ct, this.store.statusOf(ct) | IPS_CONFIRMED);
      this.store.setTimeout(ct, (this.store.timeoutOf(ct) + this.now) >>> 0);
    }
    return v;
  }

  /** Seconds until expiry (what conntrack -L prints before truncation); negative once expired. */
  remaining(ct: number): number {
    return ((this.store.timeoutOf(ct) - this.now) | 0) / HZ;
  }

  status(ct: number): number {
    return this.store.statusOf(ct);
  }

  word(ct: number, w: number): number {
    return this.store.protoWord(ct, w);
  }
}

export interface PktSpec {
  l3?: number;
  proto?: number;
  flags?: number;
  sport?: number;
  dport?: number;
  x0?: number;
  x1?: number;
  /** SCTP chunks: [type, flags] pairs in order; nchunks defaults to their count. */
  chunks?: readonly (readonly [number, number])[];
  nchunks?: number;
}

/** One decoded packet in row 0 of a fresh batch (tests only: allocates). */
export function pkt(spec: PktSpec = {}): PacketBatch {
  const b = new PacketBatch(8);
  b.clearRow(0);
  b.kind[0] = PK_IP;
  b.l3[0] = spec.l3 ?? NFPROTO_IPV4;
  b.proto[0] = spec.proto ?? 0;
  b.l4flags[0] = spec.flags ?? L4_HDR_OK;
  b.sport[0] = spec.sport ?? 0;
  b.dport[0] = spec.dport ?? 0;
  b.x0[0] = spec.x0 ?? 0;
  b.x1[0] = spec.x1 ?? 0;
  const ch = spec.chunks ?? [];
  for (let k = 0; k < ch.length && k < SCTP_MAX_CHUNKS; k++) {
    b.chunks[k] = ch[k]![0];
    b.chunkFlags[k] = ch[k]![1];
  }
  b.nchunks[0] = spec.nchunks ?? ch.length;
  b.count = 1;
  return b;
}

// ---- crafted flows (the kernel-observed scenario set) ----

/** One packet of a crafted flow (test/proto-kernel-observed.test.ts, test/proto-kernel-live.test.ts). */
export interface CraftedPacket {
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

const P_: CraftedPacket[] = [];
const add = (p: CraftedPacket) => P_.push(p);
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

/** Crafted UDP/UDPLite/GRE/ICMP/SCTP flows exercising the trackers' rules, in time order (seconds from 0). */
export const CRAFTED_FLOWS: readonly CraftedPacket[] = [...P_].sort((a, b) => a.t - b.t);
