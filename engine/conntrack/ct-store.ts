/**
 * The slab-like record pool holding every struct nf_conn field ctreplay models, in typed arrays that can
 * live in SharedArrayBuffers (so a shard's table can be driven from a worker thread). An entry is an index
 * `ct` in [0, capacity). Allocation/free lists and the hash chains are kept by the table (table.ts).
 *
 * Layout (docs/perf-layout.md): what a chain walk and every packet read sits in one dense 32-byte hot
 * record per entry (HOT_WORDS words at ct * HOT_WORDS, two records per 64-byte cache line): status,
 * timeout and both tuplehash nodes' [next, hash, prev] links. The tuples (read once per lookup hit) and
 * the protocol words stay in their own columns, so the hot records of 262 144 entries take 8 MB and
 * mostly stay cached, where one wide record per entry would not.
 *
 * Tuple layout, TUPLE_WORDS words per tuplehash, two per entry (ORIGINAL at ct*2*TUPLE_WORDS, REPLY right
 * after): [src0..src3, dst0..dst3, sport << 16 | dport, l3num << 8 | protonum].
 */
import { IPS_ASSURED, IPS_SEEN_REPLY } from "./l4proto.js";
import { PROTO_INDEX, PROTO_NAMES } from "./proto-groups.js";

export const TUPLE_WORDS = 10;
export const T_SRC = 0;
export const T_DST = 4;
export const T_PORTS = 8;
export const T_PROTO = 9;

/**
 * Per-protocol private state (the kernel's ct->proto union): PROTO_WORDS u32 words per entry at
 * ct*PROTO_WORDS. Each tracker documents its own word map in its file.
 */
export const PROTO_WORDS = 24;

/** Hot record words per entry (32 bytes). */
export const HOT_WORDS = 8;
/** IPS_* bits. */
export const H_STATUS = 0;
/** u32 jiffies: absolute expiry once confirmed, relative (the pending timeout) before confirm. */
export const H_TIMEOUT = 1;
/** Per node (+ 2 * dir): next node in its chain (int32, NIL = -1) and the raw u32 hash of its tuple. */
export const H_NEXT = 2;
export const H_HASH = 3;
/** Per node (+ dir): previous node in its chain; NIL (-1) at the chain head, UNLINKED (-2) when not linked. */
export const H_PREV = 6;
/** H_PREV of a node that is not linked in any chain. */
export const UNLINKED = -2;

const ASSURED_BIT = 31 - Math.clz32(IPS_ASSURED);
const SEEN_REPLY_BIT = 31 - Math.clz32(IPS_SEEN_REPLY);

/** Cells of LinkedTally.cells: protocol group * 256 + protocol state. */
export const TALLY_CELLS = PROTO_NAMES.length * 256;

type Mem = ArrayBuffer | SharedArrayBuffer;

/**
 * Counts of the entries linked in the table by what the stats timeline samples (engine/conntrack/tally.ts),
 * kept as entries are linked, unlinked and change state or ASSURED / SEEN_REPLY while linked, so a tick
 * reads them instead of visiting every entry (only expiry, which moves with time, still needs a pass).
 */
export interface LinkedTally {
  linked: number;
  assured: number;
  seenReply: number;
  /** Per protocol group and state (group * 256 + state). */
  readonly cells: Int32Array;
}

export class CtStore {
  readonly capacity: number;
  /** Hot records as u32 words (status, timeout, hashes). */
  readonly hot: Uint32Array;
  /** The same hot records as int32 words (links, hashes as int32). */
  readonly hotI: Int32Array;
  /** Protocol state (TCP_CONNTRACK_*, SCTP_CONNTRACK_*); 0 for stateless protocols. */
  readonly state: Uint8Array;
  /** L4 protocol number of the ORIGINAL tuple. */
  readonly l4proto: Uint8Array;
  /** Both tuples, TUPLE_WORDS each. */
  readonly tuple: Uint32Array;
  /** Per-protocol private words. */
  readonly proto: Uint32Array;
  /** The same protocol words as int32 (the TCP tracker's sequence numbers stay unboxed). */
  readonly protoI: Int32Array;
  /** The linked entries' counts; the table adds and removes entries as it links and unlinks them. */
  readonly linkedTally: LinkedTally = {
    linked: 0,
    assured: 0,
    seenReply: 0,
    cells: new Int32Array(TALLY_CELLS),
  };

