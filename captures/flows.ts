/**
 * Flow kinds of the bulk generator and the per-slot state machine that emits one flow packet by packet.
 * A slot is reused for flow after flow (reset in place), so memory is bounded by the concurrency.
 * Addresses: clients 10.128.0.0/9 and fd00:0:0:1::/64, servers 10.0.1.0/24..10.0.8.0/24 and fd00:0:0:2::/64.
 * A flow's client address and port are a bijection of its serial number, so no two flows of one capture
 * share a 5-tuple (no accidental merging in conntrack).
 */
import { dnsQuery, dnsResponse } from "./dns.js";
import type { FrameEmitter } from "./frame.js";
import type { Sfc32 } from "./prng.js";
import { STACK_LINUX, STACK_PLAIN, STACK_WINDOWS, TcpConv } from "./tcp-conv.js";

export const FLOW_KINDS = [
  "tcp-close", // handshake, request/response exchanges, FIN teardown (3 styles)
  "tcp-rst", // handshake, exchanges, RST from either side
  "tcp-open", // handshake, exchanges, left open
  "tcp-halfopen", // SYN never answered, 0-2 retransmissions (1 s, 2 s backoff)
  "tcp-refused", // SYN answered by RST|ACK
  "udp-dns", // query/response; 5 % unanswered with one retry
  "udp-stream", // both directions over > 2 s (nf_conntrack's UDP stream rule)
  "udp-oneway", // a single datagram (syslog), never answered
  "udp-unreach", // datagram to a closed port, ICMP/ICMPv6 port unreachable quoting it
  "icmp-echo", // 1-4 echo request/reply pairs, 1 s apart
] as const;
export type FlowKind = (typeof FLOW_KINDS)[number];
export type FlowMix = Partial<Record<FlowKind, number>>;

/** The realistic default mix (weights; mean about 5 packets per flow). */
export const DEFAULT_MIX: FlowMix = {
  "tcp-close": 0.17,
  "tcp-rst": 0.03,
  "tcp-open": 0.02,
  "tcp-halfopen": 0.08,
  "tcp-refused": 0.04,
  "udp-dns": 0.44,
  "udp-stream": 0.03,
  "udp-oneway": 0.02,
  "udp-unreach": 0.04,
  "icmp-echo": 0.13,
};

/** Expected packets of one flow of each kind (from the distributions in FlowSlot.start). */
const EXCHANGE_PKTS = 2 + 2; // request + client ACK + mean 2 response segments
const MEAN_EXCHANGES = 1.5;
const EXPECTED_PACKETS: Record<FlowKind, number> = {
  "tcp-close": 3 + MEAN_EXCHANGES * EXCHANGE_PKTS + (3 + 3 + 4) / 3,
  "tcp-rst": 3 + MEAN_EXCHANGES * EXCHANGE_PKTS + 1,
  "tcp-open": 3 + MEAN_EXCHANGES * EXCHANGE_PKTS,
  "tcp-halfopen": 2,
  "tcp-refused": 2,
  "udp-dns": 2,
  "udp-stream": 24,
  "udp-oneway": 1,
  "udp-unreach": 2,
  "icmp-echo": 5,
};
/** Expected lifetime independent of think time (seconds), and the number of think gaps. */
const INTRINSIC_S: Record<FlowKind, number> = {
  "tcp-close": 0.1,
  "tcp-rst": 0.1,
  "tcp-open": 0.1,
  "tcp-halfopen": (0 + 1 + 3) / 3,
  "tcp-refused": 0.03,
  "udp-dns": 0.05 * 0.95 + 3 * 0.05,
  "udp-stream": 2.5,
  "udp-oneway": 0,
  "udp-unreach": 0.03,
  "icmp-echo": 1.5,
};
const THINK_GAPS: Record<FlowKind, number> = {
  "tcp-close": MEAN_EXCHANGES,
  "tcp-rst": MEAN_EXCHANGES,
  "tcp-open": MEAN_EXCHANGES - 1,
  "tcp-halfopen": 0,
  "tcp-refused": 0,
  "udp-dns": 0,
  "udp-stream": 2,
  "udp-oneway": 0,
  "udp-unreach": 0,
  "icmp-echo": 0,
};

/** Normalized cumulative weights of a mix (kinds with weight 0 never drawn). */
export function cumulativeMix(mix: FlowMix): Float64Array {
  let total = 0;
  for (const k of FLOW_KINDS) total += mix[k] ?? 0;
  if (!(total > 0)) throw new Error("flow mix has no positive weight");
  const cum = new Float64Array(FLOW_KINDS.length);
  let acc = 0;
  FLOW_KINDS.forEach((k, i) => {
    acc += (mix[k] ?? 0) / total;
    cum[i] = acc;
  });
  cum[cum.length - 1] = 1;
  return cum;
}

