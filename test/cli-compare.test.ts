import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { register } from "../engine/cli/commands/compare.js";
import { runCli } from "./cli-helpers.js";

const captures = path.resolve(import.meta.dirname, "../../shared/captures");
const have = existsSync(captures);
if (!have) console.log(`cli-compare: skipped: ${captures} absent`);
const scan = path.join(captures, "tcp-syn-scan.pcap");
const dir = mkdtempSync(path.join(tmpdir(), "ctreplay-compare-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface CompareJson {
  schema: string;
  profiles: string[];
  rows: { metric: string; values: number[]; deltas: number[] }[];
  runs: {
    label: string;
    counters: Record<string, number>;
    timeline: { t: number; live: number; expired: number }[];
  }[];
}

describe.skipIf(!have)("ctreplay compare", () => {
  const short = path.join(dir, "short-syn.conf");
  writeFileSync(short, "# short SYN_SENT timeout\nnet.netfilter.nf_conntrack_tcp_timeout_syn_sent = 10\n");
  const long = path.join(dir, "long-syn.conf");
  writeFileSync(long, "net.netfilter.nf_conntrack_tcp_timeout_syn_sent = 600\n");

  it("runs each profile, with deltas against the first, and the profile's effect shows", async () => {
    const html = path.join(dir, "c.html");
    const r = await runCli(register, [
      "compare",
      scan,
      "--profile",
      long,
      "--profile",
      short,
      "--json",
      "--html",
      html,
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as CompareJson;
    expect(j.schema).toBe("ctreplay.compare/1");
    expect(j.profiles).toEqual(["long-syn", "short-syn"]);
    for (const row of j.rows) {
      expect(row.deltas[0]).toBe(0);
      expect(row.deltas[1]).toBe(row.values[1]! - row.values[0]!);
    }
    const get = (m: string) => j.rows.find((x) => x.metric === m)!;
    // the scan's half-open entries outlive a 10 s SYN_SENT timeout within the 23 s capture, not a 600 s one
    expect(get("expiredAtEnd").values[0]).toBe(0);
    expect(get("expiredAtEnd").values[1]).toBeGreaterThan(1000);
    expect(get("liveAtEnd").deltas[1]).toBeLessThan(-1000);
    // same packets, same entries created: only the timeouts differ
    expect(get("new").deltas[1]).toBe(0);
    const page = readFileSync(html, "utf8");
    expect(page).toContain('data-series="long-syn"');
    expect(page).toContain('data-series="short-syn"');
  });

  it("one profile is compared with the kernel defaults; text table shows deltas", async () => {
    const r = await runCli(register, ["compare", scan, "--profile", short]);
    expect(r.code).toBe(0);
    const head = r.stdout.split("\n").find((l) => l.includes("defaults"))!;
    expect(head.trim().split(/\s+/)).toEqual(["defaults", "short-syn"]);
    expect(r.stdout).toMatch(/^expiredAtEnd\s+0\s+[\d,]+ \(\+[\d,]+\)$/m);
  });

  it("bad profile or no profile is exit 2 with the file and line", async () => {
    const bad = path.join(dir, "bad.conf");
    writeFileSync(bad, "net.netfilter.nf_conntrack_tcp_timeout_syn_sent = soon\n");
    const r = await runCli(register, ["compare", scan, "--profile", bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:1`);
    expect((await runCli(register, ["compare", scan])).code).toBe(2);
  });
});
