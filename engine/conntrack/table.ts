/**
 * The conntrack hash table as the kernel keeps it (nf_conntrack_hash): `buckets` chains, each holding
 * tuplehash nodes; every confirmed entry has TWO nodes (node id = ct * 2 + dir), linked into the bucket of
 * its ORIGINAL and of its REPLY tuple, inserted at the chain head. Nothing is allocated per packet.
 *
 * The per-node links live in the entry's hot record (ct-store.ts) next to its status and expiry:
 * [next, tuple hash] per node, then prev per node. A chain walk reads one 32-byte record per node and
 * rejects a node of another tuple on the hash alone (the full u32 hash_conntrack_raw value, before
 * scaling to a bucket). A node's bucket is not stored: it is bucketOf(its hash); prev = UNLINKED marks a
 * node that is not in the table.
 *
 * Unlinking keeps the removed node's `next` (like hlist_nulls_del_rcu), so a walk that deletes the entry
 * it stands on can continue from it, exactly as the kernel's RCU walks do.
 *
 * Entries live in a CtStore with a free list. Capacity starts at `initialCapacity` and doubles when the
 * free list is empty (nf_conntrack_max bounds the count, so with a limit the store never exceeds
 * max + 1); growing replaces `store` (callers must read `table.store` again).
 */
import { CtStore, H_HASH, H_NEXT, H_PREV, HOT_WORDS, UNLINKED } from "./ct-store.js";
import { reciprocalScale } from "./tuple.js";

export { UNLINKED } from "./ct-store.js";
export const NIL = -1;

type Mem = ArrayBuffer | SharedArrayBuffer;

function i32(n: number, shared: boolean, fill: number): Int32Array {
  const buf: Mem = shared ? new SharedArrayBuffer(n * 4) : new ArrayBuffer(n * 4);
  const a = new Int32Array(buf);
  if (fill !== 0) a.fill(fill);
  return a;
}

/**
 * Per bucket: nodes in its chain, with hist[n] = buckets holding n nodes (n >= 1), the number of non-empty
 * buckets and the longest chain, kept on insert/unlink so chain statistics cost O(1) at a timeline tick
 * instead of a walk over every bucket. Tables with the same bucket count may share one (a sharded replay's
 * tracking thread shares one among its shards: its lengths are then the shards' summed, which is what a
 * tick samples, with one copy instead of a sum over the shards).
 */
export class ChainCounts {
  readonly len: Int32Array;
  private hist = new Int32Array(64);
  /** Non-empty buckets, longest chain, nodes counted. */
  used = 0;
  max = 0;
  nodes = 0;

  constructor(readonly buckets: number) {
    this.len = new Int32Array(buckets);
  }

  add(bucket: number): void {
    this.nodes++;
    const n = ++this.len[bucket]!;
    if (n === 1) this.used++;
    else this.hist[n - 1]!--;
    if (n >= this.hist.length) this.growHist(n);
    this.hist[n]!++;
    if (n > this.max) this.max = n;
  }

  remove(bucket: number): void {
    this.nodes--;
    const len = --this.len[bucket]!;
    this.hist[len + 1]!--;
    if (len === 0) this.used--;
    else this.hist[len]!++;
    if (len + 1 === this.max && this.hist[len + 1] === 0) this.max = len;
  }

  private growHist(n: number): void {
    let len = this.hist.length;
    while (len <= n) len *= 2;
    const h = new Int32Array(len);
    h.set(this.hist);
    this.hist = h;
  }
}

