/**
 * Seeded random TCP flows for differential tests against the kernel: plausible connections (handshakes,
 * pickups, simultaneous opens) mixed with perturbed sequence/ack numbers, windows incl. 0, SACK edges,
 * FIN/RST with exact, shifted and zero sequence numbers, reopening SYNs, bad flag combinations, duplicate
 * ACKs and keep-alives. Deterministic for a given (n, seed): test/tcp-kernel-observed.test.ts holds what the
 * live kernel made of fuzzFlows(300, 7).
 */

import type { Seg, Side } from "./tcp-fake.js";
import type { ObsFlow, ObsPkt } from "./tcp-observed.js";

interface Peer {
  isn: number;
  nxt: number;
  ws: number | undefined;
  sp: boolean;
}

export function fuzzFlows(N: number, seed: number): ObsFlow[] {
  let s = seed >>> 0;
  // mulberry32
  const rnd = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const ri = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(a: readonly T[]): T => a[ri(a.length)] as T;
  const u32 = (x: number): number => x >>> 0;
  const FIN = 1;
  const SYN = 2;
  const RST = 4;
  const PSH = 8;
  const ACK = 16;
  const URG = 32;
  const flows: ObsFlow[] = [];
  const wins = [0, 1, 502, 4096, 29200, 64240, 65535];
  for (let f = 0; f < N; f++) {
    const pkts: ObsPkt[] = [];
    let t = rnd() * 0.2;
    const st: Record<Side, Peer> = {
      c: { isn: u32(ri(2 ** 32)), nxt: 0, ws: rnd() < 0.7 ? ri(15) : undefined, sp: rnd() < 0.7 },
      s: { isn: u32(ri(2 ** 32)), nxt: 0, ws: rnd() < 0.7 ? ri(15) : undefined, sp: rnd() < 0.7 },
    };
    st.c.nxt = u32(st.c.isn + 1);
    st.s.nxt = u32(st.s.isn + 1);
    const other = (x: Side): Side => (x === "c" ? "s" : "c");
    const add = (side: Side, seg: Seg): boolean => {
      t += rnd() < 0.8 ? rnd() * 0.05 : rnd() * 0.6;
      if (t > 2.9) return false;
      pkts.push({ t: Math.round(t * 1e4) / 1e4, side, seg });
      return true;
    };
    const pert = (x: number): number => {
      const r = rnd();
      if (r < 0.75) return x;
      if (r < 0.85) return u32(x + ri(3000) - 1500);
      if (r < 0.93) return u32(x + ri(200000) - 100000);
      return u32(ri(2 ** 32));
    };
    const start = rnd();
    if (start < 0.75) {
      add("c", {
        flags: SYN,
        seq: st.c.isn,
        win: pick(wins),
        ...(st.c.ws !== undefined ? { wscale: st.c.ws } : {}),
        sackPerm: st.c.sp,
      });
      if (rnd() < 0.15)
        add("c", {
          flags: SYN,
          seq: rnd() < 0.5 ? st.c.isn : u32(st.c.isn + ri(1e6) - 5e5),
          win: pick(wins),
        });
      if (rnd() < 0.85)
        add("s", {
          flags: SYN | ACK,
          seq: st.s.isn,
          ack: pert(st.c.nxt),
          win: pick(wins),
          ...(st.s.ws !== undefined ? { wscale: st.s.ws } : {}),
          sackPerm: st.s.sp,
        });
      if (rnd() < 0.1) add("s", { flags: RST | ACK, seq: rnd() < 0.5 ? 0 : st.s.nxt, ack: st.c.nxt, win: 0 });
      if (rnd() < 0.85) add("c", { flags: ACK, seq: st.c.nxt, ack: pert(st.s.nxt), win: pick(wins) });
    } else if (start < 0.92) {
      // pickup
    } else {
      // simultaneous open
      add("c", { flags: SYN, seq: st.c.isn, win: pick(wins) });
      add("s", { flags: SYN, seq: st.s.isn, win: pick(wins) });
      add("c", { flags: SYN | ACK, seq: st.c.isn, ack: st.s.nxt, win: pick(wins) });
      add("s", { flags: SYN | ACK, seq: st.s.isn, ack: st.c.nxt, win: pick(wins) });
    }
    const steps = 2 + ri(10);
    for (let k = 0; k < steps; k++) {
      const side: Side = rnd() < 0.55 ? "c" : "s";
      const me = st[side],
        peer = st[other(side)];
      const r = rnd();
      let ok = true;
      if (r < 0.4) {
        const len = pick([0, 1, 100, 1000, 1460, 3000, 60000]);
        const seq = pert(me.nxt);
        const seg: Seg = { flags: ACK | (len ? PSH : 0), seq, ack: pert(peer.nxt), win: pick(wins), len };
        if (rnd() < 0.15) seg.sackEdge = u32(peer.nxt + ri(5000));
        ok = add(side, seg);
        if (seq === me.nxt && rnd() < 0.9) me.nxt = u32(me.nxt + len);
      } else if (r < 0.55) {
        ok = add(side, { flags: ACK, seq: me.nxt, ack: pert(peer.nxt), win: pick(wins) });
        if (rnd() < 0.3) ok = add(side, { flags: ACK, seq: me.nxt, ack: peer.nxt, win: pick(wins) });
      } else if (r < 0.7) {
        ok = add(side, { flags: FIN | ACK, seq: pert(me.nxt), ack: peer.nxt, win: pick(wins) });
        me.nxt = u32(me.nxt + 1);
      } else if (r < 0.78) {
        ok = add(side, {
          flags: pick([RST, RST | ACK]),
          seq: pick([me.nxt, me.nxt, pert(me.nxt), 0, u32(me.nxt - 5000)]),
          ack: peer.nxt,
          win: 0,
        });
      } else if (r < 0.86) {
        me.isn = u32(ri(2 ** 32));
        me.nxt = u32(me.isn + 1);
        ok = add(side, {
          flags: SYN,
          seq: me.isn,
          win: pick(wins),
          ...(me.ws !== undefined ? { wscale: me.ws } : {}),
          sackPerm: me.sp,
        });
        if (rnd() < 0.6) {
          peer.isn = u32(ri(2 ** 32));
          ok = add(other(side), { flags: SYN | ACK, seq: peer.isn, ack: pert(me.nxt), win: pick(wins) });
          peer.nxt = u32(peer.isn + 1);
        }
      } else if (r < 0.9) {
        ok = add(side, {
          flags: pick([SYN | FIN, FIN, 0, FIN | PSH | URG, SYN | RST, URG | ACK, ACK | PSH | 0xc0]),
          seq: me.nxt,
          ack: peer.nxt,
          win: pick(wins),
        });
      } else if (r < 0.95) {
        const seg: Seg = { flags: ACK, seq: me.nxt, ack: peer.nxt, win: pick(wins) };
        ok = add(side, seg);
        if (ok) ok = add(side, seg);
        if (ok && rnd() < 0.7) ok = add(side, seg);
        if (ok && rnd() < 0.5) ok = add(side, seg);
      } else {
        ok = add(side, { flags: ACK, seq: u32(me.nxt - 1), ack: peer.nxt, win: pick(wins) }); // keep-alive
      }
      if (!ok) break;
    }
    if (pkts.length) flows.push({ name: `f${f}`, pkts });
  }
  return flows;
}
