/** Decode stage: capture records -> PacketBatch rows as nf_conntrack_in sees them (after nf_defrag). */
export { type DecodeOptions, Decoder } from "./decoder.js";
export { Defrag, type DefragOptions, DefragStats } from "./defrag.js";
export { be16, be32, L3_V4, L3_V6, LinkLayer } from "./link.js";
export { DecodeStats, protoName, SKIP_REASONS, SKIP_UNSUPPORTED_LINKTYPE } from "./stats.js";
