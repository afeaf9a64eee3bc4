/**
 * `ctreplay replay --threads/--shards` end to end: same dump and counters as one table, conntrack -S per
 * shard, and Ctrl-C (SIGINT) printing the partial result with no worker left behind. Needs `npm run build`.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCapture } from "../captures/generate.js";
import { register } from "../engine/cli/commands/replay.js";
import { runCli } from "./cli-helpers.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(repoRoot, "dist/engine/cli/main.js");
const worker = path.join(repoRoot, "dist/workers/shard-worker.js");
const capture = path.resolve(repoRoot, "../shared/captures/tcp-echo-many-connections.pcap.gz");
const ready = existsSync(cli) && existsSync(worker);
if (!ready) console.log("shard CLI tests skipped: run npm run build first");

describe.skipIf(!ready || !existsSync(capture))("ctreplay replay --threads/--shards", () => {
  it("prints the same table and summed counters as one table, and conntrack -S per shard", async () => {
    const one = await runCli(register, ["replay", capture, "--gc", "exact", "--dump-table", "-", "--stats"]);
    const many = await runCli(register, [
      "replay",
      capture,
      "--gc",
      "exact",
      "--dump-table",
      "-",
      "--stats",
      "--shards",
      "3",
      "--threads",
      "2",
    ]);
    expect(one.code).toBe(0);
    expect(many.code).toBe(0);
    const dump = (s: string): string[] => s.split("\n").filter((l) => l.startsWith("{"));
    expect(dump(one.stdout).length).toBeGreaterThan(100);
    expect(dump(many.stdout)).toEqual(dump(one.stdout));
    for (const cpu of [0, 1, 2]) expect(many.stdout).toMatch(new RegExp(`^cpu=${cpu} +\\tfound=`, "m"));
    expect(many.stdout).not.toMatch(/^cpu=3/m);
    const fields = (l: string): string => l.replace(/^.*?found=/, "found=").trim();
    const single = one.stdout.split("\n").find((l) => l.startsWith("cpu=0"))!;
    const sum = many.stdout.split("\n").find((l) => l.startsWith("# sum over 3 shards:"))!;
    expect(fields(sum)).toBe(fields(single));
    expect(many.stdout).toContain(
      "# sharded: 3 shards on 2 tracking threads (the main thread and 1 worker thread;",
    );
    const count = (s: string): string => /nf_conntrack_count: .*/.exec(s)![0];
    expect(count(many.stdout)).toBe(count(one.stdout));
  }, 120_000);
});

describe.skipIf(!ready || !existsSync(capture))(
  "ctreplay size --threads 2 (two replays on one worker thread)",
  () => {
    it("runs the forecast on the need's worker thread, gives what new threads give, and exits", async () => {
      // `size --max` replays twice; its replays share a ShardPool, closed when the command ends (an idle
      // pooled thread must not keep the process alive). The forecast alone, on new threads, must be the same.
      const run = async (args: string[]): Promise<{ code: number | null; out: string; err: string }> => {
        const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
        return { code, out, err };
      };
      const opts = ["--threads", "2", "--shards", "3", "--json"];
      const size = await run(["size", capture, "--max", "60", ...opts]);
      expect(size.err).toBe("");
      expect(size.code).toBe(0);
      const forecast = JSON.parse(size.out).forecast;
      expect(forecast.drop).toBeGreaterThan(0);
      const alone = await run(["replay", capture, "--max", "60", ...opts]);
      expect(alone.code).toBe(0);
      const r = JSON.parse(alone.out);
      expect(forecast.drop).toBe(r.counters.drop);
      expect(forecast.early_drop).toBe(r.counters.early_drop);
      expect(forecast.peak).toBe(r.peak.count);
    }, 120_000);
  },
);

describe.skipIf(!ready)("SIGINT during a sharded replay", () => {
  let dir = "";
  let file = "";
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "ctreplay-shard-cli-"));
    file = path.join(dir, "big.pcap");
    // Headers only: 3M packets in ~130 MB, several seconds of replay on any machine.
    const g = await generateCapture(file, {
      packets: 3_000_000,
      concurrent: 5000,
      seed: 3,
      headersOnly: true,
    });
    if (typeof g === "string") throw new Error(g);
  }, 120_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("stops reading, prints the partial summary, exits 130", async () => {
    const args = [cli, "replay", file, "--threads", "2", "--decode-threads", "2", "--stats"];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    await new Promise((r) => setTimeout(r, 1200));
    child.kill("SIGINT");
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    expect(stderr).toContain("interrupted");
    expect(code).toBe(130);
    expect(stdout).toContain("interrupted (SIGINT): partial result");
    const replayed = Number(/replayed packets: (\d+)/.exec(stdout)![1]);
    expect(replayed).toBeGreaterThan(0);
    expect(replayed).toBeLessThan(2_800_000);
    expect(stdout).toMatch(/^cpu=1 /m);
    expect(stdout).toContain("2 decode threads");
  }, 120_000);
});
