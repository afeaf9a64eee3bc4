/**
 * The conntrack hash table as the kernel keeps it (nf_conntrack_hash): `buckets` chains, each holding
 * tuplehash nodes; every confirmed entry has TWO nodes (node id = ct * 2 + dir), linked into the bucket of
 * its ORIGINAL and of its REPLY tuple, inserted at the chain head. Links are Int32Arrays (link, prev) so the
 * table lives in plain or shared memory and nothing is allocated per packet.
 *
 * `link` interleaves per node [next, tuple hash]: a chain walk reads a node's next pointer and the hash of
 * its tuple from one cache line, and rejects a node of another tuple on the hash alone instead of loading
 * its 10-word tuple (the hash is the full u32 hash_conntrack_raw value, before scaling to a bucket).
 *
 * Unlinking keeps the removed node's `next` (like hlist_nulls_del_rcu), so a walk that deletes the entry
 * it stands on can continue from it, exactly as the kernel's RCU walks do.
 *
 * Entries live in a CtStore with a free list. Capacity starts at `initialCapacity` and doubles when the
 * free list is empty (nf_conntrack_max bounds the count, so with a limit the store never exceeds
 * max + 1); growing replaces `store` and the link arrays (callers must read `table.store` again).
 */
import { CtStore, TUPLE_WORDS } from "./ct-store.js";
import { reciprocalScale } from "./tuple.js";

export const NIL = -1;

type Mem = ArrayBuffer | SharedArrayBuffer;

function i32(n: number, shared: boolean, fill: number): Int32Array {
  const buf: Mem = shared ? new SharedArrayBuffer(n * 4) : new ArrayBuffer(n * 4);
  const a = new Int32Array(buf);
  if (fill !== 0) a.fill(fill);
  return a;
}

export class CtTable {
  readonly buckets: number;
  readonly shared: boolean;
  store: CtStore;
  /** First node of each chain (NIL = empty). */
  readonly head: Int32Array;
  /** Per node: [next node in its chain, raw u32 hash of the node's tuple (as int32)]. */
  link: Int32Array;
  /** Per node: previous node (NIL when it is the chain head or not linked). */
  prev: Int32Array;
  /** Per node: bucket it is linked into, NIL when not linked. */
  nodeBucket: Int32Array;
  /** Per ct: next free entry (free list), and 1 while allocated. */
  private freeNext: Int32Array;
  private freeHead = NIL;
  inUse: Uint8Array;
  /** Allocated entries (confirmed + unconfirmed): the kernel's nf_conntrack_count. */
  count = 0;
  /** Confirmed entries linked in the table. */
  linked = 0;
  /**
   * Per bucket: nodes in its chain, with chainHist[n] = buckets holding n nodes (n >= 1), the number of
   * non-empty buckets and the longest chain, all kept on insert/unlink so chain statistics cost O(1) at a
   * timeline tick instead of a walk over every bucket.
   */
  readonly chainLen: Int32Array;
  private chainHist = new Int32Array(64);
  usedBuckets = 0;
  maxChain = 0;
  /** Nodes linked (two per linked entry). */
  nodes = 0;

  constructor(buckets: number, initialCapacity: number, shared = false) {
    if (!(buckets >= 1)) throw new Error(`CtTable: bad bucket count ${buckets}`);
    this.buckets = buckets;
    this.shared = shared;
    const cap = Math.max(2, initialCapacity | 0);
    this.head = i32(buckets, shared, NIL);
    this.chainLen = new Int32Array(buckets);
    this.store = new CtStore(cap, shared);
    this.link = i32(cap * 4, shared, NIL);
    this.prev = i32(cap * 2, shared, NIL);
    this.nodeBucket = i32(cap * 2, shared, NIL);
    this.freeNext = i32(cap, shared, NIL);
    this.inUse = new Uint8Array(shared ? new SharedArrayBuffer(cap) : new ArrayBuffer(cap));
    this.pushFreeRange(0, cap);
  }

  get capacity(): number {
    return this.store.capacity;
  }

  /** scale_hash: bucket of a raw tuple hash (reciprocal_scale over the table size). */
  bucketOf(hash: number): number {
    return reciprocalScale(hash, this.buckets);
  }

  /** Takes an entry off the free list (growing the pool if needed) and zeroes it. */
  alloc(): number {
    if (this.freeHead === NIL) this.grow();
    const ct = this.freeHead;
    this.freeHead = this.freeNext[ct]!;
    this.freeNext[ct] = NIL;
    this.inUse[ct] = 1;
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
    return this.link[node * 2]!;
  }

  /** Raw tuple hash stored with a linked node (u32). */
  hashOf(node: number): number {
    return this.link[node * 2 + 1]! >>> 0;
  }

