/**
 * The TUN injector (tun-inject.c), compiled on first use with `cc -O2` into
 * os.tmpdir()/ctreplay-oracle-<hash of the source>/tun-inject. C, not Node: Node cannot ioctl(TUNSETIFF),
 * and a C write loop stamps CLOCK_REALTIME right before each write() without interpreter jitter.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { run, which } from "./exec.js";

/** Source next to this module: engine/oracle/tun-inject.c (dist/engine/oracle/*.js -> ../../../engine/oracle). */
export function injectorSource(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const p of [
    path.join(here, "tun-inject.c"),
    path.resolve(here, "../../../engine/oracle/tun-inject.c"),
  ]) {
    if (existsSync(p)) return p;
  }
  return null;
}

/** Path of the compiled injector, building it if needed; a string starting with "error:" when impossible. */
export async function buildInjector(): Promise<{ path: string } | { error: string }> {
  const src = injectorSource();
  if (!src) return { error: "tun-inject.c not found next to the oracle module" };
  const text = readFileSync(src);
  const hash = createHash("sha256").update(text).digest("hex").slice(0, 16);
  const dir = path.join(os.tmpdir(), `ctreplay-oracle-${hash}`);
  const bin = path.join(dir, "tun-inject");
  if (existsSync(bin)) return { path: bin };
  const cc = which("cc") ?? which("gcc") ?? which("clang");
  if (!cc) {
    return {
      error: "no C compiler (cc/gcc/clang) to build the TUN injector: install one (apt-get install gcc)",
    };
  }
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`; // workers may share a pid
  const r = await run(cc, ["-O2", "-o", tmp, src]);
  if (r.code !== 0) return { error: `building the TUN injector failed (${cc}): ${r.stderr.trim()}` };
  renameSync(tmp, bin); // atomic: concurrent builders never see a half-written binary
  return { path: bin };
}

export interface InjectSummary {
  frames: number;
  injected: number;
  write_errors: number;
  too_big: number;
  write_errno: Record<string, number>;
  mcast_joined: number;
  mcast_join_failed: number;
  /** CLOCK_REALTIME of the first / last write, ns since the epoch (strings: beyond 2^53). */
  wall_first_ns: string;
  wall_last_ns: string;
  seconds: number;
  /** Time spent waiting for the carrier-on (TUN fd attached) to reach the device's operstate (linkwatch). */
  carrier_wait_seconds: number;
  error?: string;
}
