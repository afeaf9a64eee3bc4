/**
 * The conntrack table and its per-packet entry point, in the kernel's order of operations
 * (nf_conntrack_core.c, reference §2-§3): tuple, ICMP error path, lookup with lazy reaping, init_conntrack
 * with the nf_conntrack_max / early_drop rule, the protocol handler, SEEN_REPLY, confirm.
 * Nothing is allocated per packet: tuples are built in a scratch Uint32Array, entries live in a CtStore.
 */
import {
  L3_ROUTE_MARTIAN,
  L4_CSUM_BAD,
  L4_HDR_OK,
  L4_ICMP_INNER_OK,
  L4_TUPLE_OK,
  NFPROTO_IPV4,
  NFPROTO_IPV6,
  type PacketBatch,
  PK_IP,
} from "../decode/packet-batch.js";
import { CtClock, jdiff } from "./clock.js";
import { type CtStateCounters, type CtStatsCounters, newCtStateCounters, newCtStats } from "./ct-stats.js";
import type { CtStore } from "./ct-store.js";
import {
  H_NEXT,
  H_STATUS,
  H_TIMEOUT,
  HOT_WORDS,
  PROTO_WORDS,
  T_DST,
  T_PORTS,
  TUPLE_WORDS,
} from "./ct-store.js";
import { type CtGc, ExactGc, type GcHost, type GcMode, KernelGc } from "./gc.js";
import {
  type CtContext,
  type Dir,
  IP_CT_DIR_REPLY,
  IP_CT_ESTABLISHED,
  IP_CT_ESTABLISHED_REPLY,
  IP_CT_NEW,
  IP_CT_RELATED,
  IPS_ASSURED,
  IPS_CONFIRMED,
  IPS_DYING,
  IPS_EXPECTED,
  IPS_FIXED_TIMEOUT,
  IPS_SEEN_REPLY,
  type L4Tracker,
  V_DROP,
  V_REPEAT,
} from "./l4proto.js";
import { icmpIsError } from "./proto-icmp.js";
import { icmpv6IsUntracked } from "./proto-icmpv6.js";
import type { CtSettings } from "./settings.js";
import { type ChainCounts, CtTable, NIL } from "./table.js";
import { TALLY_LEN, TALLY_LIVE, tallyEntries } from "./tally.js";
import { TRACKERS } from "./trackers.js";
import {
  hashTuple,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  innerTupleFromRow,
  invertTuple,
  tupleCopy,
  tupleEqual,
  tupleFromRow,
} from "./tuple.js";

export interface ConntrackOptions {
  /** GC model: the 6.x gc_worker (default) or removal exactly at expiry. */
  gc?: GcMode;
  /** Seeds the tuple hash key and the confirm chain-length PRNG (default 1). */
  seed?: number;
  /** Initial entry pool size (doubles when full; default min(max, 1024), at least 2). */
  capacity?: number;
  /** Allocate the table in SharedArrayBuffers. */
  shared?: boolean;
  /** Jiffies at the first capture time seen (default 2^32 - 300 * hz, like the kernel's INITIAL_JIFFIES). */
  jiffiesOrigin?: number;
  /** GC work budget per run (see gc.ts). */
  gcScanBudget?: number;
  /**
   * Seconds from the first packet to the GC worker's first run (default 1, as after loading the module).
   * A real host's worker runs on its own schedule, so its phase relative to a capture is unknown.
   */
  gcFirstRun?: number;
  /** Tracker table override (256 entries by protocol number); default: trackers.ts. */
  trackers?: readonly L4Tracker[];
  /**
   * Buckets early_drop scans (default NF_CT_EVICTION_RANGE, 8). A sharded replay's table holds about
   * 1/shards of each bucket's entries, so it scans 8 x shards of its own buckets to meet as many
   * candidates as the kernel's 8 buckets of the whole table hold (engine/shard, docs/sharding.md).
   */
  evictionRange?: number;
  /**
   * Chain lengths shared with other tables of the same bucket count (a sharded replay's tracking thread
   * shares one among its shards); the table's chainStats() then describe the summed lengths.
   */
  chains?: ChainCounts;
}

