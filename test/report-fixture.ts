/** Test fixtures for stats/report tests: a controllable table and a replay report built through the real code. */

import { IPS_ASSURED, IPS_SEEN_REPLY } from "../engine/conntrack/l4proto.js";
import {
  PROTO_INDEX,
  TALLY_ASSURED,
  TALLY_EXPIRED,
  TALLY_LEN,
  TALLY_LIVE,
  TALLY_PROTO,
  TALLY_TCP,
  TALLY_UNREPLIED,
} from "../engine/conntrack/tally.js";
import { TCP_STATE_NAMES } from "../engine/conntrack/tcp-states.js";
import { buildReplayReport, type ReplayReport } from "../engine/report/model.js";
import { MemoryModel, SLAB_PRESETS } from "../engine/stats/memory.js";
import { type ConntrackView, Timeline } from "../engine/stats/timeline.js";

/**
 * Adds one table entry to a tally vector (engine/conntrack/tally.ts layout): the reference the tests count
 * with, entry by entry, independently of tallyEntries' branch-free loop.
 */
export function tallyOne(
  v: Float64Array | number[],
  expired: boolean,
  status: number,
  l4proto: number,
  state: number,
): void {
  v[expired ? TALLY_EXPIRED : TALLY_LIVE]!++;
  if (status & IPS_ASSURED) v[TALLY_ASSURED]!++;
  if (!(status & IPS_SEEN_REPLY)) v[TALLY_UNREPLIED]!++;
  const g = PROTO_INDEX[l4proto]!;
  v[TALLY_PROTO + g]!++;
  if (g === 0 && state < TCP_STATE_NAMES.length) v[TALLY_TCP + state]!++;
}

/** Entry fields as plain columns. */
class EntryColumns {
  readonly status: Uint32Array;
  readonly state: Uint8Array;
  readonly l4proto: Uint8Array;
  constructor(capacity: number) {
    this.status = new Uint32Array(capacity);
    this.state = new Uint8Array(capacity);
    this.l4proto = new Uint8Array(capacity);
  }
}

/** A small table under test control: entries with proto, TCP state, status bits and an expiry time (s). */
export class FakeTable implements ConntrackView {
  readonly store: EntryColumns;
  readonly expiry: Float64Array;
  constructor(cap = 64) {
    this.store = new EntryColumns(cap);
    this.expiry = new Float64Array(cap);
  }
  readonly inTable = new Set<number>();
  stats: Record<"new" | "delete" | "early_drop" | "drop" | "insert_failed" | "invalid", number> &
    Record<string, number> = {
    new: 0,
    delete: 0,
    early_drop: 0,
    drop: 0,
    insert_failed: 0,
    invalid: 0,
  };
  scans = 0;
  get count(): number {
    return this.inTable.size;
  }
  add(ct: number, proto: number, state: number, status: number, expiresAt: number): void {
    this.store.l4proto[ct] = proto;
    this.store.state[ct] = state;
    this.store.status[ct] = status;
    this.expiry[ct] = expiresAt;
    this.inTable.add(ct);
    this.stats.new!++;
  }
  remove(ct: number): void {
    this.inTable.delete(ct);
    this.stats.delete!++;
  }
  /** Counted entry by entry, independently of engine/conntrack/tally.ts's loop. */
  tally(t: number, v: Float64Array): void {
    this.scans++;
    v.fill(0, 0, TALLY_LEN);
    for (const ct of this.inTable) {
      const s = this.store;
      tallyOne(v, this.expiry[ct]! <= t, s.status[ct]!, s.l4proto[ct]!, s.state[ct]!);
    }
  }
  chainStats() {
    return { buckets: 1024, used: this.inTable.size, maxLen: this.inTable.size > 2 ? 2 : 1, meanLen: 1 };
  }
}

/**
 * A 100 s capture: TCP connections open 3 per second and reach ESTABLISHED, UDP flows 2 per second expire
 * after 30 s, the table limit (150) is hit at the end so drops and early drops occur.
 */
export function sampleReport(label = "default", scale = 1): ReplayReport {
  const t = new FakeTable(4096);
  const tl = new Timeline({ interval: 5 });
  const t0 = 1_700_000_000;
  tl.origin = t0;
  let ct = 0;
  const max = 150;
  for (let s = 0; s <= 100; s++) {
    for (let k = 0; k < 3 * scale; k++) {
      if (t.count >= max) {
        t.stats.drop!++;
        if (k % 2 === 0) t.stats.early_drop!++;
        continue;
      }
      t.add(ct++, 6, s % 10 < 7 ? 3 : 1, s % 10 < 7 ? 0b1110 : 0b1000, t0 + 1e6);
    }
    for (let k = 0; k < 2; k++) if (t.count < max) t.add(ct++, 17, 0, 0b1000, t0 + s + 30);
    for (const e of [...t.inTable]) if (t.expiry[e]! + 5 < t0 + s) t.remove(e);
    tl.onTick(t0 + s, t);
  }
  const mem = new MemoryModel(SLAB_PRESETS["6.18"]);
  return buildReplayReport(
    {
      files: ["sample.pcap"],
      packets: 12345,
      bytes: 2_000_000,
      firstTime: t0,
      lastTime: t0 + 100,
      counters: {
        ...t.stats,
        found: 0,
        insert: 0,
        error: 1,
        search_restart: 0,
        clash_resolve: 0,
        chaintoolong: 0,
      },
      finalCount: t.count,
      max,
      buckets: 1024,
      hz: 250,
      elapsedSec: 0.5,
      errors: [],
      label,
    },
    tl,
    mem,
  );
}
