/**
 * Serialization of oracle runs with flock(2) semantics, held by a `flock` child process: the lock is released
 * when we close the child's stdin, and also when this process dies in any way (the pipe closes, the child
 * exits), so a killed run never leaves a stale lock. Same file as the kernel-oracle tool, so both interoperate:
 * runs that change the global nf_conntrack_max (or measure the global slab) take it exclusively, all other
 * runs take it shared.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { childEnv } from "./exec.js";

export const ORACLE_LOCK_FILE = "/run/kernel-oracle.lock";

export interface OracleLock {
  readonly mode: "shared" | "exclusive";
  release(): Promise<void>;
  /** Synchronous best effort release (signal handlers). */
  releaseSync(): void;
}

export function acquireLock(
  mode: "shared" | "exclusive",
  opts: { file?: string; timeoutSec?: number } = {},
): Promise<OracleLock | string> {
  const file = opts.file ?? ORACLE_LOCK_FILE;
  const timeout = String(opts.timeoutSec ?? 600);
  return new Promise((resolve) => {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(
        "flock",
        [
          mode === "shared" ? "-s" : "-x",
          "-w",
          timeout,
          file,
          "sh",
          "-c",
          "echo locked; exec cat >/dev/null",
        ],
        { env: childEnv, stdio: ["pipe", "pipe", "pipe"] },
      );
    } catch (e) {
      resolve(`cannot run flock: ${(e as Error).message}`);
      return;
    }
    let settled = false;
    let err = "";
    child.stdin.on("error", () => {});
    child.stderr.on("data", (b: Buffer) => {
      err += b.toString();
    });
    child.on("error", (e) => {
      if (!settled) {
        settled = true;
        resolve(`cannot run flock (util-linux): ${e.message}`);
      }
    });
    const exited = new Promise<void>((r) => child.on("close", () => r()));
    child.on("close", (code) => {
      if (!settled) {
        settled = true;
        resolve(`could not lock ${file} (flock exit ${code}${err ? `: ${err.trim()}` : ""})`);
      }
    });
    child.stdout.on("data", (b: Buffer) => {
      if (settled || !b.toString().includes("locked")) return;
      settled = true;
      // The lock must not keep the event loop (or a parent test runner) alive on its own.
      child.unref();
      resolve({
        mode,
        release: async () => {
          child.stdin.end();
          await exited;
        },
        releaseSync: () => {
          // The lock fd is inherited by `cat`: it goes away when cat sees EOF on its stdin.
          child.stdin.destroy();
          try {
            child.kill("SIGKILL");
          } catch {
            // already gone
          }
        },
      });
    });
  });
}
