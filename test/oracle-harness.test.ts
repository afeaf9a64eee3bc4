/**
 * The harness against the reference tool: the same capture through ctreplay's kernel half (engine/oracle)
 * and through ../shared/kernel-oracle/kernel-oracle.sh must give the same kernel table (tuples, state,
 * flags; remaining timeouts within 1 s: both inject as fast as possible, so timeouts are fresh) and the same
 * conntrack -S counters.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { which } from "../engine/oracle/exec.js";
import { OracleError, runKernel } from "../engine/oracle/kernel.js";
import { type PyJson, pyJsonDumps } from "../engine/oracle/pyjson.js";
import type { OracleEntry } from "../engine/oracle/table.js";
import { capturesDir, koDir, oracleUnavailable } from "./oracle-helpers.js";

const koSh = path.join(koDir, "kernel-oracle.sh");
let why = await oracleUnavailable();
if (!why && !existsSync(koSh)) why = `${koSh} is absent`;
if (!why && !existsSync(capturesDir)) why = `${capturesDir} is absent`;
if (!why && !existsSync("/usr/bin/python3") && !which("python3"))
  why = "python3 (for kernel-oracle.sh) is absent";
if (why) console.log(`oracle-harness: skipped: ${why}`);

// captures whose link layers both tools strip the same way (kernel-oracle.sh does not decode MPLS/PPPoE)
const CAPTURES = ["quic-icmp-unreach-v4v6.pcapng", "tcp-syn-scan.pcap", "ip46-frag-udp-dns.pcap"];
const work = mkdtempSync(path.join(os.tmpdir(), "ctreplay-oracle-harness-"));

// key order independent (ours are built in wire order, theirs come from sorted JSON)
const key = (e: OracleEntry) => pyJsonDumps([e.l3num, e.proto, e.orig, e.reply, e.state, e.flags] as PyJson);

describe.skipIf(why !== null)("engine/oracle vs kernel-oracle.sh", () => {
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  for (const c of CAPTURES) {
    it(c, async () => {
      const ours = await runKernel({
        capture: path.join(capturesDir, c),
        outDir: path.join(work, `ours-${c}`),
      });
      if (ours instanceof OracleError) throw new Error(ours.message);
      const koOut = path.join(work, `ko-${c}`);
      const r = spawnSync("bash", [koSh, path.join(capturesDir, c), koOut], {
        encoding: "utf8",
        timeout: 120_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const theirs = readFileSync(path.join(koOut, "table.jsonl"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as OracleEntry);
      expect(ours.entries.length).toBeGreaterThan(0);
      expect(ours.entries.map(key).sort()).toEqual(theirs.map(key).sort());
      const t = new Map(theirs.map((e) => [key(e), e.timeout]));
      for (const e of ours.entries) expect(Math.abs(e.timeout - t.get(key(e))!)).toBeLessThanOrEqual(1);
      const koS = JSON.parse(readFileSync(path.join(koOut, "conntrack-S.json"), "utf8")) as {
        total: Record<string, number>;
      };
      for (const n of ["invalid", "error", "drop", "early_drop", "insert_failed"]) {
        expect(ours.stats.total[n], n).toBe(koS.total[n]);
      }
    }, 120_000);
  }
});
