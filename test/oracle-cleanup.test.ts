/**
 * Cleanup guarantees of a kernel run: a run killed mid-injection (SIGTERM, SIGINT) leaves no namespace, no
 * TUN device and no changed nf_conntrack_max behind, and releases its lock; a SIGKILLed run (which cannot
 * clean up) is cleaned up by the next run (stale namespace sweep, saved original nf_conntrack_max).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OracleError, runKernel } from "../engine/oracle/kernel.js";
import { acquireLock } from "../engine/oracle/lock.js";
import { listOracleNetns, MAX_STATE_FILE } from "../engine/oracle/netns.js";
import { oracleUnavailable, repoRoot, writeUdpFlows } from "./oracle-helpers.js";

const distKernel = path.join(repoRoot, "dist/engine/oracle/kernel.js");
let why = await oracleUnavailable();
if (!why && !existsSync(distKernel)) why = "dist/ is not built (npm run build)";
if (why) console.log(`oracle-cleanup: skipped: ${why}`);

const MAX = "/proc/sys/net/netfilter/nf_conntrack_max";
const work = path.join(os.tmpdir(), `ctreplay-oracle-cleanup-${process.pid}`);
const readMax = () => Number(readFileSync(MAX, "utf8"));
/** The child's nf_conntrack_max: a fixed value (other runs in parallel may change the global meanwhile). */
const RUN_MAX = 777_777;

/** A child process doing a run with --max and capture pacing (4 s of injection); resolves once injecting. */
function startRun(outDir: string): {
  child: ChildProcess;
  injecting: Promise<void>;
  exited: Promise<string>;
} {
  const script = path.join(work, "run.mjs");
  writeFileSync(
    script,
    `import { runKernel } from ${JSON.stringify(distKernel)};
const r = await runKernel({ rawInput: process.argv[2], outDir: process.argv[3], max: Number(process.argv[4]), speed: 1,
  onStage: (s) => { process.stdout.write("STAGE " + s + "\\n"); } });
process.stdout.write(r.message ? "ERROR " + r.message + "\\n" : "DONE\\n");
`,
  );
  const child = spawn(process.execPath, [script, path.join(work, "slow.pcap"), outDir, String(RUN_MAX)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const injecting = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("STAGE inject")) resolve();
    });
    child.on("close", () => reject(new Error(`run ended before injecting: ${out}`)));
  });
  const exited = new Promise<string>((resolve) =>
    child.on("close", (code, signal) => resolve(signal ?? `exit ${code}`)),
  );
  return { child, injecting, exited };
}

/** The original nf_conntrack_max the running child saved before changing it (other tools on this machine may
 *  run with their own --max between our runs, so a value read at the start of the file would be racy). */
function savedOriginal(): number {
  return Number(readFileSync(MAX_STATE_FILE, "utf8").trim().split(/\s+/)[0]);
}

/** nf_conntrack_max is back to the original and no saved value of the killed run is left. Another run (a
 *  parallel test file) may hold the lock right after ours with its own --max: then its own state is there. */
function expectRestored(original: number, pid: number | undefined): void {
  const now = readMax();
  if (!existsSync(MAX_STATE_FILE)) {
    expect(now).toBe(original);
    return;
  }
  expect(now).not.toBe(RUN_MAX);
  expect(Number(readFileSync(MAX_STATE_FILE, "utf8").trim().split(/\s+/)[1])).not.toBe(pid);
}

function ownedBy(pid: number | undefined): string[] {
  return listOracleNetns().filter((n) => n.startsWith(`ctr-${pid}-`));
}

async function lockIsFree(): Promise<boolean> {
  const l = await acquireLock("exclusive", { timeoutSec: 10 });
  if (typeof l === "string") return false;
  await l.release();
  return true;
}

describe.skipIf(why !== null)("kernel run cleanup", () => {
  beforeAll(() => {
    mkdirSync(work, { recursive: true });
    // 200 packets 20 ms apart: 4 s of paced injection, time enough to kill the run in the middle
    writeUdpFlows(path.join(work, "slow.pcap"), 200, { spacingNs: 20_000_000 });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    it(`${sig} in the middle of injection leaves no namespace, device or sysctl behind`, async () => {
      const run = startRun(path.join(work, sig));
      await run.injecting;
      await new Promise((r) => setTimeout(r, 500));
      expect(ownedBy(run.child.pid)).toHaveLength(1); // the run was really in progress
      const original = savedOriginal();
      expect(readMax()).toBe(RUN_MAX);
      run.child.kill(sig);
      expect(await run.exited).toBe(sig); // cleaned up, then died of the signal
      expect(ownedBy(run.child.pid)).toEqual([]);
      expect(existsSync("/sys/class/net/ctr0")).toBe(false); // the TUN device did not fall back to init_net
      expectRestored(original, run.child.pid);
      expect(await lockIsFree()).toBe(true);
    }, 30_000);
  }

  it("a run that fails half-way (a sysctl the namespace rejects) returns the error and leaves nothing", async () => {
    const r = await runKernel({
      rawInput: path.join(work, "slow.pcap"),
      outDir: path.join(work, "fail"),
      max: RUN_MAX,
      sysctls: [["net.netfilter.nf_conntrack_no_such_sysctl", "1"]],
    });
    expect(r).toBeInstanceOf(OracleError);
    expect((r as OracleError).kind).toBe("input");
    expect((r as OracleError).message).toContain("nf_conntrack_no_such_sysctl");
    expect(listOracleNetns().filter((n) => n.startsWith(`ctr-${process.pid}-`))).toEqual([]);
    expect(readMax()).not.toBe(RUN_MAX);
  }, 30_000);

  it("a SIGKILLed run's namespace and nf_conntrack_max are cleaned up by the next run", async () => {
    const run = startRun(path.join(work, "kill"));
    await run.injecting;
    const original = savedOriginal();
    run.child.kill("SIGKILL");
    await run.exited;
    // nothing could run in the killed process: its leftovers are there
    expect(ownedBy(run.child.pid)).toHaveLength(1);
    expect(readMax()).toBe(RUN_MAX);
    expect(await lockIsFree()).toBe(true); // the lock died with it
    const r = await runKernel({ rawInput: path.join(work, "slow.pcap"), outDir: path.join(work, "next") });
    if (r instanceof OracleError) throw new Error(r.message);
    expect(ownedBy(run.child.pid)).toEqual([]);
    expect(listOracleNetns().filter((n) => n.startsWith(`ctr-${process.pid}-`))).toEqual([]);
    expectRestored(original, run.child.pid);
  }, 30_000);
});