export class CtTable {
  readonly buckets: number;
  readonly shared: boolean;
  store: CtStore;
  /** First node of each chain (NIL = empty). */
  readonly head: Int32Array;
  /** Per ct: next free entry (free list). */
  private freeNext: Int32Array;
  private freeHead = NIL;
  /** Per ct: 1 while allocated. */
  inUse: Uint8Array;
  /** Allocated entries (confirmed + unconfirmed): the kernel's nf_conntrack_count. */
  count = 0;
  /** Confirmed entries linked in the table. */
  linked = 0;
  /** One past the highest entry ever allocated: entries from here on were never used (allocation is lowest first). */
  highWater = 0;
  /** Chain lengths per bucket and their statistics (possibly shared with other tables, see ChainCounts). */
  readonly chains: ChainCounts;
  /** Nodes linked (two per linked entry). */
  nodes = 0;
  /** buckets <= 2^21: hash * buckets is exact in a double, so scale_hash is one multiply. */
  private readonly smallScale: boolean;

  constructor(buckets: number, initialCapacity: number, shared = false, chains?: ChainCounts) {
    if (!(buckets >= 1)) throw new Error(`CtTable: bad bucket count ${buckets}`);
    if (chains !== undefined && chains.buckets !== buckets)
      throw new Error(`CtTable: chain counts of ${chains.buckets} buckets for a table of ${buckets}`);
    this.buckets = buckets;
    this.shared = shared;
    this.smallScale = buckets <= 2 ** 21;
    const cap = Math.max(2, initialCapacity | 0);
    this.head = i32(buckets, shared, NIL);
    this.chains = chains ?? new ChainCounts(buckets);
    this.store = new CtStore(cap, shared);
    this.freeNext = i32(cap, shared, NIL);
    this.inUse = new Uint8Array(shared ? new SharedArrayBuffer(cap) : new ArrayBuffer(cap));
    this.initRange(0, cap);
  }

  get capacity(): number {
    return this.store.capacity;
  }

  /** scale_hash: bucket of a raw tuple hash (reciprocal_scale over the table size). */
  bucketOf(hash: number): number {
    // (u64)hash * n >> 32; below 2^53 the double product and the division by 2^32 are exact.
    if (this.smallScale) return Math.floor(((hash >>> 0) * this.buckets) / 4294967296);
    return reciprocalScale(hash >>> 0, this.buckets);
  }

  /** Takes an entry off the free list (growing the pool if needed) and zeroes it. */
  alloc(): number {
    if (this.freeHead === NIL) this.grow();
    const ct = this.freeHead;
    this.freeHead = this.freeNext[ct]!;
    this.freeNext[ct] = NIL;
    this.inUse[ct] = 1;
    if (ct >= this.highWater) this.highWater = ct + 1;
    this.store.reset(ct);
    this.count++;
    return ct;
  }

  /** nf_conntrack_free: returns an (already unlinked) entry to the pool. Its fields stay readable until reuse. */
  free(ct: number): void {
    this.inUse[ct] = 0;
    this.freeNext[ct] = this.freeHead;
    this.freeHead = ct;
    this.count--;
  }

  /** Next node after `node` in its chain (NIL at the end). */
  nextOf(node: number): number {
    return this.store.hotI[(node >> 1) * HOT_WORDS + H_NEXT + (node & 1) * 2]!;
  }

  /** Raw tuple hash stored with a linked node (u32). */
  hashOf(node: number): number {
    return this.store.hot[(node >> 1) * HOT_WORDS + H_HASH + (node & 1) * 2]!;
  }

  /** Bucket a node is linked into, NIL when not linked. */
  nodeBucketOf(node: number): number {
    if (this.store.hotI[(node >> 1) * HOT_WORDS + H_PREV + (node & 1)] === UNLINKED) return NIL;
    return this.bucketOf(this.hashOf(node));
  }

  /** hlist_nulls_add_head_rcu into bucketOf(hash) (`hash`: the node tuple's raw hash). */
  private insertHead(node: number, hash: number): void {
    const bucket = this.bucketOf(hash);
    const hi = this.store.hotI;
    const r = (node >> 1) * HOT_WORDS;
    const d = node & 1;
    const h = this.head[bucket]!;
    hi[r + H_NEXT + d * 2] = h;
    hi[r + H_HASH + d * 2] = hash | 0;
    hi[r + H_PREV + d] = NIL;
    if (h !== NIL) hi[(h >> 1) * HOT_WORDS + H_PREV + (h & 1)] = node;
    this.head[bucket] = node;
    this.nodes++;
    this.chains.add(bucket);
  }