/** early_drop's bucket count (nf_conntrack_core.c NF_CT_EVICTION_RANGE). */
export const NF_CT_EVICTION_RANGE = 8;
const MIN_CHAINLEN = 50;
const MAX_CHAINLEN = 30;

// Scratch tuple slots.
const S_TUPLE = 0;
const S_INV = TUPLE_WORDS;

/** Tracked rows prefetched together (see prefetchGroup), and the most rows one group spans. */
const AHEAD = 64;
const AHEAD_SPAN = 256;

export class Conntrack implements CtContext, GcHost {
  readonly settings: CtSettings;
  readonly table: CtTable;
  /** Highest nf_conntrack_count left after any packet (exact, unlike timeline ticks) and when (u32 jiffies). */
  peakCount = 0;
  peakJiffies = 0;
  readonly stats: CtStatsCounters;
  /** Packets by ct state right after conntrack (nft `ct state` at prerouting). */
  readonly ctstate: CtStateCounters;
  readonly gc: CtGc;
  readonly clock: CtClock;
  readonly trackers: readonly L4Tracker[];
  /** Current time in u32 jiffies (last packet or advanceTo). */
  now = 0;
  private ticked = false;
  /**
   * Sharded replay (engine/shard): entries held by the OTHER shards' tables, as of the last epoch boundary.
   * nf_conntrack_count is one per-netns counter in the kernel, so the nf_conntrack_max check and the GC's
   * 95 % eviction test use `countOthers + table.count`. 0 for a single table.
   */
  countOthers = 0;
  /** Times a packet or advanceTo() carried an earlier time than the clock (handled at the current time). */
  clockBackwards = 0;
  private rawNow = 0;
  private readonly hashSeed: number;
  private readonly evictionRange: number;
  private rng: number;
  private readonly scratch = new Uint32Array(TUPLE_WORDS * 2);
  /** Prefetch state (see prefetchGroup): rows [aheadStart, aheadEnd) of aheadPkt were prefetched. */
  private aheadPkt: PacketBatch | null = null;
  private aheadStart = 0;
  private aheadEnd = 0;
  /** Per row of the group (index row - aheadStart): its tuple hash (int32), tuple, and 1 if they were computed. */
  private readonly aheadHash = new Int32Array(AHEAD_SPAN);
  private readonly aheadOk = new Uint8Array(AHEAD_SPAN);
  private readonly aheadTuple = new Uint32Array(AHEAD_SPAN * TUPLE_WORDS);
  /** Per tracked row of the group: its row index (- aheadStart) and the node its chain walk stands on. */
  private readonly aheadIdx = new Int32Array(AHEAD);
  private readonly aheadNode = new Int32Array(AHEAD);
  /** Sums the touched words so the prefetching loads are not optimised away. */
  private aheadSink = 0;
  /** Optional per-row owner column: only rows with aheadCol[row] === aheadId are prefetched. */
  private aheadCol: Uint8Array | null = null;
  private aheadId = 0;

  constructor(settings: CtSettings, opts: ConntrackOptions = {}) {
    this.settings = settings;
    const seed = (opts.seed ?? 1) >>> 0;
    this.hashSeed = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
    this.evictionRange = Math.max(1, opts.evictionRange ?? NF_CT_EVICTION_RANGE);
    this.rng = Math.imul(seed + 0x6d2b79f5, 0xc2b2ae35) >>> 0 || 1;
    const initial = opts.capacity ?? Math.min(settings.max > 0 ? settings.max + 1 : 1024, 1024);
    this.table = new CtTable(settings.buckets, initial, opts.shared ?? false, opts.chains);
    this.stats = newCtStats();
    this.ctstate = newCtStateCounters();
    this.clock = new CtClock(settings.hz, opts.jiffiesOrigin);
    this.trackers = opts.trackers ?? TRACKERS;
    this.gc =
      opts.gc === "exact" ? new ExactGc(this) : new KernelGc(this, opts.gcScanBudget, opts.gcFirstRun);
  }

  get store(): CtStore {
    return this.table.store;
  }

  /** nf_conntrack_count: allocated entries incl. expired-not-yet-reaped. */
  get count(): number {
    return this.table.count;
  }

