/** Differential testing against the host kernel's nf_conntrack (root only): public API of the oracle. */
export {
  type Comparison,
  compareCounters,
  compareTables,
  type Difference,
  entryId,
  formatDifference,
} from "./compare.js";
export {
  type KernelStats,
  parseConntrackS,
  parseProcStat,
  parseSlabinfo,
  type SlabLine,
} from "./counters.js";
export { type KernelRun, type KernelRunOptions, OracleError, oraclePreflight, runKernel } from "./kernel.js";
export { listOracleNetns, NETNS_PREFIX, parseSysctl } from "./netns.js";
export { RawPcapWriter, readRawPcap } from "./pcap-raw.js";
export { readSlabinfoLine, readSysfsSlab, settleSlab, shrinkSlab } from "./slab.js";
export { type OracleEntry, parseTable, toJsonLines } from "./table.js";
export { type VerifyOptions, type VerifyResult, verifyCapture } from "./verify.js";
