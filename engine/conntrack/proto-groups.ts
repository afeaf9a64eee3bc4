/** Protocol groups, as conntrack -L names them, and the map from protocol number to group. */
export const PROTO_NAMES = ["tcp", "udp", "udplite", "icmp", "icmpv6", "gre", "sctp", "other"] as const;
/** Protocol number -> index into PROTO_NAMES. */
export const PROTO_INDEX = new Uint8Array(256).fill(7);
PROTO_INDEX[6] = 0;
PROTO_INDEX[17] = 1;
PROTO_INDEX[136] = 2;
PROTO_INDEX[1] = 3;
PROTO_INDEX[58] = 4;
PROTO_INDEX[47] = 5;
PROTO_INDEX[132] = 6;
