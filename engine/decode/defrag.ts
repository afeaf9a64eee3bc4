/**
 * IP reassembly as nf_defrag_ipv4 (ip_defrag) and nf_defrag_ipv6 (nf_ct_frag6_gather) do it before conntrack
 * sees a packet: fragments are queued per (family, src, dst, id[, proto]) and the completed datagram is
 * handed on as one packet.
 *
 * Memory is bounded and preallocated: fragment bytes live in a pool of fixed BLOCK-byte blocks (a stand-in
 * for the kernel's skb truesize accounting: a 1500-byte fragment costs ~2 KiB there too), queues and
 * fragment records in typed arrays. Like inet_frag_find since 4.17, a NEW queue is refused while the memory
 * in use exceeds highThresh (ipfrag_high_thresh, 4 MiB); if the pool itself runs out while adding to an
 * existing queue, the oldest queue is evicted (counted). Timeouts run on capture time: a queue dies
 * ipfrag_time (30 s, IPv4) or nf_conntrack_frag6_timeout (60 s, IPv6) after it was created (the kernel's
 * timer is armed once, at queue creation).
 *
 * Insertion follows inet_frag_queue_insert: a fragment entirely inside a queued one is a duplicate (dropped,
 * queue kept), any other overlap kills the queue (RFC 5722). Inconsistent ends (ip_frag_queue /
 * nf_ct_frag6_queue checks) kill the queue too.
 */

export const FRAG_HELD = 0; // queued, datagram not complete yet
export const FRAG_DONE = 1; // datagram complete: out[outStart, outStart + outLen)
export const FRAG_DROPPED = 2; // fragment dropped (duplicate, bad, refused); counted in the stats
export const FRAG_PASS = 3; // IPv6 only: queue killed with -EPROTO, the fragment itself goes on to conntrack

const BLOCK = 2048;
/** Room for the unfragmentable part (IPv4 header, IPv6 header + extension headers before the fragment header). */
export const HDR_ROOM = 256;
const NONE = -1;
const FAM_V4 = 1;
const FAM_V6 = 2;
const BUCKETS = 1024;
const PEERS = 8192;

export interface DefragOptions {
  /** ipfrag_high_thresh: bytes in use above which no new queue is created (default 4 MiB). */
  highThresh: number;
  /** Pool size in bytes (default highThresh + 1 MiB so queues may still complete above the threshold). */
  poolBytes: number;
  /** Max concurrent queues (default 4096). */
  maxSets: number;
  /** Max queued fragments over all queues (default poolBytes / BLOCK). */
  maxFrags: number;
  /** ipfrag_time (s), default 30. */
  timeoutV4: number;
  /** nf_conntrack_frag6_timeout (s), default 60. */
  timeoutV6: number;
  /** ipfrag_max_dist (default 64): an IPv4 queue is emptied when more fragments than this came from its
   * source (inet_peer rid) since the queue's previous fragment; 0 disables. */
  maxDist: number;
}

/** Byte copy without creating subarray views (no allocation per fragment). */
function copyBytes(src: Uint8Array, s: number, dst: Uint8Array, d: number, n: number): void {
  for (let k = 0; k < n; k++) dst[d + k] = src[s + k]!;
}

export class DefragStats {
  /** Datagrams completed. */
  reassembled = 0;
  /** Queues that timed out (capture time). */
  timeouts = 0;
  /** Queues killed because the pool ran out. */
  evicted = 0;
  /** New queues refused because memory was above highThresh. */
  refused = 0;
  /** Queues killed by overlapping or inconsistent fragments, or oversized datagrams. */
  bad = 0;
  /** Duplicate fragments dropped. */
  duplicates = 0;
  /** IPv6 fragments dropped without killing their queue (nf_ct_frag6_queue "goto err" paths). */
  dropped = 0;
  /** IPv6 fragments passed on unreassembled after -EPROTO (non-last fragment not a multiple of 8). */
  passed = 0;
  /** IPv4 queues emptied by ip_frag_too_far / ip_frag_reinit (ipfrag_max_dist). */
  reinit = 0;
  /** Queues still incomplete at finish(). */
  incomplete = 0;
}

