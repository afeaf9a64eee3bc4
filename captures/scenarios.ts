/**
 * Small deterministic scenarios for differential tests against the kernel (kernel-oracle): each stresses
 * one part of nf_conntrack. Most are the bulk generator with a narrowed flow mix; tcp-teardown is written
 * connection by connection so every way a TCP connection can end appears on IPv4 and IPv6.
 */
import type { FlowMix } from "./flows.js";
import type { FrameEmitter } from "./frame.js";
import type { Sfc32 } from "./prng.js";
import { STACK_LINUX, STACK_PLAIN, STACK_WINDOWS, TcpConv } from "./tcp-conv.js";

export interface BulkScenario {
  /** What it exercises (shown by `ctreplay generate --help`). */
  about: string;
  mix: FlowMix;
  flows: number;
  concurrent: number;
  thinkS: number;
  ipv6Share: number;
}

export const SCENARIO_NAMES = [
  "table-full",
  "short-tcp",
  "udp-streams",
  "tcp-teardown",
  "ipv6",
  "icmp-errors",
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export const BULK_SCENARIOS: Record<Exclude<ScenarioName, "tcp-teardown">, BulkScenario> = {
  "table-full": {
    about: "many new flows never answered (one-way UDP, unanswered SYNs): fills the table, early_drop",
    mix: { "udp-oneway": 0.6, "tcp-halfopen": 0.4 },
    flows: 4000,
    concurrent: 400,
    thinkS: 0.05,
    ipv6Share: 0.1,
  },
  "short-tcp": {
    about: "many short TCP connections (handshake, data, FIN or RST, refused): TIME_WAIT/CLOSE churn",
    mix: { "tcp-close": 0.8, "tcp-rst": 0.1, "tcp-refused": 0.1 },
    flows: 400,
    concurrent: 20,
    thinkS: 0.05,
    ipv6Share: 0.1,
  },
  "udp-streams": {
    about: "UDP streams with replies continuing over more than 2 s (ASSURED, stream timeout) and DNS",
    mix: { "udp-stream": 0.7, "udp-dns": 0.3 },
    flows: 60,
    concurrent: 10,
    thinkS: 0.5,
    ipv6Share: 0.1,
  },
  ipv6: {
    about: "the default flow mix, IPv6 only",
    mix: {
      "tcp-close": 0.3,
      "tcp-rst": 0.05,
      "tcp-open": 0.05,
      "tcp-halfopen": 0.05,
      "tcp-refused": 0.05,
      "udp-dns": 0.25,
      "udp-stream": 0.05,
      "udp-unreach": 0.05,
      "icmp-echo": 0.15,
    },
    flows: 300,
    concurrent: 30,
    thinkS: 0.2,
    ipv6Share: 1,
  },
  "icmp-errors": {
    about: "UDP to closed ports answered by ICMP/ICMPv6 port unreachable quoting them (RELATED), echo",
    mix: { "udp-unreach": 0.5, "icmp-echo": 0.5 },
    flows: 200,
    concurrent: 20,
    thinkS: 0.2,
    ipv6Share: 0.3,
  },
};

export const TCP_TEARDOWN_ABOUT =
  "every TCP ending: FIN/FIN, 4-way, FIN then RST, RST in ESTABLISHED, RST before reply, refused, " +
  "half-close, simultaneous close, left open (IPv4 and IPv6)";

const TEARDOWNS = [
  "fin-fin",
  "fin-4way",
  "fin-rst",
  "rst-established",
  "rst-before-reply",
  "refused",
  "half-close",
  "simultaneous-close",
  "left-open",
] as const;

/**
 * Writes the tcp-teardown scenario: each ending 3 times per address family, one connection at a time.
 * Returns the time after the last packet and the connections written (half of them IPv6).
 */
export function writeTcpTeardown(
  em: FrameEmitter,
  rng: Sfc32,
  startUs: number,
): { endUs: number; connections: number } {
  const c = new TcpConv(em, rng);
  let t = startUs;
  let serial = 0;
  const rtt = 20_000;
  const gap = 1_000;
  for (let round = 0; round < 3; round++) {
    for (const v6 of [false, true]) {
      for (const ending of TEARDOWNS) {
        serial++;
        c.v6 = v6;
        c.c.fill(0);
        c.s.fill(0);
        if (v6) {
          c.c[0] = 0xfd;
          c.c[7] = 1;
          c.c[15] = 2;
          c.s[0] = 0xfd;
          c.s[7] = 2;
          c.s[15] = 1;
        } else {
          c.c.set([10, 128, 0, 2]);
          c.s.set([10, 0, 1, 1]);
        }
        c.cport = 40000 + serial;
        c.sport = 80;
        c.reset(round === 0 ? STACK_LINUX : round === 1 ? STACK_WINDOWS : STACK_PLAIN);
        c.syn(t);
        t += rtt;
        if (ending === "rst-before-reply") {
          c.rst(t, 0, false);
          t += 100_000;
          continue;
        }
        if (ending === "refused") {
          c.refuse(t);
          t += 100_000;
          continue;
        }
        c.synAck(t);
        t += gap;
        c.ack(t, 0);
        t += gap;
        c.data(t, 0, 200 + rng.int(300), true);
        t += rtt;
        c.data(t, 1, 1000 + rng.int(400), true);
        t += gap;
        c.ack(t, 0);
        t += 50_000;
        switch (ending) {
          case "fin-fin":
            c.fin(t, 0);
            t += rtt;
            c.fin(t, 1);
            t += gap;
            c.ack(t, 0);
            break;
          case "fin-4way":
            c.fin(t, 1);
            t += gap;
            c.ack(t, 0);
            t += gap;
            c.fin(t, 0);
            t += rtt;
            c.ack(t, 1);
            break;
          case "fin-rst":
            c.fin(t, 0);
            t += rtt;
            c.rst(t, 1, true);
            break;
          case "rst-established":
            c.rst(t, rng.int(2), true);
            break;
          case "half-close":
            c.fin(t, 0);
            t += rtt;
            c.ack(t, 1);
            t += gap;
            c.data(t, 1, 1200, false);
            t += gap;
            c.data(t, 1, 300, true);
            t += gap;
            c.ack(t, 0);
            t += 200_000;
            c.fin(t, 1);
            t += gap;
            c.ack(t, 0);
            break;
          case "simultaneous-close":
            c.fin(t, 0);
            t += 10;
            c.fin(t, 1, true);
            t += rtt;
            c.ack(t, 0);
            t += 10;
            c.ack(t, 1);
            break;
          default: // left-open
            break;
        }
        t += 100_000;
      }
    }
  }
  return { endUs: t, connections: serial };
}
