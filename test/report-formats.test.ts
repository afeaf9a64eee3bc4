import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CSV_COLUMNS, renderCsv } from "../engine/report/csv.js";
import { renderJUnit } from "../engine/report/junit.js";
import { conntrackS, PROC_STAT_HEADER, procNetStat, slabinfo } from "../engine/report/kernel-text.js";
import { fullness, REPLAY_SCHEMA } from "../engine/report/model.js";
import { renderPrometheus } from "../engine/report/prometheus.js";
import { downsampleMax, renderSummary } from "../engine/report/terminal.js";
import { MemoryModel, SLAB_PRESETS } from "../engine/stats/memory.js";
import { sampleReport } from "./report-fixture.js";

/** Parses Prometheus text exposition 0.0.4 strictly enough to catch malformed output. */
function parseProm(text: string): {
  types: Map<string, string>;
  samples: { name: string; labels: Record<string, string>; value: number }[];
} {
  const types = new Map<string, string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  const lines = text.split("\n");
  expect(lines[lines.length - 1]).toBe(""); // ends with a newline
  for (const line of lines.slice(0, -1)) {
    if (line.startsWith("# HELP ")) {
      expect(line).toMatch(/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* \S/);
      continue;
    }
    const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|untyped|summary|histogram)$/.exec(line);
    if (t) {
      expect(types.has(t[1]!), `duplicate TYPE ${t[1]}`).toBe(false);
      types.set(t[1]!, t[2]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    expect(m, `bad sample line: ${line}`).not.toBeNull();
    const labels: Record<string, string> = {};
    if (m![3]) {
      for (const part of m![3].split(/,(?=[a-zA-Z_][a-zA-Z0-9_]*=")/)) {
        const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"$/.exec(part);
        expect(lm, `bad label ${part}`).not.toBeNull();
        labels[lm![1]!] = lm![2]!;
      }
    }
    const value = Number(m![4]);
    expect(Number.isNaN(value) && m![4] !== "NaN").toBe(false);
    expect(types.has(m![1]!), `sample before its TYPE: ${m![1]}`).toBe(true);
    samples.push({ name: m![1]!, labels, value });
  }
  return { types, samples };
}

/** Minimal XML well-formedness check: balanced tags, quoted attributes, no stray '<' or bare '&'. */
function checkXml(xml: string): string[] {
  const stack: string[] = [];
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, "");
  const re = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  const names: string[] = [];
  for (let m = re.exec(body); m !== null; m = re.exec(body)) {
    if (m[6]) throw new Error(`stray '<' at ${m.index}`);
    if (m[5] !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(m[5])) throw new Error(`bare & in text: ${m[5]}`);
      continue;
    }
    for (const a of (m[3] ?? "").matchAll(/="([^"]*)"/g)) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(a[1]!)) throw new Error(`bare & in attribute: ${a[1]}`);
    }
    if (m[1]) {
      const open = stack.pop();
      if (open !== m[2]) throw new Error(`</${m[2]}> closes <${open}>`);
    } else {
      names.push(m[2]!);
      if (!m[4]) stack.push(m[2]!);
    }
  }
  if (stack.length) throw new Error(`unclosed: ${stack.join(",")}`);
  return names;
}

describe("report model", () => {
  const r = sampleReport();
  it("has the stable JSON fields", () => {
    expect(r.schema).toBe(REPLAY_SCHEMA);
    expect(r.peak.count).toBe(150);
    expect(r.final).toBeLessThanOrEqual(150);
    expect(r.timeline.length).toBe(21);
    for (const row of r.timeline) {
      expect(typeof row.t).toBe("number");
      expect(typeof row.count).toBe("number");
    }
    expect(r.memory.peakBytes).toBe(r.memory.slabBytes + r.memory.extBytes + r.memory.hashBytes);
    expect(r.memory.slabBytes).toBe(Math.ceil(150 / 16) * 4096);
    expect(r.memory.hashBytes).toBe(1024 * 8);
    expect(r.throughput.packetsPerSec).toBeCloseTo(12345 / 0.5);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });
  it("knows when the table first filled", () => {
    const f = fullness(r);
    expect(f.firstFullAt).not.toBeNull();
    const firstRow = r.timeline.find((row) => row.count >= 150)!;
    expect(f.firstFullAt).toBe(firstRow.t);
  });
});

