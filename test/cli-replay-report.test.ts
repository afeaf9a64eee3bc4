import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { register } from "../engine/cli/commands/replay.js";
import { CSV_COLUMNS } from "../engine/report/csv.js";
import { runCli } from "./cli-helpers.js";

const captures = path.resolve(import.meta.dirname, "../../shared/captures");
const have = existsSync(captures);
if (!have) console.log(`cli-replay-report: skipped: ${captures} absent`);
const scan = path.join(captures, "tcp-syn-scan.pcap");
const dir = mkdtempSync(path.join(tmpdir(), "ctreplay-replay-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!have)("ctreplay replay report options", () => {
  it("--json is the only stdout, agrees with --stats, and the files agree with it", async () => {
    const csv = path.join(dir, "t.csv");
    const prom = path.join(dir, "m.prom");
    const r = await runCli(register, [
      "replay",
      scan,
      "--max",
      "1000",
      "--json",
      "--csv",
      csv,
      "--prometheus",
      prom,
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.schema).toBe("ctreplay.replay/1");
    expect(j.packets).toBe(2011);
    expect(j.peak.count).toBe(1000);
    expect(j.final).toBe(1000);
    // drop + early_drop account for every new flow beyond the limit that did not get in
    expect(j.counters.drop).toBeGreaterThan(0);
    expect(j.counters.early_drop).toBeGreaterThan(0);
    expect(j.memory).toMatchObject({ slabBytes: 63 * 4096, hashBytes: 262144 * 8, extBytes: 0 });
    const plain = await runCli(register, ["replay", scan, "--max", "1000", "--stats", "-q"]);
    for (const k of ["drop", "early_drop", "invalid", "insert_failed"]) {
      expect(plain.stdout).toContain(`${k}=${j.counters[k]}`);
    }
    const lines = readFileSync(csv, "utf8").trimEnd().split("\n");
    expect(lines[0]).toBe(CSV_COLUMNS.join(","));
    expect(lines.length - 1).toBe(j.timeline.length);
    const drops = lines.slice(1).reduce((a, l) => a + Number(l.split(",")[CSV_COLUMNS.indexOf("drop")]), 0);
    expect(drops).toBe(j.counters.drop);
    const text = readFileSync(prom, "utf8");
    expect(text).toMatch(new RegExp(`^node_nf_conntrack_stat_drop ${j.counters.drop}$`, "m"));
    expect(text).toMatch(/^node_nf_conntrack_entries_limit 1000$/m);
  });

  it("timeline rows agree with the table: entries by protocol = count, deltas add up to the counters", async () => {
    const echo = path.join(captures, "tcp-echo-many-connections.pcap.gz");
    const r = await runCli(register, ["replay", echo, "--json", "--interval", "1"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    type Row = {
      t: number;
      count: number;
      live: number;
      expired: number;
      byProto: Record<string, number>;
      tcpStates: Record<string, number>;
      new: number;
      delete: number;
    };
    const rows = j.timeline as Row[];
    for (const row of rows) {
      const protoSum = Object.values(row.byProto).reduce((a, b) => a + b, 0);
      expect(protoSum).toBe(row.count);
      expect(row.live + row.expired).toBe(row.count);
      expect(Object.values(row.tcpStates).reduce((a, b) => a + b, 0)).toBe(row.byProto.tcp);
    }
    expect(rows.reduce((a, x) => a + x.new, 0)).toBe(j.counters.new);
    expect(rows.reduce((a, x) => a + x.delete, 0)).toBe(j.counters.delete);
    expect(rows[rows.length - 1]!.count).toBe(j.final);
    for (let i = 2; i < rows.length - 1; i++) expect(rows[i]!.t - rows[i - 1]!.t).toBeCloseTo(1, 6);
  });

  it("--slabinfo with an ext-enabling sysctl changes the memory model; bad slabinfo is exit 2", async () => {
    const si = path.join(dir, "slabinfo");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(si, "nf_conntrack 0 0 320 25 2 : tunables 0 0 0 : slabdata 0 0 0\n");
    const r = await runCli(register, [
      "replay",
      scan,
      "--json",
      "--slabinfo",
      si,
      "--sysctl",
      "nf_conntrack_acct=1",
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.memory.slabBytes).toBe(Math.ceil(j.peak.count / 25) * 8192);
    expect(j.memory.extBytes).toBe(Math.ceil(j.peak.count / 32) * 4096);
    writeFileSync(si, "kmalloc-64 1 1 64 64 1\n");
    const bad = await runCli(register, ["replay", scan, "--json", "--slabinfo", si]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("nf_conntrack");
  });
});