  jiffiesAt(tSec: number): number {
    return this.clock.atSeconds(tSec);
  }

  /** nf_ct_is_expired. */
  isExpired(ct: number, nowJiffies: number): boolean {
    return jdiff(this.table.store.timeoutOf(ct), nowJiffies) <= 0;
  }

  advanceTo(tSec: number): void {
    this.tickRaw(this.clock.rawAtSeconds(tSec));
  }

  /**
   * Moves the clock to raw (unwrapped) jiffies and runs the GC up to it. u32 comparisons only work within
   * 2^31 jiffies, so long idle gaps are crossed in steps (the kernel's GC never sleeps more than 60 s, so
   * it never faces such a jump either).
   */
  private tickRaw(raw: number): void {
    const clock = this.clock;
    if (!this.ticked) {
      this.ticked = true;
      this.rawNow = raw;
      this.now = clock.wrap(raw);
      this.gc.start(this.now);
    }
    if (raw < this.rawNow) {
      // Out-of-order capture timestamps: the kernel's clock never goes back, the packet is handled now.
      this.clockBackwards++;
      return;
    }
    while (raw - this.rawNow > 0x40000000) {
      this.rawNow += 0x40000000;
      this.now = clock.wrap(this.rawNow);
      this.gc.runUntil(this.now);
    }
    this.rawNow = raw;
    this.now = clock.wrap(raw);
    this.gc.runUntil(this.now);
  }

  /**
   * Software prefetch by plain loads, for memory-level parallelism. A lookup is a chain of dependent cache
   * misses (bucket head -> node's hot record -> next node ... -> the matching node's tuple and protocol
   * words); on a large table each goes to DRAM, and one packet's work is too short to hide a miss behind
   * it. So rows are prefetched in groups of AHEAD, walking all their chains in lockstep: every bucket head
   * at once, then every first node's hot record, then per row either the matching node's tuple, protocol
   * words and state or the next node's hot record, and so on. A group then pays a few memory latencies
   * instead of each row paying several. A row whose walk finds no match (likely a new flow) also gets the
   * bucket head of its inverted tuple touched, which confirm walks. Reads only: results never depend on
   * it (a batch refilled with other rows just wastes loads).
   */
  /**
   * Sharded replay: this table sees only the rows with col[row] === id of the batches it is handed
   * (null: every row), so the prefetch skips the others. Only affects speed.
   */
  prefetchRowsOf(col: Uint8Array | null, id: number): void {
    this.aheadCol = col;
    this.aheadId = id;
    this.aheadPkt = null;
  }

