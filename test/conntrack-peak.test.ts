import { describe, expect, it } from "vitest";
import { Conntrack } from "../engine/conntrack/index.js";
import { resolveSettings } from "../engine/conntrack/settings.js";
import { Packets } from "./helpers/packets.js";

const T0 = 1_700_000_000;

describe("exact peak of nf_conntrack_count", () => {
  it("is the highest count left after any packet, with its time, also between two samples", () => {
    for (const gc of ["exact", "kernel"] as const) {
      const ct = new Conntrack(resolveSettings({ nf_conntrack_udp_timeout: 5 }), { gc });
      const p = new Packets(256);
      // A burst of 40 unreplied UDP flows in one second, then a trickle long after they expired.
      for (let k = 0; k < 40; k++) p.udp(T0 + k * 0.025, "10.0.0.1", 1000 + k, "10.0.0.2", 53);
      for (let k = 0; k < 20; k++) p.udp(T0 + 60 + k * 10, "10.0.0.3", 2000 + k, "10.0.0.2", 53);
      let seen = 0;
      let seenAt = -1;
      const b = p.batch;
      for (let i = 0; i < b.count; i++) {
        ct.process(b, i);
        if (ct.count > seen) {
          seen = ct.count;
          seenAt = b.tsSec[i]! + b.tsNsec[i]! / 1e9;
        }
      }
      expect(seen).toBe(40);
      expect(ct.peakCount).toBe(seen);
      expect(ct.clock.secondsAt(ct.peakJiffies)).toBeCloseTo(seenAt, 2);
      // The count at the end is far below the peak: only the trickle (and, with kernel GC, unreaped ones).
      expect(ct.count).toBeLessThan(seen);
    }
  });
});
