/** Decode stage: capture records -> PacketBatch rows as nf_conntrack_in sees them (after nf_defrag). */
export { type DecodeOptions, Decoder } from "./decoder.js";
export { Defrag, type DefragOptions, DefragStats } from "./defrag.js";
export { DecodeStats, protoName, SKIP_REASONS } from "./stats.js";