  private prefetchGroup(pkt: PacketBatch, i: number): void {
    const count = pkt.count;
    const spanEnd = Math.min(count, i + AHEAD_SPAN);
    this.aheadPkt = pkt;
    this.aheadStart = i;
    const table = this.table;
    const head = table.head;
    const hashes = this.aheadHash;
    const idx = this.aheadIdx;
    const cur = this.aheadNode;
    const t = this.scratch;
    const seed = this.hashSeed;
    const col = this.aheadCol;
    const id = this.aheadId;
    const tuples = this.aheadTuple;
    const ok = this.aheadOk;
    // The group's tracked rows: up to AHEAD rows this table handles (a shard sees a fraction of a batch's
    // rows, so a group spans more rows to keep AHEAD walks in flight).
    let n = 0;
    let j = i;
    for (; j < spanEnd && n < AHEAD; j++) {
      const k = j - i;
      ok[k] = 0;
      if (pkt.kind[j] === PK_IP && (pkt.l4flags[j]! & L4_TUPLE_OK) !== 0 && (col === null || col[j] === id)) {
        tupleFromRow(pkt, j, tuples, k * TUPLE_WORDS);
        const h = hashTuple(tuples, k * TUPLE_WORDS, seed);
        hashes[k] = h | 0;
        ok[k] = 1;
        idx[n] = k;
        cur[n] = table.bucketOf(h);
        n++;
      }
    }
    this.aheadEnd = j;
    let sink = this.aheadSink;
    // Every bucket head at once (and its chain length, which confirm's insert updates).
    const chainLen = table.chains.len;
    for (let m = 0; m < n; m++) {
      const b = cur[m]!;
      sink += head[b]! + chainLen[b]!;
    }
    const store = table.store;
    const hi = store.hotI;
    // Every first node's hot record at once. cur[m]: node to look at next; NIL: chain ended without a
    // match; -2: done (matched).
    let missed = false;
    for (let m = 0; m < n; m++) {
      const node = head[cur[m]!]!;
      cur[m] = node;
      if (node === NIL) missed = true;
      else sink += hi[(node >> 1) * HOT_WORDS + H_TIMEOUT]!;
    }
    // Walk on: a node with the row's hash is the likely match (its tuple and protocol words are touched);
    // otherwise the next node's hot record is.
    for (let wave = 0; wave < 3; wave++) {
      for (let m = 0; m < n; m++) {
        const node = cur[m]!;
        if (node < 0) continue;
        const ct = node >> 1;
        const l = ct * HOT_WORDS + H_NEXT + (node & 1) * 2;
        if (hi[l + 1] === hashes[idx[m]!]) {
          // A tuple's 40 bytes may straddle two lines: touch its first and last word.
          const to = node * TUPLE_WORDS;
          sink += store.tuple[to]! + store.tuple[to + TUPLE_WORDS - 1]!;
          const po = ct * PROTO_WORDS; // 96 bytes: two lines, whatever the alignment
          sink += store.proto[po]! + store.proto[po + PROTO_WORDS - 1]! + store.state[ct]!;
          cur[m] = -2;
          continue;
        }
        const next = hi[l]!;
        cur[m] = next;
        if (next !== NIL) sink += hi[(next >> 1) * HOT_WORDS + H_TIMEOUT]!;
        else missed = true;
      }
    }
    if (missed) {
      // Rows whose whole chain did not match: confirm will walk the REPLY tuple's bucket (its head, then
      // its first node's hot record).
      for (let m = 0; m < n; m++) {
        if (cur[m] !== NIL) continue;
        if (!invertTuple(tuples, idx[m]! * TUPLE_WORDS, t, S_INV)) continue;
        const b = table.bucketOf(hashTuple(t, S_INV, seed));
        sink += head[b]! + chainLen[b]!;
        cur[m] = -3 - b;
      }
      for (let m = 0; m < n; m++) {
        const c = cur[m]!;
        if (c > -3) continue;
        const node = head[-3 - c]!;
        if (node !== NIL) sink += hi[(node >> 1) * HOT_WORDS + H_TIMEOUT]!;
      }
    }
    this.aheadSink = sink | 0;
  }

