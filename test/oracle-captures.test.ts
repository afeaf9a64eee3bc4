/**
 * Differential test over every capture in ../shared/captures: the real kernel's conntrack table and counters
 * (private netns on this host) vs ctreplay's replay of the same timeline. Every difference must be a known gap
 * with its kernel reason (test/oracle-known-gaps.json). Also checks that the normalized kernel table is byte
 * for byte what the kernel-oracle tool's own parser (ko_parse.py) writes for the same `conntrack -L` text.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatDifference } from "../engine/oracle/compare.js";
import { which } from "../engine/oracle/exec.js";
import { OracleError } from "../engine/oracle/kernel.js";
import { cliMain } from "../engine/oracle/model.js";
import { type VerifyResult, verifyCapture } from "../engine/oracle/verify.js";
import { capturesDir, koDir, listCaptures, oracleUnavailable, repoRoot } from "./oracle-helpers.js";

interface KnownGaps {
  skip: Record<string, string>;
  gaps: Record<string, Record<string, string>>;
}
const known = JSON.parse(
  readFileSync(path.join(repoRoot, "test/oracle-known-gaps.json"), "utf8"),
) as KnownGaps;

const main = path.join(repoRoot, "dist/engine/cli/main.js");
let why = await oracleUnavailable();
if (!why && !existsSync(capturesDir)) why = `${capturesDir} is absent`;
if (!why && !existsSync(main)) why = "dist/ is not built (npm run build)";
if (!why) {
  try {
    execFileSync(process.execPath, [main, "replay", "--help"], { stdio: "ignore" });
  } catch {
    why = "`ctreplay replay` is not available";
  }
}
if (why) console.log(`oracle-captures: skipped: ${why}`);
const koParse = path.join(koDir, "ko_parse.py");
const python = which("python3");

const work = path.join(os.tmpdir(), `ctreplay-oracle-captures-${process.pid}`);

/** "<kind>: <id>" for every difference, the known-gaps key. */
function keys(r: VerifyResult): string[] {
  return r.differences.map((d) => `${d.kind}: ${d.id}`);
}

async function check(capture: string, fix: boolean): Promise<VerifyResult> {
  const name = `${capture}${fix ? "+fix" : ""}`;
  const outDir = path.join(work, name);
  const r = await verifyCapture({ capture: path.join(capturesDir, capture), outDir, fixChecksums: fix });
  if (r instanceof OracleError) throw new Error(`${name}: ${r.message}`);
  const gaps = known.gaps[name] ?? {};
  const unknown = r.differences.filter((d) => !(`${d.kind}: ${d.id}` in gaps)).map(formatDifference);
  const stale = Object.keys(gaps).filter((k) => !keys(r).includes(k));
  console.log(
    `oracle ${name}: ${r.table.identical} of ${r.table.kernelEntries} entries identical, ` +
      `${r.differences.length} differences (${r.differences.length - unknown.length} known gaps)` +
      (stale.length ? `; known gaps that no longer occur: ${stale.join(" | ")}` : ""),
  );
  expect(unknown).toEqual([]);
  expect(stale, 'known gaps that no longer occur: move them to "fixed" in oracle-known-gaps.json').toEqual(
    [],
  );
  // The kernel half's normalization equals the kernel-oracle tool's, byte for byte.
  if (python && existsSync(koParse)) {
    const ko = path.join(outDir, "ko_parse.jsonl");
    execFileSync(python, ["-I", koParse, "table", path.join(outDir, "table.txt"), ko], { stdio: "ignore" });
    expect(readFileSync(path.join(outDir, "table.jsonl"), "utf8")).toBe(readFileSync(ko, "utf8"));
  }
  // Every packet the capture holds as IPv4/IPv6 was written to the kernel.
  expect(r.kernel.inject.injected).toBe(r.kernel.input!.written);
  // The table dump and nf_conntrack_count agree (nothing was left unconfirmed or expired in between).
  expect(r.kernel.entries.length).toBe(r.kernel.count);
  return r;
}

describe.skipIf(why !== null)("ctreplay vs the kernel over ../shared/captures", () => {
  beforeAll(() => mkdirSync(work, { recursive: true }));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  for (const capture of listCaptures()) {
    const skip = known.skip[capture];
    if (skip) {
      it.skip(`${capture} (${skip.slice(0, 80)}...)`, () => {});
      continue;
    }
    it(capture, async () => {
      const r = await check(capture, false);
      // Captures with bad checksums (taken with TX offload) are checked once more with --fix-checksums,
      // where the packets the kernel ignored above really create and drive entries.
      if ((r.kernel.input?.csum.bad ?? 0) > 0) await check(capture, true);
      expect(cliMain()).toBe(main);
    }, 120_000);
  }
});

/** Non-default conntrack sysctls, applied to both sides: the kernel in its namespace, ctreplay via --sysctl. */
const SYSCTL_CASES: [string, [string, string]][] = [
  ["tcp-midstream-missing-syn.pcap", ["net.netfilter.nf_conntrack_tcp_loose", "0"]], // no mid-stream pickup
  ["mixed-wireshark-samples-ns.pcapng", ["net.netfilter.nf_conntrack_tcp_loose", "0"]],
  ["vlan-qinq-tcp-retrans.pcap", ["net.netfilter.nf_conntrack_tcp_be_liberal", "1"]],
  ["quic-icmp-unreach-v4v6.pcapng", ["net.netfilter.nf_conntrack_udp_timeout", "10"]],
];

describe.skipIf(why !== null)("ctreplay vs the kernel with non-default sysctls", () => {
  beforeAll(() => mkdirSync(work, { recursive: true }));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  for (const [capture, kv] of SYSCTL_CASES) {
    it(`${capture} ${kv.join("=")}`, async () => {
      const r = await verifyCapture({
        capture: path.join(capturesDir, capture),
        outDir: path.join(work, `${capture}-${kv[0]}`),
        fixChecksums: true,
        sysctls: [kv],
      });
      if (r instanceof OracleError) throw new Error(r.message);
      expect(r.kernel.settings[kv[0].replace("net.netfilter.", "")]).toBe(kv[1]); // really applied in the netns
      expect(r.differences.map(formatDifference)).toEqual([]);
    }, 120_000);
  }
});
