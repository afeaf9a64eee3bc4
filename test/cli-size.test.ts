import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { register } from "../engine/cli/commands/size.js";
import { runCli } from "./cli-helpers.js";

const captures = path.resolve(import.meta.dirname, "../../shared/captures");
const have = existsSync(captures);
if (!have) console.log(`cli-size: skipped: ${captures} absent`);
const echo = path.join(captures, "tcp-echo-many-connections.pcap.gz");
const scan = path.join(captures, "tcp-syn-scan.pcap");
const dir = mkdtempSync(path.join(tmpdir(), "ctreplay-size-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface SizeJson {
  schema: string;
  packets: number;
  peak: { count: number; time: number };
  final: number;
  counters: Record<string, number>;
  memory: { peakBytes: number; slabBytes: number; extBytes: number; hashBytes: number };
  timeline: { t: number; count: number }[];
  recommended: { nf_conntrack_max: number; nf_conntrack_buckets: number; memoryBytes: number; need: number };
  comparison: { source: string; nf_conntrack_max: number }[];
  forecast: { max: number; firstFullAt: number | null; drop: number; early_drop: number } | null;
}

describe.skipIf(!have)("ctreplay size", () => {
  it("measures the need without a limit and recommends a max with headroom (JSON)", async () => {
    const r = await runCli(register, ["size", echo, "--json", "--ram", "16G", "--cores", "8"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as SizeJson;
    expect(j.schema).toBe("ctreplay.size/1");
    expect(j.packets).toBe(82582);
    // peak is the largest count of the timeline (or final), and nothing was dropped without a limit
    expect(j.peak.count).toBe(Math.max(j.final, ...j.timeline.map((x) => x.count)));
    expect(j.counters.drop).toBe(0);
    expect(j.counters.new).toBeGreaterThanOrEqual(j.peak.count);
    expect(j.recommended.need).toBe(j.peak.count);
    expect(j.peak.count / j.recommended.nf_conntrack_max).toBeLessThanOrEqual(0.75);
    expect(j.recommended.nf_conntrack_max % 512).toBe(0);
    expect(j.recommended.nf_conntrack_buckets).toBe(j.recommended.nf_conntrack_max);
    expect(j.memory.slabBytes).toBe(Math.ceil(j.peak.count / 16) * 4096);
    expect(j.memory.hashBytes).toBe(262144 * 8);
    const sources = j.comparison.map((c) => c.source);
    expect(sources.some((s) => s.startsWith("kernel default"))).toBe(true);
    expect(j.comparison.find((c) => c.source.startsWith("kube-proxy"))!.nf_conntrack_max).toBe(262144);
    expect(j.forecast).toBeNull();
  });

  it("--max forecasts fills, drops and early drops from a replay at that max", async () => {
    const r = await runCli(register, ["size", scan, "--json", "--max", "1000"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as SizeJson;
    expect(j.peak.count).toBeGreaterThan(1000);
    const f = j.forecast!;
    expect(f.max).toBe(1000);
    expect(f.firstFullAt).not.toBeNull();
    // every NEW packet beyond the limit is either an early drop (half-open SYN entries are unassured) or a drop
    expect(f.drop + f.early_drop).toBeGreaterThan(0);
    expect(f.early_drop).toBeGreaterThan(0);
  });

  it("prints the summary, the recommendation and paste-ready lines; writes CSV/Prometheus/HTML", async () => {
    const csv = path.join(dir, "t.csv");
    const prom = path.join(dir, "m.prom");
    const html = path.join(dir, "r.html");
    const r = await runCli(register, ["size", echo, "--csv", csv, "--prometheus", prom, "--html", html]);
    expect(r.code).toBe(0);
    const max = /^net\.netfilter\.nf_conntrack_max = (\d+)$/m.exec(r.stdout);
    const buckets = /^net\.netfilter\.nf_conntrack_buckets = (\d+)$/m.exec(r.stdout);
    expect(max).not.toBeNull();
    expect(r.stdout).toContain(`options nf_conntrack hashsize=${buckets![1]}`);
    expect(r.stdout).toMatch(/packets\/s/);
    expect(readFileSync(csv, "utf8").split("\n")[0]).toMatch(/^t,count,live,expired/);
    expect(readFileSync(prom, "utf8")).toMatch(/^node_nf_conntrack_entries \d+$/m);
    expect(readFileSync(html, "utf8")).toContain(`nf_conntrack_max = ${max![1]}`);
  });

  it("usage and input errors exit 2", async () => {
    expect((await runCli(register, ["size", echo, "--target-util", "2"])).code).toBe(2);
    const missing = await runCli(register, ["size", path.join(dir, "nope.pcap")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nope.pcap");
    const badSlab = await runCli(register, ["size", echo, "--slabinfo", path.join(dir, "nope")]);
    expect(badSlab.code).toBe(2);
  });
});
