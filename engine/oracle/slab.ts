/**
 * The global nf_conntrack slab cache: reading it, waiting until entries of earlier namespaces are freed
 * (netns teardown frees them asynchronously in cleanup_net), and shrinking it so a measurement starts from
 * empty slabs.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseSlabinfo, type SlabLine, type SysfsSlab } from "./counters.js";

const SYSFS = "/sys/kernel/slab/nf_conntrack";

export function readSlabinfoLine(): SlabLine | null {
  try {
    return parseSlabinfo(readFileSync("/proc/slabinfo", "utf8"));
  } catch {
    return null;
  }
}

export function readSysfsSlab(dir = SYSFS): SysfsSlab {
  const out: SysfsSlab = {};
  for (const k of ["objects", "slabs", "objs_per_slab", "object_size", "slab_size", "order"] as const) {
    try {
      out[k] = Number(readFileSync(`${dir}/${k}`, "utf8").trim().split(/\s+/)[0]);
    } catch {
      // attribute absent (SLAB allocator or no sysfs)
    }
  }
  return out;
}

export function shrinkSlab(dir = SYSFS): boolean {
  try {
    writeFileSync(`${dir}/shrink`, "1\n");
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits until the nf_conntrack cache holds at most `maxObjects` objects (shrinking it on every poll), then
 * shrinks once more. Returns the objects left, or null when the timeout passed first.
 */
export async function settleSlab(maxObjects = 16, timeoutMs = 60_000): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    shrinkSlab();
    const o = readSysfsSlab().objects ?? readSlabinfoLine()?.activeObjs ?? 0;
    if (o <= maxObjects) {
      shrinkSlab();
      return o;
    }
    if (Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, 250));
  }
}
