/**
 * Statistics the core keeps incrementally (or counts without a dump) for speed must equal what a full walk
 * of the table gives: chain-length statistics (used buckets, longest chain, mean) and the live-entry count.
 * The walks here are written independently of the code under test.
 */
import { describe, expect, it } from "vitest";
import { jdiff } from "../engine/conntrack/clock.js";
import { liveEntries } from "../engine/conntrack/dump.js";
import { Conntrack } from "../engine/conntrack/nf-conntrack-in.js";
import { resolveSettings } from "../engine/conntrack/settings.js";
import { NIL } from "../engine/conntrack/table.js";
import { TH_ACK, TH_RST, TH_SYN } from "../engine/decode/packet-batch.js";
import { checkInvariants } from "./helpers/ct.js";
import { Packets } from "./helpers/packets.js";

const T0 = 1_700_000_000;

function walkChains(ct: Conntrack): { used: number; maxLen: number; nodes: number } {
  const t = ct.table;
  let used = 0;
  let maxLen = 0;
  let nodes = 0;
  for (let b = 0; b < t.buckets; b++) {
    let n = 0;
    for (let node = t.head[b]!; node !== NIL; node = t.nextOf(node)) n++;
    if (n > 0) used++;
    if (n > maxLen) maxLen = n;
    nodes += n;
  }
  return { used, maxLen, nodes };
}

function walkLive(ct: Conntrack, now: number): number {
  let n = 0;
  ct.forEachEntry((e) => {
    if (jdiff(ct.store.timeoutOf(e), now) > 0) n++;
  });
  return n;
}

/** xorshift32 for a reproducible workload. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

describe("incremental chain statistics and live count", () => {
  for (const gc of ["kernel", "exact"] as const) {
    it(`match a full walk through inserts, expiry, early_drop, kills and pool growth (gc ${gc})`, () => {
      // Few buckets and a small max so chains grow long, the table fills and early_drop runs.
      const settings = resolveSettings({
        nf_conntrack_max: 300,
        nf_conntrack_buckets: 16,
        nf_conntrack_udp_timeout: 5,
        nf_conntrack_tcp_timeout_syn_sent: 7,
      });
      const ct = new Conntrack(settings, { gc, capacity: 4, seed: 3 });
      const r = rng(42);
      let checks = 0;
      for (let step = 0; step < 40; step++) {
        const p = new Packets(200);
        const t = T0 + step * 0.5;
        for (let k = 0; k < 200; k++) {
          const host = `10.0.${r() % 4}.${1 + (r() % 50)}`;
          const sport = 1024 + (r() % 40);
          const kind = r() % 4;
          if (kind === 0) p.tcp(t, host, sport, "10.9.0.1", 80, TH_SYN);
          else if (kind === 1) p.tcp(t, host, sport, "10.9.0.1", 80, TH_RST | TH_ACK);
          else if (kind === 2) p.udp(t, "10.9.0.1", 53, host, sport);
          else p.udp(t, host, sport, "10.9.0.1", 53);
        }
        for (let i = 0; i < p.batch.count; i++) ct.process(p.batch, i);
        const w = walkChains(ct);
        const s = ct.chainStats();
        expect(s.buckets).toBe(16);
        expect(s.used).toBe(w.used);
        expect(s.maxLen).toBe(w.maxLen);
        expect(s.meanLen).toBeCloseTo(w.used > 0 ? w.nodes / w.used : 0, 12);
        // Live count at the current time and a few seconds later (entries expire in between).
        for (const later of [0, 3, 6]) {
          const now = (ct.now + later * settings.hz) >>> 0;
          expect(ct.liveCount(now)).toBe(walkLive(ct, now));
        }
        checks++;
      }
      expect(checks).toBe(40);
      expect(ct.stats.early_drop + ct.stats.drop).toBeGreaterThan(0);
      expect(ct.stats.delete).toBeGreaterThan(0);
      expect(ct.table.capacity).toBeGreaterThan(4);
      expect(checkInvariants(ct)).toEqual([]);
      // liveCount agrees with the dump the summary used to count.
      expect(ct.liveCount(ct.now)).toBe(liveEntries(ct, ct.now).length);
      // Drain: everything expires and is reaped; the statistics return to an empty table.
      ct.advanceTo(T0 + 400);
      expect(ct.count).toBe(0);
      expect(ct.chainStats()).toEqual({ buckets: 16, used: 0, maxLen: 0, meanLen: 0 });
    });
  }
});
