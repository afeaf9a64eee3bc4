/**
 * The slab-like record pool holding every struct nf_conn field ctreplay models, as typed arrays that can
 * live in SharedArrayBuffers (so a shard's table can be driven from a worker thread). An entry is an index
 * `ct` in [0, capacity). Allocation/free lists and the hash chains are kept by the table (table.ts).
 *
 * Tuple layout, TUPLE_WORDS words per tuplehash, two per entry (ORIGINAL at ct*2*TUPLE_WORDS, REPLY right
 * after): [src0..src3, dst0..dst3, sport << 16 | dport, l3num << 8 | protonum].
 */
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

export class CtStore {
  readonly capacity: number;
  /** IPS_* bits. */
  readonly status: Uint32Array;
  /** u32 jiffies: absolute expiry once confirmed, relative (the pending timeout) before confirm. */
  readonly timeout: Uint32Array;
  /** Protocol state (TCP_CONNTRACK_*, SCTP_CONNTRACK_*); 0 for stateless protocols. */
  readonly state: Uint8Array;
  /** L4 protocol number of the ORIGINAL tuple. */
  readonly l4proto: Uint8Array;
  /** Both tuples, TUPLE_WORDS each. */
  readonly tuple: Uint32Array;
  /** Per-protocol private words. */
  readonly proto: Uint32Array;

  constructor(capacity: number, shared = false) {
    this.capacity = capacity;
    const alloc = (bytes: number): ArrayBuffer | SharedArrayBuffer =>
      shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    this.status = new Uint32Array(alloc(capacity * 4));
    this.timeout = new Uint32Array(alloc(capacity * 4));
    this.state = new Uint8Array(alloc(capacity));
    this.l4proto = new Uint8Array(alloc(capacity));
    this.tuple = new Uint32Array(alloc(capacity * TUPLE_WORDS * 2 * 4));
    this.proto = new Uint32Array(alloc(capacity * PROTO_WORDS * 4));
  }

  /** Zeroes an entry's fields before reuse (the kernel memsets nf_conn's proto area on alloc). */
  reset(ct: number): void {
    this.status[ct] = 0;
    this.timeout[ct] = 0;
    this.state[ct] = 0;
    this.l4proto[ct] = 0;
    this.proto.fill(0, ct * PROTO_WORDS, (ct + 1) * PROTO_WORDS);
  }
}