export class Defrag {
  readonly stats = new DefragStats();
  /** Completed datagram buffer: the reassembled datagram is out[outStart, outStart + outLen). */
  readonly out = new Uint8Array(HDR_ROOM + 65536 + 64);
  outStart = 0;
  outLen = 0;

  /** Key of the fragment being added (the caller fills these, then calls addV4/addV6). */
  readonly kSrc = new Uint32Array(4);
  readonly kDst = new Uint32Array(4);
  kId = 0;
  kProto = 0;

  private readonly o: DefragOptions;
  private readonly pool: Uint8Array;
  private readonly blockNext: Int32Array;
  private freeBlock: number;
  private blocksUsed = 0;

  // Queues (sets).
  private readonly sFam: Uint8Array;
  private readonly sSrc: Uint32Array;
  private readonly sDst: Uint32Array;
  private readonly sId: Uint32Array;
  private readonly sProto: Uint8Array;
  private readonly sCreated: Float64Array;
  private readonly sFlags: Uint8Array; // 1 = FIRST_IN, 2 = LAST_IN
  private readonly sLen: Uint32Array; // q.len: end of the datagram's fragmentable part as known so far
  private readonly sMeat: Uint32Array;
  private readonly sHdrLen: Uint16Array;
  private readonly sNh: Uint16Array; // IPv6: offset within the header of the nexthdr byte to patch
  private readonly sNextHdr: Uint8Array; // IPv6: fragment header's next header
  private readonly sFrag: Int32Array; // first fragment record
  private readonly sHashNext: Int32Array;
  private readonly sBucket: Uint16Array;
  private readonly sAgeNext: Int32Array; // creation-order list per family
  private readonly sAgePrev: Int32Array;
  private readonly sRid: Uint32Array; // ipq->rid: the source's fragment counter at this queue's last fragment
  // inet_peer stand-in: per-IPv4-source fragment counter (open addressing; a full table = no peer, like a
  // failed inet_getpeer, and no distance check).
  private readonly peerKey = new Uint32Array(PEERS);
  private readonly peerUsed = new Uint8Array(PEERS);
  private readonly peerRid = new Uint32Array(PEERS);
  private readonly sHdr: Uint8Array;
  private readonly bucket = new Int32Array(BUCKETS).fill(NONE);
  private readonly ageHead = new Int32Array(3).fill(NONE);
  private readonly ageTail = new Int32Array(3).fill(NONE);
  private freeSet: number;
  private setsUsed = 0;

  // Fragment records.
  private readonly fOff: Uint32Array;
  private readonly fEnd: Uint32Array;
  private readonly fBlock: Int32Array;
  private readonly fNext: Int32Array;
  private freeFrag: number;

  constructor(opts?: Partial<DefragOptions>) {
    const highThresh = opts?.highThresh ?? 4 * 1024 * 1024;
    const poolBytes = opts?.poolBytes ?? highThresh + 1024 * 1024;
    const nBlocks = Math.max(64, Math.ceil(poolBytes / BLOCK));
    this.o = {
      highThresh,
      poolBytes: nBlocks * BLOCK,
      maxSets: opts?.maxSets ?? 4096,
      maxFrags: opts?.maxFrags ?? nBlocks,
      timeoutV4: opts?.timeoutV4 ?? 30,
      timeoutV6: opts?.timeoutV6 ?? 60,
      maxDist: opts?.maxDist ?? 64,
    };
    this.pool = new Uint8Array(nBlocks * BLOCK);
    this.blockNext = new Int32Array(nBlocks);
    for (let b = 0; b < nBlocks; b++) this.blockNext[b] = b + 1 < nBlocks ? b + 1 : NONE;
    this.freeBlock = 0;
    const ns = this.o.maxSets;
    this.sFam = new Uint8Array(ns);
    this.sSrc = new Uint32Array(ns * 4);
    this.sDst = new Uint32Array(ns * 4);
    this.sId = new Uint32Array(ns);
    this.sProto = new Uint8Array(ns);
    this.sCreated = new Float64Array(ns);
    this.sFlags = new Uint8Array(ns);
    this.sLen = new Uint32Array(ns);
    this.sMeat = new Uint32Array(ns);
    this.sHdrLen = new Uint16Array(ns);
    this.sNh = new Uint16Array(ns);
    this.sNextHdr = new Uint8Array(ns);
    this.sFrag = new Int32Array(ns);
    this.sHashNext = new Int32Array(ns);
    this.sBucket = new Uint16Array(ns);
    this.sAgeNext = new Int32Array(ns);
    this.sAgePrev = new Int32Array(ns);
    this.sRid = new Uint32Array(ns);
    this.sHdr = new Uint8Array(ns * HDR_ROOM);
    for (let s = 0; s < ns; s++) this.sHashNext[s] = s + 1 < ns ? s + 1 : NONE;
    this.freeSet = 0;
    const nf = this.o.maxFrags;
    this.fOff = new Uint32Array(nf);
    this.fEnd = new Uint32Array(nf);
    this.fBlock = new Int32Array(nf);
    this.fNext = new Int32Array(nf);
    for (let f = 0; f < nf; f++) this.fNext[f] = f + 1 < nf ? f + 1 : NONE;
    this.freeFrag = 0;
  }