function weightedMean(mix: FlowMix, table: Record<FlowKind, number>): number {
  let total = 0;
  let sum = 0;
  for (const k of FLOW_KINDS) {
    const w = mix[k] ?? 0;
    total += w;
    sum += w * table[k];
  }
  return sum / total;
}

export function expectedPacketsPerFlow(mix: FlowMix): number {
  return weightedMean(mix, EXPECTED_PACKETS);
}

/** Mean flow lifetime (s) for a given mean think gap. */
export function meanLifetime(mix: FlowMix, thinkS: number): number {
  return weightedMean(mix, INTRINSIC_S) + weightedMean(mix, THINK_GAPS) * thinkS;
}

/** Mean think gap (s) that makes the mean flow lifetime equal `meanLifetimeS`. */
export function thinkGapFor(mix: FlowMix, meanLifetimeS: number): number {
  const intrinsic = weightedMean(mix, INTRINSIC_S);
  const gaps = weightedMean(mix, THINK_GAPS);
  if (gaps <= 0) return 0.001;
  return Math.max(0.001, (meanLifetimeS - intrinsic) / gaps);
}

// Phases of the state machine.
const P_SYN = 0;
const P_SYNACK = 1;
const P_ACK = 2;
const P_REQ = 3;
const P_RESP = 4;
const P_CACK = 5;
const P_END = 6; // teardown step `sub`
const P_REFUSE = 7;
const P_UDP_Q = 8;
const P_UDP_R = 9;
const P_STREAM = 10;
const P_ECHO_REQ = 11;
const P_ECHO_REP = 12;
const P_ICMP_ERR = 13;

const S = 1e6; // µs per second

/** TCP service ports with weights (https, http, ssh, smtp, imaps, alt-http). */
const TCP_PORTS = [443, 443, 443, 443, 443, 80, 80, 22, 25, 993, 8080];
const STREAM_PORTS = [443, 3478, 4500, 5004, 27015];

/** Client address / port of flow `serial` (a bijection while serial < 65536 * 28232). */
function clientOf(serial: number, v6: boolean, out: Uint8Array): number {
  const h = Math.imul(serial & 0xffff, 40503) & 0xffff; // odd multiplier: bijection on 16 bits
  const q = Math.floor(serial / 65536);
  out.fill(0);
  if (v6) {
    out[0] = 0xfd;
    out[7] = 1;
    out[13] = 1;
    out[14] = h >>> 8;
    out[15] = h & 0xff;
  } else {
    out[0] = 10;
    out[1] = 128 + (h >>> 9);
    out[2] = (h >>> 1) & 0xff;
    out[3] = 2 + (h & 1) * 100;
  }
  return 32768 + ((q * 7919 + h * 13) % 28232);
}

/** Server `s` (0..1023). */
function serverOf(s: number, v6: boolean, out: Uint8Array): void {
  out.fill(0);
  if (v6) {
    out[0] = 0xfd;
    out[7] = 2;
    out[14] = s >>> 8;
    out[15] = (s & 0xff) + 1;
  } else {
    out[0] = 10;
    out[1] = 0;
    out[2] = 1 + (s >>> 7);
    out[3] = 1 + (s & 127);
  }
}

export interface FlowParams {
  /** Mean think time between request/response exchanges (µs). */
  thinkUs: number;
}

export class FlowSlot {
  kind = 0;
  phase = 0;
  /** Teardown style / sub-step. */
  style = 0;
  sub = 0;
  exchanges = 0;
  segs = 0;
  left = 0;
  rttUs = 0;
  startUs = 0;
  v6 = false;
  /** Datagram fields kept to re-emit (retries) or quote (ICMP errors). */
  payLen = 0;
  payOff = 0;
  ipId = 0;
  echoSeq = 0;
  /** Seed of the flow's DNS messages (query and response are rebuilt from it). */
  dnsSeed = 0;
  readonly conv: TcpConv;
  /** Shared scratch for DNS messages (rebuilt per packet, never kept). */
  private static readonly dnsBuf = new Uint8Array(512);

  constructor(
    private readonly em: FrameEmitter,
    private readonly rng: Sfc32,
    private readonly params: FlowParams,
  ) {
    this.conv = new TcpConv(em, rng);
  }