  /** hlist_nulls_del_rcu: unlinks a node, keeping its own next pointer for walkers standing on it. */
  private unlink(node: number): void {
    const hi = this.store.hotI;
    const r = (node >> 1) * HOT_WORDS;
    const d = node & 1;
    const p = hi[r + H_PREV + d]!;
    if (p === UNLINKED) return;
    const b = this.bucketOf(hi[r + H_HASH + d * 2]!);
    const n = hi[r + H_NEXT + d * 2]!;
    if (p === NIL) this.head[b] = n;
    else hi[(p >> 1) * HOT_WORDS + H_NEXT + (p & 1) * 2] = n;
    if (n !== NIL) hi[(n >> 1) * HOT_WORDS + H_PREV + (n & 1)] = p;
    hi[r + H_PREV + d] = UNLINKED;
    this.nodes--;
    this.chains.remove(b);
  }

  /** Links both tuplehash nodes of ct (ORIGINAL first, then REPLY, each at its chain head); hashes are raw. */
  linkEntry(ct: number, origHash: number, replyHash: number): void {
    this.insertHead(ct * 2, origHash);
    this.insertHead(ct * 2 + 1, replyHash);
    this.linked++;
    this.store.tallyLinked(ct, 1);
  }

  /** Removes both nodes of ct from the table (hash part of nf_ct_delete_from_lists). */
  unlinkEntry(ct: number): void {
    const hi = this.store.hotI;
    const r = ct * HOT_WORDS + H_PREV;
    if (hi[r] === UNLINKED && hi[r + 1] === UNLINKED) return;
    this.unlink(ct * 2);
    this.unlink(ct * 2 + 1);
    this.linked--;
    this.store.tallyLinked(ct, -1);
  }

  isLinked(ct: number): boolean {
    return this.store.hotI[ct * HOT_WORDS + H_PREV]! !== UNLINKED;
  }

  /** Chain length of one bucket (debug/stats; walks the chain). */
  chainLength(bucket: number): number {
    let n = 0;
    for (let node = this.head[bucket]!; node !== NIL; node = this.nextOf(node)) n++;
    return n;
  }

  /** Entries on the free list (for invariant checks). */
  freeCount(): number {
    let n = 0;
    for (let ct = this.freeHead; ct !== NIL; ct = this.freeNext[ct]!) n++;
    return n;
  }

  /** New records: both nodes unlinked (next NIL, prev UNLINKED), pushed on the free list. */
  private initRange(from: number, to: number): void {
    const hi = this.store.hotI;
    // Highest index first so low indexes are handed out first (stable, cache-friendly).
    for (let ct = to - 1; ct >= from; ct--) {
      const r = ct * HOT_WORDS;
      hi[r + H_NEXT] = NIL;
      hi[r + H_NEXT + 2] = NIL;
      hi[r + H_PREV] = UNLINKED;
      hi[r + H_PREV + 1] = UNLINKED;
      this.freeNext[ct] = this.freeHead;
      this.freeHead = ct;
    }
  }

  /** Doubles the entry pool, copying every column (ct indexes and node ids stay valid). */
  private grow(): void {
    const old = this.store;
    const cap = old.capacity * 2;
    const s = new CtStore(cap, this.shared);
    s.copyFrom(old);
    this.store = s;
    const freeNext = i32(cap, this.shared, NIL);
    freeNext.set(this.freeNext);
    this.freeNext = freeNext;
    const inUse = new Uint8Array(this.shared ? new SharedArrayBuffer(cap) : new ArrayBuffer(cap));
    inUse.set(this.inUse);
    this.inUse = inUse;
    this.initRange(old.capacity, cap);
  }
}