  /** Bytes of pool in use (the ipfrag mem counter stand-in). */
  get memUsed(): number {
    return this.blocksUsed * BLOCK;
  }

  /** Queues currently open. */
  get openSets(): number {
    return this.setsUsed;
  }

  /**
   * ip_defrag for an IPv4 fragment at buf[p, p + totlen) with header length hl (key: kSrc[0], kDst[0], kId,
   * kProto). t = capture time in seconds.
   */
  addV4(buf: Uint8Array, p: number, hl: number, totlen: number, t: number): number {
    const fo = (buf[p + 6]! << 8) | buf[p + 7]!;
    const offset = (fo & 0x1fff) << 3;
    const mf = (fo & 0x2000) !== 0;
    return this.add(FAM_V4, buf, p, hl, 0, 0, p + hl, totlen - hl, offset, mf, t);
  }

  /**
   * nf_ct_frag6_gather for an IPv6 fragment: unfragmentable part buf[p, fh) (fixed header + extension
   * headers before the fragment header at fh), nhOff = offset of the nexthdr byte that names the fragment
   * header, fragment data buf[fh + 8, dEnd). Key: kSrc, kDst, kId (kProto unused: the IPv6 key has none).
   */
  addV6(buf: Uint8Array, p: number, fh: number, nhOff: number, dEnd: number, t: number): number {
    const fo = (buf[fh + 2]! << 8) | buf[fh + 3]!;
    const offset = fo & 0xfff8;
    const mf = (fo & 1) !== 0;
    return this.add(FAM_V6, buf, p, fh - p, nhOff - p, buf[fh]!, fh + 8, dEnd - fh - 8, offset, mf, t);
  }

  /** End of capture: queues still open are incomplete (their fragments never reach conntrack). */
  finish(): void {
    for (let fam = FAM_V4; fam <= FAM_V6; fam++) {
      while (this.ageHead[fam]! !== NONE) {
        this.stats.incomplete++;
        this.kill(this.ageHead[fam]!);
      }
    }
  }

  private hash(fam: number): number {
    let h = fam * 0x9e3779b1;
    for (let k = 0; k < 4; k++) {
      h = Math.imul(h ^ this.kSrc[k]!, 0x85ebca6b);
      h = Math.imul(h ^ this.kDst[k]!, 0xc2b2ae35);
    }
    h = Math.imul(h ^ this.kId, 0x27d4eb2f) ^ this.kProto;
    return (h ^ (h >>> 15)) & (BUCKETS - 1);
  }

  private find(fam: number, h: number): number {
    for (let s = this.bucket[h]!; s !== NONE; s = this.sHashNext[s]!) {
      if (this.sFam[s] !== fam || this.sId[s] !== this.kId) continue;
      if (fam === FAM_V4 && this.sProto[s] !== this.kProto) continue;
      const a = s * 4;
      if (
        this.sSrc[a] === this.kSrc[0] &&
        this.sSrc[a + 1] === this.kSrc[1] &&
        this.sSrc[a + 2] === this.kSrc[2] &&
        this.sSrc[a + 3] === this.kSrc[3] &&
        this.sDst[a] === this.kDst[0] &&
        this.sDst[a + 1] === this.kDst[1] &&
        this.sDst[a + 2] === this.kDst[2] &&
        this.sDst[a + 3] === this.kDst[3]
      )
        return s;
    }
    return NONE;
  }