  /** hlist_nulls_add_head_rcu (`hash`: the node tuple's raw hash, kept for early reject in walks). */
  insertHead(node: number, bucket: number, hash: number): void {
    const h = this.head[bucket]!;
    this.link[node * 2] = h;
    this.link[node * 2 + 1] = hash | 0;
    this.prev[node] = NIL;
    if (h !== NIL) this.prev[h] = node;
    this.head[bucket] = node;
    this.nodeBucket[node] = bucket;
    this.nodes++;
    const n = ++this.chainLen[bucket]!;
    if (n === 1) this.usedBuckets++;
    else this.chainHist[n - 1]!--;
    if (n >= this.chainHist.length) this.growHist(n);
    this.chainHist[n]!++;
    if (n > this.maxChain) this.maxChain = n;
  }

  /** hlist_nulls_del_rcu: unlinks a node, keeping its own next pointer for walkers standing on it. */
  unlink(node: number): void {
    const b = this.nodeBucket[node]!;
    if (b === NIL) return;
    const p = this.prev[node]!;
    const n = this.link[node * 2]!;
    if (p === NIL) this.head[b] = n;
    else this.link[p * 2] = n;
    if (n !== NIL) this.prev[n] = p;
    this.prev[node] = NIL;
    this.nodeBucket[node] = NIL;
    this.nodes--;
    const len = --this.chainLen[b]!;
    this.chainHist[len + 1]!--;
    if (len === 0) this.usedBuckets--;
    else this.chainHist[len]!++;
    if (len + 1 === this.maxChain && this.chainHist[len + 1] === 0) this.maxChain = len;
  }

  /** Links both tuplehash nodes of ct (ORIGINAL first, then REPLY, each at its chain head); hashes are raw. */
  linkEntry(ct: number, origHash: number, replyHash: number): void {
    this.insertHead(ct * 2, this.bucketOf(origHash), origHash);
    this.insertHead(ct * 2 + 1, this.bucketOf(replyHash), replyHash);
    this.linked++;
  }

  /** Removes both nodes of ct from the table (hash part of nf_ct_delete_from_lists). */
  unlinkEntry(ct: number): void {
    if (this.nodeBucket[ct * 2] === NIL && this.nodeBucket[ct * 2 + 1] === NIL) return;
    this.unlink(ct * 2);
    this.unlink(ct * 2 + 1);
    this.linked--;
  }

  isLinked(ct: number): boolean {
    return this.nodeBucket[ct * 2]! !== NIL;
  }

  private growHist(n: number): void {
    let len = this.chainHist.length;
    while (len <= n) len *= 2;
    const h = new Int32Array(len);
    h.set(this.chainHist);
    this.chainHist = h;
  }

  /** Chain length of one bucket (debug/stats; walks the chain). */
  chainLength(bucket: number): number {
    let n = 0;
    for (let node = this.head[bucket]!; node !== NIL; node = this.link[node * 2]!) n++;
    return n;
  }

  /** Entries on the free list (for invariant checks). */
  freeCount(): number {
    let n = 0;
    for (let ct = this.freeHead; ct !== NIL; ct = this.freeNext[ct]!) n++;
    return n;
  }

  private pushFreeRange(from: number, to: number): void {
    // Highest index first so low indexes are handed out first (stable, cache-friendly).
    for (let ct = to - 1; ct >= from; ct--) {
      this.freeNext[ct] = this.freeHead;
      this.freeHead = ct;
    }
  }

  /** Doubles the entry pool, copying every column (ct indexes and node ids stay valid). */
  private grow(): void {
    const old = this.store;
    const cap = old.capacity * 2;
    const s = new CtStore(cap, this.shared);
    s.status.set(old.status);
    s.timeout.set(old.timeout);
    s.state.set(old.state);
    s.l4proto.set(old.l4proto);
    s.tuple.set(old.tuple.subarray(0, old.capacity * TUPLE_WORDS * 2));
    s.proto.set(old.proto);
    this.store = s;
    const copy = (a: Int32Array, n: number): Int32Array => {
      const b = i32(n, this.shared, NIL);
      b.set(a);
      return b;
    };
    this.link = copy(this.link, cap * 4);
    this.prev = copy(this.prev, cap * 2);
    this.nodeBucket = copy(this.nodeBucket, cap * 2);
    this.freeNext = copy(this.freeNext, cap);
    const inUse = new Uint8Array(this.shared ? new SharedArrayBuffer(cap) : new ArrayBuffer(cap));
    inUse.set(this.inUse);
    this.inUse = inUse;
    this.pushFreeRange(old.capacity, cap);
  }
}
