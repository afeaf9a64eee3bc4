/**
 * Protocol number -> tracker (the kernel's nf_ct_l4proto_find). Protocols without a dedicated tracker use
 * the generic one, as in the kernel.
 */
import type { L4Tracker } from "./l4proto.js";
import { genericTracker } from "./proto-generic.js";
import { greTracker } from "./proto-gre.js";
import { icmpTracker } from "./proto-icmp.js";
import { icmpv6Tracker } from "./proto-icmpv6.js";
import { sctpTracker } from "./proto-sctp.js";
import { tcpTracker } from "./proto-tcp.js";
import { udpliteTracker, udpTracker } from "./proto-udp.js";

/** Dedicated trackers, placed by their protocol number. */
const DEDICATED: readonly L4Tracker[] = [
  tcpTracker,
  udpTracker,
  udpliteTracker,
  icmpTracker,
  icmpv6Tracker,
  greTracker,
  sctpTracker,
];

/** 256 entries, one per IP protocol number. */
export const TRACKERS: readonly L4Tracker[] = (() => {
  const t: L4Tracker[] = new Array<L4Tracker>(256).fill(genericTracker);
  for (const tr of DEDICATED) t[tr.protonum] = tr;
  return t;
})();

export function trackerFor(protonum: number): L4Tracker {
  return TRACKERS[protonum & 0xff]!;
}

/** conntrack -L protocol names (libnetfilter_conntrack's proto table); "unknown" otherwise. */
const L4_NAMES: Record<number, string> = {
  1: "icmp",
  6: "tcp",
  17: "udp",
  33: "dccp",
  47: "gre",
  58: "icmpv6",
  132: "sctp",
  136: "udplite",
};

export function l4Name(protonum: number): string {
  return L4_NAMES[protonum] ?? "unknown";
}