  /** Timer expiry (ip_expire / nf_ct_frag6_expire) of queues created at least `timeout` before t. */
  private expire(t: number): void {
    for (let fam = FAM_V4; fam <= FAM_V6; fam++) {
      const to = fam === FAM_V4 ? this.o.timeoutV4 : this.o.timeoutV6;
      let s = this.ageHead[fam]!;
      while (s !== NONE && t - this.sCreated[s]! >= to) {
        this.stats.timeouts++;
        this.kill(s);
        s = this.ageHead[fam]!;
      }
    }
  }

  private create(fam: number, h: number, t: number): number {
    const s = this.freeSet;
    if (s === NONE) return NONE;
    this.freeSet = this.sHashNext[s]!;
    this.setsUsed++;
    this.sFam[s] = fam;
    const a = s * 4;
    for (let k = 0; k < 4; k++) {
      this.sSrc[a + k] = this.kSrc[k]!;
      this.sDst[a + k] = this.kDst[k]!;
    }
    this.sId[s] = this.kId;
    this.sProto[s] = this.kProto;
    this.sCreated[s] = t;
    this.sFlags[s] = 0;
    this.sLen[s] = 0;
    this.sMeat[s] = 0;
    this.sHdrLen[s] = 0;
    this.sFrag[s] = NONE;
    this.sRid[s] = 0;
    this.sHashNext[s] = this.bucket[h]!;
    this.sBucket[s] = h;
    this.bucket[h] = s;
    // Append to the family's creation-order list.
    const tail = this.ageTail[fam]!;
    this.sAgePrev[s] = tail;
    this.sAgeNext[s] = NONE;
    if (tail === NONE) this.ageHead[fam] = s;
    else this.sAgeNext[tail] = s;
    this.ageTail[fam] = s;
    return s;
  }

  /** inet_frag_kill + free: releases the queue's fragments and unlinks it. */
  private kill(s: number): void {
    for (let f = this.sFrag[s]!; f !== NONE; ) {
      const next = this.fNext[f]!;
      this.freeFragRecord(f);
      f = next;
    }
    this.sFrag[s] = NONE;
    const fam = this.sFam[s]!;
    const h = this.sBucket[s]!;
    let prev = NONE;
    for (let x = this.bucket[h]!; x !== NONE; x = this.sHashNext[x]!) {
      if (x === s) {
        if (prev === NONE) this.bucket[h] = this.sHashNext[s]!;
        else this.sHashNext[prev] = this.sHashNext[s]!;
        break;
      }
      prev = x;
    }
    const p = this.sAgePrev[s]!;
    const n = this.sAgeNext[s]!;
    if (p === NONE) this.ageHead[fam] = n;
    else this.sAgeNext[p] = n;
    if (n === NONE) this.ageTail[fam] = p;
    else this.sAgePrev[n] = p;
    this.sFam[s] = 0;
    this.sHashNext[s] = this.freeSet;
    this.freeSet = s;
    this.setsUsed--;
  }

  private freeFragRecord(f: number): void {
    for (let b = this.fBlock[f]!; b !== NONE; ) {
      const next = this.blockNext[b]!;
      this.blockNext[b] = this.freeBlock;
      this.freeBlock = b;
      this.blocksUsed--;
      b = next;
    }
    this.fNext[f] = this.freeFrag;
    this.freeFrag = f;
  }

  /** Kills the oldest queue other than `keep` (pool exhausted). Returns false if there is none. */
  private evictOldest(keep: number): boolean {
    let victim = NONE;
    let best = Number.POSITIVE_INFINITY;
    for (let fam = FAM_V4; fam <= FAM_V6; fam++) {
      let s = this.ageHead[fam]!;
      if (s === keep) s = this.sAgeNext[s]!;
      if (s !== NONE && this.sCreated[s]! < best) {
        best = this.sCreated[s]!;
        victim = s;
      }
    }
    if (victim === NONE) return false;
    this.stats.evicted++;
    this.kill(victim);
    return true;
  }