  // nf_conntrack_in (+ nf_confirm right after an accepted first packet)
  process(pkt: PacketBatch, i: number): void {
    if (pkt !== this.aheadPkt || i >= this.aheadEnd || i < this.aheadStart) this.prefetchGroup(pkt, i);
    this.tickRaw(this.clock.rawAt(pkt.tsSec[i]!, pkt.tsNsec[i]!));
    if (pkt.kind[i] !== PK_IP) return;
    const stats = this.stats;
    const flags = pkt.l4flags[i]!;
    const proto = pkt.proto[i]!;
    const l3 = pkt.l3[i]!;
    if (
      (proto === IPPROTO_ICMP && l3 === NFPROTO_IPV4) ||
      (proto === IPPROTO_ICMPV6 && l3 === NFPROTO_IPV6)
    ) {
      // nf_conntrack_handle_icmp
      const r = this.icmpError(pkt, i, proto, flags);
      if (r < 0) {
        stats.error++;
        this.ctstate.invalid++;
        return;
      }
      if (r === 0) return; // RELATED or UNTRACKED: done
    }
    if ((flags & L4_TUPLE_OK) === 0) {
      stats.invalid++;
      this.ctstate.invalid++;
      return;
    }
    const t = this.scratch;
    tupleFromRow(pkt, i, t, S_TUPLE);
    // The prefetch hashed this row already (process() made sure i is in the prefetched range); its tuple
    // is compared first, so a batch object refilled since then is hashed afresh.
    const k = i - this.aheadStart;
    const hash =
      this.aheadOk[k] === 1 && tupleEqual(this.aheadTuple, k * TUPLE_WORDS, t, S_TUPLE)
        ? this.aheadHash[k]! >>> 0
        : hashTuple(t, S_TUPLE, this.hashSeed);
    for (let attempt = 0; attempt < 4; attempt++) {
      // resolve_normal_ct
      let ct: number;
      let dir: Dir = 0;
      let ctinfo: number;
      const node = this.find(t, S_TUPLE, hash);
      if (node === NIL) {
        // init_conntrack
        if (!invertTuple(t, S_TUPLE, t, S_INV)) {
          stats.invalid++;
          this.ctstate.invalid++;
          return;
        }
        const max = this.settings.max;
        if (max !== 0 && this.countOthers + this.table.count + 1 > max && !this.earlyDrop(hash)) {
          this.gc.earlyDrop = true;
          stats.drop++;
          return;
        }
        ct = this.table.alloc();
        const store = this.table.store;
        store.l4proto[ct] = proto;
        tupleCopy(t, S_TUPLE, store.tuple, ct * 2 * TUPLE_WORDS);
        tupleCopy(t, S_INV, store.tuple, (ct * 2 + 1) * TUPLE_WORDS);
        ctinfo = IP_CT_NEW;
      } else {
        ct = node >> 1;
        dir = (node & 1) as Dir;
        const st = this.table.store.statusOf(ct);
        if (dir === IP_CT_DIR_REPLY) ctinfo = IP_CT_ESTABLISHED_REPLY;
        else if ((st & IPS_SEEN_REPLY) !== 0) ctinfo = IP_CT_ESTABLISHED;
        else if ((st & IPS_EXPECTED) !== 0) ctinfo = IP_CT_RELATED;
        else ctinfo = IP_CT_NEW;
      }
      const v = this.trackers[proto]!.packet(this, ct, pkt, i, dir, ctinfo);
      const hot = this.table.store.hot;
      const st = hot[ct * HOT_WORDS + H_STATUS]!;
      if (v <= 0) {
        // Release the skb's reference: an unconfirmed entry dies with it.
        if ((st & IPS_CONFIRMED) === 0) this.freeUnconfirmed(ct);
        if (v === V_REPEAT) continue;
        stats.invalid++;
        if (v === V_DROP) stats.drop++;
        else this.ctstate.invalid++;
        if ((flags & L4_CSUM_BAD) !== 0 && this.settings.checksum) stats.bad_checksum++;
        return;
      }
      if ((st & IPS_CONFIRMED) !== 0) {
        if ((st & IPS_DYING) === 0) {
          if (ctinfo === IP_CT_ESTABLISHED_REPLY && (st & IPS_SEEN_REPLY) === 0)
            this.table.store.setStatus(ct, st | IPS_SEEN_REPLY);
          this.gc.onRefresh(ct);
        }
        // nft `ct state`: ctinfo as computed before the handler (NEW until a reply was seen).
        if (ctinfo === IP_CT_NEW) this.ctstate.new++;
        else if (ctinfo === IP_CT_RELATED) this.ctstate.rel++;
        else this.ctstate.est++;
        return;
      }
      // Unconfirmed: first packet of a new entry, accepted.
      this.ctstate.new++;
      if ((pkt.l3flags[i]! & L3_ROUTE_MARTIAN) !== 0) {
        // ip_route_input drops a martian after PRE_ROUTING, before nf_confirm: the skb's unconfirmed ct dies.
        this.freeUnconfirmed(ct);
        return;
      }
      this.confirm(ct, hash);
      return;
    }
    // Repeated NF_REPEAT (a tracker bug): count as invalid like the kernel's final verdict would.
    stats.invalid++;
  }

