/** Conntrack core public API (see docs/conntrack.md). */
export { CtClock, jafterEq, jdiff } from "./clock.js";
export type { CtStateCounters, CtStatsCounters } from "./ct-stats.js";
export { CONNTRACK_S_FIELDS, newCtStats } from "./ct-stats.js";
export {
  conntrackSText,
  type DumpEntry,
  entryText,
  formatAddr,
  liveEntries,
  pyJson,
  tableJsonl,
  tableText,
} from "./dump.js";
export type { CtGc, GcMode } from "./gc.js";
export { Conntrack, type ConntrackOptions } from "./nf-conntrack-in.js";
export {
  type LoadedSettings,
  loadSettings,
  parseSysctlText,
  resolveInput,
  type SettingsInput,
  SysctlError,
  type SysctlProfile,
  UNMODELED_KEYS,
} from "./sysctl.js";
export { CtTable } from "./table.js";
export { l4Name, TRACKERS, trackerFor } from "./trackers.js";