  private add(
    fam: number,
    buf: Uint8Array,
    hStart: number,
    hLen: number,
    nhRel: number,
    nextHdr: number,
    dStart: number,
    dLen: number,
    offset: number,
    mf: boolean,
    t: number,
  ): number {
    this.expire(t);
    const h = this.hash(fam);
    let s = this.find(fam, h);
    if (s === NONE) {
      if (this.memUsed > this.o.highThresh) {
        this.stats.refused++;
        return FRAG_DROPPED;
      }
      s = this.create(fam, h, t);
      if (s === NONE) {
        this.stats.refused++;
        return FRAG_DROPPED;
      }
    }
    if (fam === FAM_V4 && this.o.maxDist > 0) this.tooFar(s, t);
    let end = offset + dLen;
    const v6 = fam === FAM_V6;
    // nf_ct_frag6_queue: "offset is too large" drops the fragment only.
    if (v6 && end > 65535) return this.err(s);
    // ip_frag_queue / nf_ct_frag6_queue end checks: IPv4 kills the queue (discard_qp), IPv6 drops the
    // fragment (goto err).
    if (!mf) {
      if (end < this.sLen[s]! || ((this.sFlags[s]! & 2) !== 0 && end !== this.sLen[s])) {
        return v6 ? this.err(s) : this.bad(s);
      }
      this.sFlags[s] = this.sFlags[s]! | 2;
      this.sLen[s] = end;
    } else {
      if ((end & 7) !== 0) {
        if (v6) {
          // RFC 8200 parameter problem: queue killed, -EPROTO -> the fragment continues unreassembled.
          this.stats.passed++;
          this.kill(s);
          return FRAG_PASS;
        }
        end &= ~7; // IPv4 trims to a multiple of 8
      }
      if (end > this.sLen[s]!) {
        if ((this.sFlags[s]! & 2) !== 0) return v6 ? this.err(s) : this.bad(s);
        this.sLen[s] = end;
      }
    }
    if (end === offset) return v6 ? this.err(s) : this.bad(s);
    // ip_frag_reasm "Oversized IP packet": header + data beyond 65535.
    if (!v6 && end + 20 > 65535) return this.bad(s);
    // inet_frag_queue_insert: duplicate or overlap.
    for (let f = this.sFrag[s]!; f !== NONE; f = this.fNext[f]!) {
      const fo = this.fOff[f]!;
      const fe = this.fEnd[f]!;
      if (end <= fo || offset >= fe) continue;
      if (offset >= fo && end <= fe) {
        this.stats.duplicates++;
        return FRAG_DROPPED;
      }
      return this.bad(s);
    }
    if (offset === 0) {
      if (hLen > HDR_ROOM) return this.bad(s);
      this.sFlags[s] = this.sFlags[s]! | 1;
      copyBytes(buf, hStart, this.sHdr, s * HDR_ROOM, hLen);
      this.sHdrLen[s] = hLen;
      this.sNh[s] = nhRel;
      this.sNextHdr[s] = nextHdr;
    }
    // Store the bytes: blocks from the pool (evict oldest other queues if it is exhausted).
    const len = end - offset;
    const need = Math.ceil(len / BLOCK);
    while (this.blocksUsed + need > this.blockNext.length || this.freeFrag === NONE) {
      if (!this.evictOldest(s)) return this.bad(s);
    }
    const f = this.freeFrag;
    this.freeFrag = this.fNext[f]!;
    this.fOff[f] = offset;
    this.fEnd[f] = end;
    let prevB = NONE;
    let copied = 0;
    for (let k = 0; k < need; k++) {
      const b = this.freeBlock;
      this.freeBlock = this.blockNext[b]!;
      this.blockNext[b] = NONE;
      this.blocksUsed++;
      if (prevB === NONE) this.fBlock[f] = b;
      else this.blockNext[prevB] = b;
      prevB = b;
      const n = Math.min(len - copied, BLOCK);
      copyBytes(buf, dStart + copied, this.pool, b * BLOCK, n);
      copied += n;
    }
    if (need === 0) this.fBlock[f] = NONE;
    this.fNext[f] = this.sFrag[s]!;
    this.sFrag[s] = f;
    this.sMeat[s] = this.sMeat[s]! + len;
    if (this.sFlags[s] === 3 && this.sMeat[s] === this.sLen[s]) {
      this.reasm(fam, s);
      this.stats.reassembled++;
      this.kill(s);
      return FRAG_DONE;
    }
    return FRAG_HELD;
  }

