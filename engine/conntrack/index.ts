/** Conntrack core public API (see docs/conntrack.md). */
export { CtClock, jafterEq, jdiff } from "./clock.js";
export type { CtStateCounters, CtStatsCounters } from "./ct-stats.js";
export { CONNTRACK_S_FIELDS, newCtStats } from "./ct-stats.js";
export type { CtGc, GcMode } from "./gc.js";
export { Conntrack, type ConntrackOptions } from "./nf-conntrack-in.js";
export { CtTable } from "./table.js";
export { l4Name, TRACKERS, trackerFor } from "./trackers.js";