describe("Prometheus exposition", () => {
  const r = sampleReport();
  const { types, samples } = parseProm(renderPrometheus(r, { capture: 'sample "1"' }));
  const get = (name: string, labels: Record<string, string> = {}): number | undefined =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      ?.value;
  it("uses node_exporter names and values", () => {
    for (const name of [
      "node_nf_conntrack_entries",
      "node_nf_conntrack_entries_limit",
      "node_nf_conntrack_stat_found",
      "node_nf_conntrack_stat_invalid",
      "node_nf_conntrack_stat_ignore",
      "node_nf_conntrack_stat_insert",
      "node_nf_conntrack_stat_insert_failed",
      "node_nf_conntrack_stat_drop",
      "node_nf_conntrack_stat_early_drop",
      "node_nf_conntrack_stat_search_restart",
    ]) {
      expect(types.get(name), name).toBe("gauge");
    }
    expect(get("node_nf_conntrack_entries")).toBe(r.final);
    expect(get("node_nf_conntrack_entries_limit")).toBe(150);
    expect(get("node_nf_conntrack_stat_drop")).toBe(r.counters.drop);
    expect(get("node_nf_conntrack_stat_early_drop")).toBe(r.counters.early_drop);
    expect(r.counters.drop).toBeGreaterThan(0);
  });
  it("adds ctreplay_* series with labels, escaped", () => {
    expect(get("ctreplay_entries_peak")).toBe(150);
    expect(get("ctreplay_memory_peak_bytes", { kind: "slab" })).toBe(r.memory.slabBytes);
    expect(get("ctreplay_entries_quantile", { quantile: "0.99" })).toBe(r.percentiles.p99);
    expect(samples.every((s) => s.labels.capture === 'sample \\"1\\"')).toBe(true);
  });
});

describe("CSV timeline", () => {
  const r = sampleReport();
  const lines = renderCsv(r.timeline).trimEnd().split("\n");
  it("has a header and one row per tick, all numeric, consistent columns", () => {
    expect(lines[0]!.split(",")).toEqual(CSV_COLUMNS);
    expect(lines.length - 1).toBe(r.timeline.length);
    const col = (name: string) => CSV_COLUMNS.indexOf(name);
    lines.slice(1).forEach((line, i) => {
      const v = line.split(",").map(Number);
      expect(v.length).toBe(CSV_COLUMNS.length);
      expect(v.every((x) => Number.isFinite(x))).toBe(true);
      expect(v[col("t")]).toBe(r.timeline[i]!.t);
      expect(v[col("count")]).toBe(r.timeline[i]!.count);
      expect(v[col("drop")]).toBe(r.timeline[i]!.drop);
      // protocol columns add up to the entries visited (live + expired)
      const protoSum = CSV_COLUMNS.filter((c) => c.startsWith("proto_")).reduce((a, c) => a + v[col(c)]!, 0);
      expect(protoSum).toBe(v[col("live")]! + v[col("expired")]!);
      const tcpSum = CSV_COLUMNS.filter((c) => c.startsWith("tcp_")).reduce((a, c) => a + v[col(c)]!, 0);
      expect(tcpSum).toBe(v[col("proto_tcp")]);
    });
  });
});

describe("JUnit XML", () => {
  it("is well-formed and counts failures and errors", () => {
    const xml = renderJUnit("ctreplay check", [
      { classname: "a.pcap", name: "peak" },
      { classname: "a.pcap", name: "drop", failure: "drop 5 > baseline 0 (+5) & <more>" },
      { classname: "b.pcap", name: "read", error: 'cannot open "b.pcap"\u0001' },
    ]);
    const names = checkXml(xml);
    expect(names.filter((n) => n === "testcase")).toHaveLength(3);
    expect(names.filter((n) => n === "failure")).toHaveLength(1);
    expect(names.filter((n) => n === "error")).toHaveLength(1);
    expect(xml).toMatch(/<testsuite [^>]*tests="3" failures="1" errors="1"/);
    expect(xml).toContain("&amp; &lt;more&gt;");
    expect(() => checkXml("<a><b></a></b>")).toThrow(); // the checker itself rejects bad nesting
  });
});