  /** Starts flow `serial` of kind index `kind`; returns the time of its first packet. */
  start(serial: number, kind: number, v6: boolean, t: number): number {
    const rng = this.rng;
    const c = this.conv;
    this.kind = kind;
    this.v6 = v6;
    this.startUs = t;
    this.sub = 0;
    c.v6 = v6;
    c.cport = clientOf(serial, v6, c.c);
    const server = Math.floor(1024 * rng.float() ** 3); // a few popular servers, a long tail
    serverOf(server, v6, c.s);
    this.rttUs = Math.round(500 + Math.min(rng.exp(25_000), 300_000));
    const name = FLOW_KINDS[kind];
    switch (name) {
      case "tcp-close":
      case "tcp-rst":
      case "tcp-open":
      case "tcp-halfopen":
      case "tcp-refused": {
        c.sport = TCP_PORTS[rng.int(TCP_PORTS.length)];
        const r = rng.float();
        c.reset(r < 0.7 ? STACK_LINUX : r < 0.9 ? STACK_WINDOWS : STACK_PLAIN);
        this.phase = P_SYN;
        this.exchanges = 1 + rng.int(2); // 1 or 2, mean MEAN_EXCHANGES
        this.style = rng.int(3);
        this.left = name === "tcp-halfopen" ? rng.int(3) : 0; // SYN retransmissions
        break;
      }
      case "udp-dns":
        c.sport = 53;
        this.phase = P_UDP_Q;
        this.left = rng.chance(0.05) ? 1 : 0; // unanswered: one retry, no response
        this.dnsSeed = rng.u32();
        break;
      case "udp-stream":
        c.sport = STREAM_PORTS[rng.int(STREAM_PORTS.length)];
        this.phase = P_STREAM;
        this.left = rng.range(8, 40);
        this.segs = this.left; // packets in the stream
        this.echoSeq = 0;
        break;
      case "udp-oneway":
        c.sport = 514;
        this.phase = P_UDP_Q;
        this.left = 0;
        this.payLen = rng.range(60, 400);
        break;
      case "udp-unreach":
        c.sport = rng.range(33434, 33534); // traceroute-style closed ports
        this.phase = P_UDP_Q;
        this.left = 0;
        this.payLen = rng.range(16, 64);
        break;
      default: // icmp-echo
        this.phase = P_ECHO_REQ;
        this.left = rng.range(1, 4);
        this.echoSeq = 1;
        this.payLen = 56;
        break;
    }
    return t;
  }

