/**
 * tallyEntries (the timeline's per-tick count of the table) against a plain per-entry count over the same
 * real tables: corpus captures replayed in-process, counted at several times so that some entries are
 * expired but not reaped, including a table that grew (free slots, unconfirmed-free entries), and at every
 * tick of the replays (the store keeps most of the counts as entries are linked and change).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { jdiff } from "../engine/conntrack/clock.js";
import { IPS_ASSURED } from "../engine/conntrack/l4proto.js";
import type { Conntrack } from "../engine/conntrack/nf-conntrack-in.js";
import { resolveSettings } from "../engine/conntrack/settings.js";
import {
  PROTO_INDEX,
  TALLY_EXPIRED,
  TALLY_LEN,
  TALLY_LIVE,
  tallyEntries,
} from "../engine/conntrack/tally.js";
import { replayCaptures } from "../engine/replay.js";
import { tallyOne } from "./report-fixture.js";

const corpus = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../shared/captures");

/** The same marginals, entry by entry through the table's accessors. */
function reference(ct: Conntrack, now: number): number[] {
  const v = new Array<number>(TALLY_LEN).fill(0);
  const s = ct.store;
  ct.forEachEntry((e) =>
    tallyOne(v, jdiff(s.timeoutOf(e), now) <= 0, s.statusOf(e), s.l4protoOf(e), s.stateOf(e)),
  );
  return v;
}

describe.skipIf(!existsSync(corpus))("tallyEntries", () => {
  for (const name of [
    "tcp-echo-many-connections.pcap.gz",
    "mixed-wireshark-samples-ns.pcapng",
    "ip46-frag-udp-dns.pcap",
    "sctp-ipv4.pcap",
  ]) {
    it(`equals a per-entry count: ${name}`, async () => {
      // The counts kept as entries are linked and change, at every tick of the replay (the table grows
      // from 1024 entries on the larger captures, so the counts also survive a copy into a larger store).
      const file = path.join(corpus, name);
      const span = await replayCaptures([file], resolveSettings(), {});
      let ticks = 0;
      let mismatches = 0;
      const r = await replayCaptures([file], resolveSettings(), {
        gc: "kernel",
        tickInterval: ((span.lastTime ?? 0) - (span.firstTime ?? 0)) / 40,
        onTick: (tSec, c) => {
          const v = new Float64Array(TALLY_LEN);
          const now = c.jiffiesAt(tSec);
          tallyEntries(c.table, now, v, 0);
          const want = reference(c, now);
          ticks++;
          if (Array.from(v).some((x, k) => x !== want[k])) mismatches++;
        },
      });
      expect(ticks).toBeGreaterThanOrEqual(39);
      expect(mismatches).toBe(0);
      const ct = r.conntrack;
      expect(ct.count).toBeGreaterThan(0);
      const groups = new Set<number>();
      // The tally stops at the high-water mark: no entry in use lies at or past it.
      expect(ct.table.highWater).toBeLessThanOrEqual(ct.table.capacity);
      let top = -1;
      for (let e = 0; e < ct.table.capacity; e++) if (ct.table.inUse[e] === 1) top = e;
      expect(top).toBeLessThan(ct.table.highWater);
      ct.forEachEntry((e) => groups.add(PROTO_INDEX[ct.store.l4protoOf(e)]!));
      let sawExpired = false;
      let sawLive = false;
      // From now to 2 hours later: entries expire one timeout class after another.
      for (const dt of [0, 10, 30, 120, 600, 7200]) {
        const now = (ct.now + dt * ct.settings.hz) >>> 0;
        const v = new Float64Array(TALLY_LEN + 3);
        v.fill(-1);
        tallyEntries(ct.table, now, v, 3);
        expect(Array.from(v.slice(0, 3))).toEqual([-1, -1, -1]); // writes only its own range
        expect(Array.from(v.slice(3))).toEqual(reference(ct, now));
        if (v[3 + TALLY_EXPIRED]! > 0) sawExpired = true;
        if (v[3 + TALLY_LIVE]! > 0) sawLive = true;
      }
      expect(sawExpired && sawLive).toBe(true);
      // The GC reaps what expired: freed slots keep their old words (status, state), which must not count.
      const endSec = (r.lastTime ?? 0) + 600;
      ct.advanceTo(endSec);
      const v = new Float64Array(TALLY_LEN);
      tallyEntries(ct.table, ct.jiffiesAt(endSec), v, 0);
      expect(Array.from(v)).toEqual(reference(ct, ct.jiffiesAt(endSec)));
      let stale = 0;
      for (let e = 0; e < ct.table.capacity; e++)
        if (ct.table.inUse[e] === 0 && (ct.store.statusOf(e) & IPS_ASSURED) !== 0) stale++;
      if (name.startsWith("tcp-echo")) expect(stale).toBeGreaterThan(0);
      expect(groups.size).toBeGreaterThan(0);
    });
  }
});