describe("kernel-shaped text", () => {
  it("conntrack -S line carries the counters by name", () => {
    const line = conntrackS({ invalid: 3, drop: 7, early_drop: 2 });
    const kv = Object.fromEntries(
      line
        .split(/\s+/)
        .slice(1)
        .map((p) => p.split("=")),
    );
    expect(line.startsWith("cpu=0")).toBe(true);
    expect(kv).toMatchObject({ found: "0", invalid: "3", drop: "7", early_drop: "2", chaintoolong: "0" });
  });
  it("/proc/net/stat/nf_conntrack: header columns line up with hex values", () => {
    const [head, row] = procNetStat(1000, {
      invalid: 18,
      drop: 8496,
      early_drop: 504,
      search_restart: 1,
    }).split("\n");
    expect(head).toBe(PROC_STAT_HEADER);
    const names = head!.trim().split(/\s+/);
    const vals = row!
      .trim()
      .split(/\s+/)
      .map((h) => Number.parseInt(h, 16));
    expect(vals.length).toBe(names.length);
    const at = (n: string) => vals[names.indexOf(n)];
    expect(at("entries")).toBe(1000);
    expect(at("invalid")).toBe(18);
    expect(at("drop")).toBe(8496);
    expect(at("early_drop")).toBe(504);
    expect(at("search_restart")).toBe(1);
    expect(at("new")).toBe(0);
  });
  it("slabinfo line", () => {
    const text = slabinfo(new MemoryModel(SLAB_PRESETS["6.18"]), 1000);
    expect(text.split("\n")[1]).toMatch(/^nf_conntrack\s+1008\s+1008\s+256\s+16\s+1 : tunables/);
  });
});

describe("kernel text against the real 6.18 kernel's output (kernel-oracle ground truth)", () => {
  const gt = path.resolve(import.meta.dirname, "../../shared/kernel-oracle/ground-truth-data/full-w0");
  it.skipIf(!existsSync(gt))(
    "conntrack -S, /proc/net/stat/nf_conntrack and slabinfo lines are byte-identical",
    () => {
      const kernelS = readFileSync(path.join(gt, "conntrack-S.txt"), "utf8").split("\n");
      const cpu1 = Object.fromEntries(
        kernelS[1]!
          .trim()
          .split(/\s+/)
          .slice(1)
          .map((kv) => [kv.split("=")[0]!, Number(kv.split("=")[1])]),
      );
      expect(conntrackS(cpu1, 1)).toBe(kernelS[1]);
      const stat = readFileSync(path.join(gt, "proc_stat_nf_conntrack.txt"), "utf8").split("\n");
      const count = Number(readFileSync(path.join(gt, "count.txt"), "utf8").trim());
      expect(procNetStat(count, cpu1)).toBe(`${stat[0]}\n${stat[2]}`);
      const slab = readFileSync(path.join(gt, "slab.nf_conntrack.after.txt"), "utf8").trim();
      expect(new MemoryModel(SLAB_PRESETS["6.18"]).slabinfoLine(count)).toBe(slab);
    },
  );
});

describe("terminal summary", () => {
  it("prints the key numbers and a chart", () => {
    const r = sampleReport();
    const text = renderSummary(r, { kernelLines: true });
    expect(text).toContain("peak 150 entries");
    expect(text).toMatch(/packets\/s/);
    expect(text).toMatch(/MB\/s/);
    expect(text).toContain("conntrack -S:");
    expect(text.split("\n").filter((l) => /[┤┼]/.test(l)).length).toBeGreaterThanOrEqual(8);
  });
  it("downsampling keeps the maximum", () => {
    const v = Array.from({ length: 1000 }, (_, i) => (i === 537 ? 99 : i % 7));
    const d = downsampleMax(v, 50);
    expect(d).toHaveLength(50);
    expect(Math.max(...d)).toBe(99);
  });
});
