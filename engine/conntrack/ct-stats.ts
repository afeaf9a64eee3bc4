/**
 * Conntrack counters: the kernel's struct ip_conntrack_stat fields with their 6.x meaning (what
 * `conntrack -S` prints), plus legacy /proc/net/stat/nf_conntrack columns and ctreplay's own breakdowns.
 */
export interface CtStatsCounters {
  /** Only NAT's nf_conntrack_tuple_taken counts this in 6.x: always 0 in a replay without NAT. */
  found: number;
  /** Unparsable L3/L4, tuple or inversion failure on new, L4 handler rejected the packet. */
  invalid: number;
  /** Legacy column, not incremented by 6.x. */
  ignore: number;
  /** ctnetlink inserts only: always 0 in a replay. */
  insert: number;
  /** Confirm failed: chaintoolong, dying entry, unresolvable clash. */
  insert_failed: number;
  /** Packet dropped by conntrack: table full, handler NF_DROP, clash drop. */
  drop: number;
  /** Entries deleted by early_drop() when the table was full. */
  early_drop: number;
  /** ICMP/ICMPv6 error path rejected the packet (short, bad checksum, bad type, no matching entry). */
  error: number;
  /** Concurrent-resize lookup restarts: never in a replay. */
  search_restart: number;
  clash_resolve: number;
  chaintoolong: number;
  /** ctreplay: entries confirmed (inserted into the table). */
  new: number;
  /** ctreplay: entries removed from the table for any reason. */
  delete: number;
  /** ctreplay: expired entries removed by the GC worker (or at expiry with --gc exact). */
  gc_reaped: number;
  /** ctreplay: expired entries removed lazily by a lookup/early_drop walking their chain. */
  lazy_reaped: number;
  /** ctreplay: entries killed by the GC's 95 % eviction after a table-full drop. */
  gc_evicted: number;
  /** ctreplay: packets left untracked by the kernel (ICMPv6 ND/MLD). */
  untracked: number;
  /** ctreplay: packets rejected because of a bad L4 checksum (part of invalid or error). */
  bad_checksum: number;
}

/** The counters `conntrack -S` prints, in its order. */
export const CONNTRACK_S_FIELDS = [
  "found",
  "invalid",
  "insert",
  "insert_failed",
  "drop",
  "early_drop",
  "error",
  "search_restart",
  "clash_resolve",
  "chaintoolong",
] as const;

export function newCtStats(): CtStatsCounters {
  return {
    found: 0,
    invalid: 0,
    ignore: 0,
    insert: 0,
    insert_failed: 0,
    drop: 0,
    early_drop: 0,
    error: 0,
    search_restart: 0,
    clash_resolve: 0,
    chaintoolong: 0,
    new: 0,
    delete: 0,
    gc_reaped: 0,
    lazy_reaped: 0,
    gc_evicted: 0,
    untracked: 0,
    bad_checksum: 0,
  };
}

/**
 * Packets by the ct state a rule right after conntrack would see (nft `ct state` at prerouting, like the
 * kernel oracle's ct_state_at_prerouting); packets dropped by conntrack are not counted.
 */
export interface CtStateCounters {
  new: number;
  est: number;
  rel: number;
  invalid: number;
  untracked: number;
}

export function newCtStateCounters(): CtStateCounters {
  return { new: 0, est: 0, rel: 0, invalid: 0, untracked: 0 };
}