  /** Emits the flow's packet due at t; returns the time of the next one, or -1 when the flow is over. */
  step(t: number): number {
    const rng = this.rng;
    const c = this.conv;
    const em = this.em;
    const rtt = this.rttUs;
    const name = FLOW_KINDS[this.kind];
    switch (this.phase) {
      case P_SYN:
        c.syn(t);
        if (name === "tcp-halfopen") {
          if (this.left === 0) return -1;
          this.left--;
          this.sub++;
          return t + (this.sub === 1 ? 1 : 2) * S; // Linux initial RTO 1 s, doubling
        }
        this.phase = name === "tcp-refused" ? P_REFUSE : P_SYNACK;
        return t + rtt;
      case P_REFUSE:
        c.refuse(t);
        return -1;
      case P_SYNACK:
        c.synAck(t);
        this.phase = P_ACK;
        return t + 30 + rng.int(200);
      case P_ACK:
        c.ack(t, 0);
        this.phase = P_REQ;
        return t + 20 + rng.int(200);
      case P_REQ:
        c.data(t, 0, rng.range(80, 700), true);
        this.segs = rng.range(1, 3);
        this.phase = P_RESP;
        return t + rtt + rng.int(5000);
      case P_RESP: {
        this.segs--;
        const last = this.segs === 0;
        const mss = c.stack === 0 ? (this.v6 ? 1428 : 1448) : this.v6 ? 1440 : 1460;
        c.data(t, 1, last ? rng.range(1, mss) : mss, last);
        if (!last) return t + 10 + rng.int(300);
        this.phase = P_CACK;
        return t + 40 + rng.int(1000);
      }
      case P_CACK:
        c.ack(t, 0);
        this.exchanges--;
        if (this.exchanges > 0) {
          this.phase = P_REQ;
          return t + this.think();
        }
        if (name === "tcp-open") return -1;
        this.phase = P_END;
        return t + this.think();
      case P_END:
        return this.teardown(t, name === "tcp-rst");
      case P_UDP_Q:
        if (this.sub === 0) this.payOff = em.pool.offset(rng);
        this.ipId = c.ipIdC++;
        if (name === "udp-dns") {
          const len = dnsQuery(FlowSlot.dnsBuf, this.dnsSeed);
          em.udpBytes(t, this.v6, c.c, c.s, c.cport, c.sport, FlowSlot.dnsBuf, len, this.ipId);
        } else {
          em.udp(t, this.v6, c.c, c.s, c.cport, c.sport, this.payLen, this.payOff, this.ipId);
        }
        this.sub++;
        if (name === "udp-oneway") return -1;
        if (name === "udp-unreach") {
          this.phase = P_ICMP_ERR;
          return t + rtt;
        }
        if (this.left > 0) {
          this.left--;
          return t + rng.range(1, 5) * S; // resolver retry, same socket
        }
        if (this.sub > 1) return -1; // the retry went unanswered too
        this.phase = P_UDP_R;
        return t + rtt;
      case P_UDP_R: {
        const len = dnsResponse(FlowSlot.dnsBuf, this.dnsSeed);
        em.udpBytes(t, this.v6, c.s, c.c, c.sport, c.cport, FlowSlot.dnsBuf, len, c.ipIdS++);
        return -1;
      }
      case P_ICMP_ERR: {
        const qlen = em.buildUdpQuote(
          this.v6,
          c.c,
          c.s,
          c.cport,
          c.sport,
          this.payLen,
          this.payOff,
          this.ipId,
        );
        em.icmpError(t, this.v6, c.s, c.c, this.v6 ? 1 : 3, this.v6 ? 4 : 3, em.scratch, qlen, c.ipIdS++);
        return -1;
      }
      case P_STREAM: {
        // First packet from the client, second the reply, then either side; the last one is a reply sent
        // more than 2 s after the first (nf_conntrack_udp_packet's stream rule).
        const n = this.echoSeq++;
        this.left--;
        const dir = n === 0 ? 0 : n === 1 || this.left === 0 ? 1 : rng.int(2);
        const len = rng.range(100, 1200);
        if (dir === 0) em.udp(t, this.v6, c.c, c.s, c.cport, c.sport, len, em.pool.offset(rng), c.ipIdC++);
        else em.udp(t, this.v6, c.s, c.c, c.sport, c.cport, len, em.pool.offset(rng), c.ipIdS++);
        if (this.left === 0) return -1;
        const span = 2.5 * S + 2 * this.params.thinkUs;
        let next = t + Math.round((0.5 + rng.float()) * (span / (this.segs - 1)));
        if (this.left === 1) next = Math.max(next, this.startUs + 2.2 * S);
        return next;
      }
      case P_ECHO_REQ: {
        this.ipId = c.ipIdC++;
        this.payOff = em.pool.offset(rng);
        em.icmpEcho(
          t,
          this.v6,
          c.c,
          c.s,
          this.v6 ? 128 : 8,
          c.cport,
          this.echoSeq,
          56,
          this.payOff,
          this.ipId,
        );
        this.phase = P_ECHO_REP;
        return t + rtt;
      }
      default: {
        // P_ECHO_REP: the reply echoes id, sequence and data.
        em.icmpEcho(
          t,
          this.v6,
          c.s,
          c.c,
          this.v6 ? 129 : 0,
          c.cport,
          this.echoSeq,
          56,
          this.payOff,
          c.ipIdS++,
        );
        this.left--;
        if (this.left === 0) return -1;
        this.echoSeq++;
        this.phase = P_ECHO_REQ;
        return t + S - rtt;
      }
    }
  }

  /** A think gap: uniform in [0.5, 1.5] x mean (bounded, so a capture's end is not set by one long tail). */
  private think(): number {
    return 1 + Math.floor((0.5 + this.rng.float()) * this.params.thinkUs);
  }

  /** Teardown step `sub`: styles 0 client FIN first (3-way), 1 server FIN first, 2 four-way; or RST. */
  private teardown(t: number, rst: boolean): number {
    const c = this.conv;
    const rtt = this.rttUs;
    const small = 30 + this.rng.int(300);
    if (rst) {
      c.rst(t, this.style === 1 ? 1 : 0, true);
      return -1;
    }
    const step = this.sub++;
    if (this.style === 0) {
      if (step === 0) c.fin(t, 0);
      else if (step === 1) c.fin(t, 1);
      else c.ack(t, 0);
      return step === 2 ? -1 : t + (step === 0 ? rtt : small);
    }
    if (this.style === 1) {
      if (step === 0) c.fin(t, 1);
      else if (step === 1) c.fin(t, 0);
      else c.ack(t, 1);
      return step === 2 ? -1 : t + (step === 0 ? small : rtt);
    }
    if (step === 0) c.fin(t, 0);
    else if (step === 1) c.ack(t, 1);
    else if (step === 2) c.fin(t, 1);
    else c.ack(t, 0);
    return step === 3 ? -1 : t + (step === 0 ? rtt : small);
  }
}