  /**
   * nf_conntrack_icmpv4_error / nf_conntrack_icmpv6_error (+ nf_conntrack_inet_error).
   * Returns -1 = error (-NF_ACCEPT), 0 = packet handled (RELATED or untracked), 1 = track normally.
   */
  private icmpError(pkt: PacketBatch, i: number, proto: number, flags: number): number {
    if ((flags & L4_HDR_OK) === 0 || (flags & L4_TUPLE_OK) === 0) return -1; // short packet
    if (this.settings.checksum && (flags & L4_CSUM_BAD) !== 0) {
      this.stats.bad_checksum++;
      return -1;
    }
    const type = pkt.dport[i]! >>> 8;
    if (proto === IPPROTO_ICMP) {
      if (type > 18) return -1; // NR_ICMP_TYPES
      if (!icmpIsError(type)) return 1;
    } else {
      if (icmpv6IsUntracked(type)) {
        this.stats.untracked++;
        this.ctstate.untracked++;
        return 0;
      }
      if (type === 137) return this.icmpv6Redirect(pkt, i);
      if (type >= 128) return 1;
    }
    // nf_conntrack_inet_error
    if ((flags & L4_ICMP_INNER_OK) === 0) return -1;
    const t = this.scratch;
    innerTupleFromRow(pkt, i, t, S_TUPLE);
    if (!invertTuple(t, S_TUPLE, t, S_INV)) return -1;
    const node = this.find(t, S_INV, hashTuple(t, S_INV, this.hashSeed));
    if (node === NIL) return -1;
    // The outer destination must be the address the matched direction was sent to.
    const tuple = this.table.store.tuple;
    const o = node * TUPLE_WORDS + T_DST;
    const a = i * 4;
    if (
      tuple[o] !== pkt.dst[a] ||
      tuple[o + 1] !== pkt.dst[a + 1] ||
      tuple[o + 2] !== pkt.dst[a + 2] ||
      tuple[o + 3] !== pkt.dst[a + 3]
    )
      return -1;
    this.ctstate.rel++; // RELATED / RELATED_REPLY: no refresh, no state change
    return 0;
  }

  /**
   * nf_conntrack_icmpv6_redirect (6.2+, backported): code != 0 is tracked normally; a redirect must come from
   * a link-local source with hop limit 255 (the hop limit is not decoded: assumed 255, as every genuine
   * redirect has it). Only a redirect whose FIRST option is the Redirected Header is looked up through the
   * quoted packet; the decoder does not parse ND options, and Linux routers put the Target Link-Layer
   * option first, so a valid redirect continues as a normal (non-invertible, hence invalid) ICMPv6 packet.
   */
  private icmpv6Redirect(pkt: PacketBatch, i: number): number {
    if (pkt.l4len[i]! < 40) return -1; // short redirect (struct rd_msg)
    if ((pkt.dport[i]! & 0xff) !== 0) return 1;
    if ((pkt.src[i * 4]! & 0xffc00000) >>> 0 !== 0xfe800000) return -1; // not link-local
    return 1;
  }

  // ____nf_conntrack_find: walk the chain, reaping every expired entry met before the match.
  private find(t: Uint32Array, o: number, hash: number): number {
    const table = this.table;
    const now = this.now;
    const h32 = hash | 0;
    let node = table.head[table.bucketOf(hash)]!;
    while (node !== NIL) {
      // The node's hot record holds its expiry and [next, hash]: one cache line per node walked.
      const store = table.store;
      const hi = store.hotI;
      const r = (node >> 1) * HOT_WORDS;
      const l = r + H_NEXT + (node & 1) * 2;
      if (jdiff(hi[r + H_TIMEOUT]!, now) <= 0) {
        this.gcExpired(node >> 1);
        node = hi[l]!;
        continue;
      }
      // Equal tuples have equal hashes: a hash mismatch rejects the node without loading its tuple.
      if (hi[l + 1] === h32) {
        // nf_ct_tuple_equal, written out here so it stays inlined in this hot loop.
        const tu = store.tuple;
        const b = node * TUPLE_WORDS;
        let k = 0;
        while (k < TUPLE_WORDS && tu[b + k] === t[o + k]) k++;
        if (k === TUPLE_WORDS) return node;
      }
      node = hi[l]!;
    }
    return NIL;
  }