  /** Fragment dropped, queue kept (an empty new queue is freed: the kernel's would just time out unused). */
  private err(s: number): number {
    this.stats.dropped++;
    if (this.sFrag[s] === NONE && this.sFlags[s] === 0) this.kill(s);
    return FRAG_DROPPED;
  }

  /** ip_frag_too_far + ip_frag_reinit: empties the queue (timer re-armed) when its source is too chatty. */
  private tooFar(s: number, t: number): void {
    const src = this.kSrc[0]!;
    let k = Math.imul(src, 0x9e3779b1) >>> 19; // 13 bits
    let probes = 0;
    while (this.peerUsed[k] === 1 && this.peerKey[k] !== src) {
      if (++probes === 32) return; // table crowded: behave as if inet_getpeer failed
      k = (k + 1) & (PEERS - 1);
    }
    this.peerUsed[k] = 1;
    this.peerKey[k] = src;
    const start = this.sRid[s]!;
    const end = (this.peerRid[k]! + 1) >>> 0;
    this.peerRid[k] = end;
    this.sRid[s] = end;
    if (this.sFrag[s] === NONE || (end - start) >>> 0 <= this.o.maxDist) return;
    this.stats.reinit++;
    for (let f = this.sFrag[s]!; f !== NONE; ) {
      const next = this.fNext[f]!;
      this.freeFragRecord(f);
      f = next;
    }
    this.sFrag[s] = NONE;
    this.sFlags[s] = 0;
    this.sLen[s] = 0;
    this.sMeat[s] = 0;
    this.sHdrLen[s] = 0;
    // mod_timer(jiffies + timeout): the queue now dies `timeout` after this fragment; keep the age list in
    // expiry order by moving it to the tail.
    this.sCreated[s] = t;
    const fam = this.sFam[s]!;
    const p = this.sAgePrev[s]!;
    const n = this.sAgeNext[s]!;
    if (n === NONE) return;
    if (p === NONE) this.ageHead[fam] = n;
    else this.sAgeNext[p] = n;
    this.sAgePrev[n] = p;
    const tail = this.ageTail[fam]!;
    this.sAgeNext[tail] = s;
    this.sAgePrev[s] = tail;
    this.sAgeNext[s] = NONE;
    this.ageTail[fam] = s;
  }

  private bad(s: number): number {
    this.stats.bad++;
    this.kill(s);
    return FRAG_DROPPED;
  }

  /** ip_frag_reasm / nf_ct_frag6_reasm: header of the first fragment + all data, lengths fixed up. */
  private reasm(fam: number, s: number): void {
    const hLen = this.sHdrLen[s]!;
    const start = HDR_ROOM - hLen;
    copyBytes(this.sHdr, s * HDR_ROOM, this.out, start, hLen);
    for (let f = this.sFrag[s]!; f !== NONE; f = this.fNext[f]!) {
      let dst = HDR_ROOM + this.fOff[f]!;
      let left = this.fEnd[f]! - this.fOff[f]!;
      for (let b = this.fBlock[f]!; b !== NONE && left > 0; b = this.blockNext[b]!) {
        const n = Math.min(left, BLOCK);
        copyBytes(this.pool, b * BLOCK, this.out, dst, n);
        dst += n;
        left -= n;
      }
    }
    const len = this.sLen[s]!;
    const o = this.out;
    if (fam === FAM_V4) {
      const tot = hLen + len;
      o[start + 2] = tot >>> 8;
      o[start + 3] = tot & 0xff;
      o[start + 6] = o[start + 6]! & 0x40; // keep DF, clear MF and offset
      o[start + 7] = 0;
    } else {
      const pl = hLen - 40 + len;
      o[start + 4] = pl >>> 8;
      o[start + 5] = pl & 0xff;
      o[start + this.sNh[s]!] = this.sNextHdr[s]!;
    }
    this.outStart = start;
    this.outLen = hLen + len;
  }
}