  constructor(capacity: number, shared = false) {
    this.capacity = capacity;
    const alloc = (bytes: number): Mem => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
    const hot = alloc(capacity * HOT_WORDS * 4);
    this.hot = new Uint32Array(hot);
    this.hotI = new Int32Array(hot);
    this.state = new Uint8Array(alloc(capacity));
    this.l4proto = new Uint8Array(alloc(capacity));
    this.tuple = new Uint32Array(alloc(capacity * TUPLE_WORDS * 2 * 4));
    const proto = alloc(capacity * PROTO_WORDS * 4);
    this.proto = new Uint32Array(proto);
    this.protoI = new Int32Array(proto);
  }

  /** Offset in `tuple` of node's tuple (node = ct * 2 + dir). */
  tupleOff(node: number): number {
    return node * TUPLE_WORDS;
  }

  /** Offset in `proto` of ct's PROTO_WORDS protocol words. */
  protoOff(ct: number): number {
    return ct * PROTO_WORDS;
  }

  statusOf(ct: number): number {
    return this.hot[ct * HOT_WORDS + H_STATUS]!;
  }

  /** Sets ct's IPS_* bits (kept in linkedTally while linked). */
  setStatus(ct: number, v: number): void {
    const r = ct * HOT_WORDS;
    const old = this.hot[r + H_STATUS]!;
    this.hot[r + H_STATUS] = v;
    if (this.hotI[r + H_PREV] === UNLINKED) return;
    const t = this.linkedTally;
    t.assured += ((v >>> ASSURED_BIT) & 1) - ((old >>> ASSURED_BIT) & 1);
    t.seenReply += ((v >>> SEEN_REPLY_BIT) & 1) - ((old >>> SEEN_REPLY_BIT) & 1);
  }

  /** ct->timeout (u32 jiffies). */
  timeoutOf(ct: number): number {
    return this.hot[ct * HOT_WORDS + H_TIMEOUT]!;
  }

  setTimeout(ct: number, v: number): void {
    this.hot[ct * HOT_WORDS + H_TIMEOUT] = v;
  }

  stateOf(ct: number): number {
    return this.state[ct]!;
  }

  /** Sets ct's protocol state (kept in linkedTally while linked). */
  setState(ct: number, v: number): void {
    const old = this.state[ct]!;
    if (old === v) return;
    this.state[ct] = v;
    if (this.hotI[ct * HOT_WORDS + H_PREV] === UNLINKED) return;
    const cells = this.linkedTally.cells;
    const g = PROTO_INDEX[this.l4proto[ct]!]! << 8;
    cells[g | old]!--;
    cells[g | v]!++;
  }

  /** Adds (d = 1) or removes (d = -1) ct, as it is now, to or from linkedTally (the table calls it). */
  tallyLinked(ct: number, d: number): void {
    const t = this.linkedTally;
    const st = this.hot[ct * HOT_WORDS + H_STATUS]!;
    t.linked += d;
    t.assured += d * ((st >>> ASSURED_BIT) & 1);
    t.seenReply += d * ((st >>> SEEN_REPLY_BIT) & 1);
    t.cells[(PROTO_INDEX[this.l4proto[ct]!]! << 8) | this.state[ct]!]! += d;
  }

  l4protoOf(ct: number): number {
    return this.l4proto[ct]!;
  }

  setL4proto(ct: number, v: number): void {
    this.l4proto[ct] = v;
  }

  /** A protocol word (u32). */
  protoWord(ct: number, k: number): number {
    return this.proto[ct * PROTO_WORDS + k]!;
  }

  /** Zeroes an entry's fields before reuse (the kernel memsets nf_conn's proto area on alloc). */
  reset(ct: number): void {
    const h = ct * HOT_WORDS;
    this.hot[h + H_STATUS] = 0;
    this.hot[h + H_TIMEOUT] = 0;
    this.state[ct] = 0;
    this.l4proto[ct] = 0;
    this.proto.fill(0, ct * PROTO_WORDS, (ct + 1) * PROTO_WORDS);
  }

  /** Copies every entry of `from` (a smaller store) into this one. */
  copyFrom(from: CtStore): void {
    this.hot.set(from.hot);
    this.state.set(from.state);
    this.l4proto.set(from.l4proto);
    this.tuple.set(from.tuple);
    this.proto.set(from.proto);
    const t = this.linkedTally;
    const f = from.linkedTally;
    t.linked = f.linked;
    t.assured = f.assured;
    t.seenReply = f.seenReply;
    t.cells.set(f.cells);
  }
}