  // early_drop + early_drop_list: the 8 (evictionRange) buckets from the new tuple's bucket.
  private earlyDrop(hash: number): boolean {
    const table = this.table;
    const now = this.now;
    let bucket = table.bucketOf(hash);
    for (let k = 0; k < this.evictionRange; k++) {
      if (k > 0) bucket = (bucket + 1) % table.buckets;
      let drops = 0;
      let node = table.head[bucket]!;
      while (node !== NIL) {
        const hot = table.store.hot;
        const ct = node >> 1;
        const st = hot[ct * HOT_WORDS + H_STATUS]!;
        if (jdiff(hot[ct * HOT_WORDS + H_TIMEOUT]!, now) <= 0) {
          this.gcExpired(ct);
        } else if ((st & (IPS_ASSURED | IPS_DYING)) === 0 && (st & IPS_CONFIRMED) !== 0) {
          this.deleteEntry(ct);
          drops++;
        }
        node = table.nextOf(node);
      }
      if (drops > 0) {
        this.stats.early_drop += drops;
        return true;
      }
    }
    return false;
  }

  // __nf_conntrack_confirm
  private confirm(ct: number, hash: number): void {
    const table = this.table;
    const store = table.store;
    const hot = store.hot;
    const hi = store.hotI;
    const r = ct * HOT_WORDS;
    const stats = this.stats;
    const st = hot[r + H_STATUS]!;
    if ((st & IPS_DYING) !== 0) {
      stats.insert_failed++;
      this.freeUnconfirmed(ct);
      return;
    }
    const oo = ct * 2 * TUPLE_WORDS;
    const ro = oo + TUPLE_WORDS;
    const rh = hashTuple(store.tuple, ro, this.hashSeed);
    const maxChainlen = MIN_CHAINLEN + (this.random() % MAX_CHAINLEN);
    for (let pass = 0; pass < 2; pass++) {
      let chainlen = 0;
      const to = pass === 0 ? oo : ro;
      const h = pass === 0 ? hash : rh;
      const h32 = h | 0;
      let node = table.head[table.bucketOf(h)]!;
      while (node !== NIL) {
        const l = (node >> 1) * HOT_WORDS + H_NEXT + (node & 1) * 2;
        if (hi[l + 1] === h32 && tupleEqual(store.tuple, node * TUPLE_WORDS, store.tuple, to)) {
          this.resolveClash(ct, node >> 1);
          return;
        }
        if (chainlen++ > maxChainlen) {
          stats.chaintoolong++;
          stats.insert_failed++;
          this.freeUnconfirmed(ct);
          return;
        }
        node = hi[l]!;
      }
    }
    hot[r + H_STATUS] = st | IPS_CONFIRMED;
    hot[r + H_TIMEOUT] = (hot[r + H_TIMEOUT]! + this.now) >>> 0;
    table.linkEntry(ct, hash, rh);
    stats.new++;
    this.gc.onConfirm(ct);
    // The count only stays higher after a confirm, so its high-water mark is taken here (exact, per packet).
    if (table.count > this.peakCount) {
      this.peakCount = table.count;
      this.peakJiffies = this.now;
    }
  }

  // nf_ct_resolve_clash: only UDP/UDPLite allow a clash; the packet then uses the existing entry.
  private resolveClash(ct: number, existing: number): void {
    const store = this.table.store;
    const proto = store.l4proto[ct]!;
    if ((proto === 17 || proto === 136) && (store.statusOf(existing) & IPS_DYING) === 0) {
      this.stats.clash_resolve++;
    } else {
      this.stats.drop++;
      this.stats.insert_failed++;
    }
    this.freeUnconfirmed(ct);
  }

  /** nf_ct_gc_expired: delete an expired confirmed entry met by a walk. */
  private gcExpired(ct: number): void {
    const st = this.table.store.statusOf(ct);
    if ((st & IPS_CONFIRMED) === 0 || (st & IPS_DYING) !== 0) return;
    this.deleteEntry(ct);
    this.stats.lazy_reaped++;
  }

  /** nf_ct_delete of a confirmed entry: unlink both nodes and free (events are assumed delivered). */
  private deleteEntry(ct: number): void {
    const hot = this.table.store.hot;
    hot[ct * HOT_WORDS + H_STATUS] = hot[ct * HOT_WORDS + H_STATUS]! | IPS_DYING;
    this.table.unlinkEntry(ct);
    this.gc.onDelete(ct);
    this.table.free(ct);
    this.stats.delete++;
  }

  private freeUnconfirmed(ct: number): void {
    const hot = this.table.store.hot;
    hot[ct * HOT_WORDS + H_STATUS] = hot[ct * HOT_WORDS + H_STATUS]! | IPS_DYING;
    this.table.free(ct);
  }

  gcDelete(ct: number, evicted: boolean): void {
    this.deleteEntry(ct);
    if (evicted) this.stats.gc_evicted++;
    else this.stats.gc_reaped++;
  }

  // __nf_ct_refresh_acct
  refresh(ct: number, extraJiffies: number): void {
    const hot = this.table.store.hot;
    const r = ct * HOT_WORDS;
    const st = hot[r + H_STATUS]!;
    if ((st & IPS_FIXED_TIMEOUT) !== 0) return;
    if ((st & IPS_CONFIRMED) !== 0) {
      hot[r + H_TIMEOUT] = (this.now + extraJiffies) >>> 0;
      this.gc.onRefresh(ct);
    } else {
      hot[r + H_TIMEOUT] = extraJiffies >>> 0;
    }
  }

  // nf_ct_kill
  kill(ct: number): void {
    const store = this.table.store;
    const st = store.statusOf(ct);
    if ((st & IPS_DYING) !== 0) return;
    if ((st & IPS_CONFIRMED) !== 0 && this.table.isLinked(ct)) this.deleteEntry(ct);
    else store.setStatus(ct, st | IPS_DYING); // unconfirmed: confirm will fail (insert_failed)
  }

  /** The stats timeline's tick sample (ConntrackView): entries counted at capture time tSec. */
  tally(tSec: number, v: Float64Array): void {
    tallyEntries(this.table, this.jiffiesAt(tSec), v, 0);
  }

  forEachEntry(cb: (ct: number) => void): void {
    const table = this.table;
    // inUse (one byte per entry) skips free slots before the link check reads the hot record.
    const inUse = table.inUse;
    for (let ct = 0; ct < inUse.length; ct++) if (inUse[ct] === 1 && table.isLinked(ct)) cb(ct);
  }

  /** Entries in the table not expired at nowJiffies (what conntrack -L lists), counted without a dump. */
  liveCount(nowJiffies: number): number {
    const v = new Float64Array(TALLY_LEN);
    tallyEntries(this.table, nowJiffies, v, 0);
    return v[TALLY_LIVE]!;
  }

  /** Chain-length statistics over the buckets, kept incrementally by the table. */
  chainStats(): { buckets: number; used: number; maxLen: number; meanLen: number } {
    const table = this.table;
    const used = table.chains.used;
    return {
      buckets: table.buckets,
      used,
      maxLen: table.chains.max,
      meanLen: used > 0 ? table.chains.nodes / used : 0,
    };
  }

  stateName(ct: number): string | null {
    const store = this.table.store;
    return this.trackers[store.l4proto[ct]!]!.stateName(store, ct);
  }

  /** Remaining lifetime of an entry in whole seconds at `nowJiffies` (nf_ct_expires / HZ). */
  secondsLeft(ct: number, nowJiffies: number): number {
    const left = jdiff(this.table.store.timeoutOf(ct), nowJiffies);
    return left > 0 ? Math.floor(left / this.settings.hz) : 0;
  }

  /** Hash-table bucket of an entry's node (for tests and chain statistics). */
  bucketOfNode(node: number): number {
    return this.table.bucketOf(hashTuple(this.table.store.tuple, node * TUPLE_WORDS, this.hashSeed));
  }

  /** Raw hash (hash_conntrack_raw) of a tuple (TUPLE_WORDS words at t[o]) on this table's seed. */
  hashOfTuple(t: Uint32Array, o: number): number {
    return hashTuple(t, o, this.hashSeed);
  }

  /** Bucket a tuple (TUPLE_WORDS words at t[o]) hashes to. */
  bucketOfTuple(t: Uint32Array, o: number): number {
    return this.table.bucketOf(hashTuple(t, o, this.hashSeed));
  }

  /** xorshift32: the seeded stand-in for get_random_u32_below in confirm. */
  private random(): number {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng;
  }
}

/** Tuple ports word helpers for dump/tests. */
export function tuplePorts(store: CtStore, ct: number, dir: Dir): number {
  return store.tuple[(ct * 2 + dir) * TUPLE_WORDS + T_PORTS]!;
}
