import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Conntrack } from "../engine/conntrack/nf-conntrack-in.js";
import { resolveSettings } from "../engine/conntrack/settings.js";
import { replayCaptures } from "../engine/replay.js";
import { checkInvariants } from "./helpers/ct.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const timing = path.resolve(repoRoot, "../shared/kernel-oracle/samples/timing/oracle-speed1");
const pcap = path.join(timing, "replayed.pcap");
const cli = path.join(repoRoot, "dist/engine/cli/main.js");

describe.skipIf(!existsSync(pcap))("replay driver", () => {
  it("calls onTick on a fixed grid with the table advanced to each boundary", async () => {
    const ticks: { t: number; now: number; j: number; count: number }[] = [];
    const r = await replayCaptures([pcap], resolveSettings(), {
      tickInterval: 1,
      onTick: (t: number, ct: Conntrack) => {
        ticks.push({ t, now: ct.now, j: ct.jiffiesAt(t), count: ct.count });
      },
    });
    expect(r.firstTime).not.toBeNull();
    const first = r.firstTime!;
    const last = r.lastTime!;
    // First tick at the first packet (before it is processed), then every second up to the last packet.
    expect(ticks[0]!.t).toBe(first);
    expect(ticks[0]!.count).toBe(0);
    expect(ticks.length).toBe(Math.floor(last - first) + 1);
    ticks.forEach((k, i) => {
      expect(k.t).toBeCloseTo(first + i, 6);
      expect(k.now).toBe(k.j);
    });
    expect(ticks.at(-1)!.count).toBeLessThanOrEqual(r.conntrack.count);
  });

  it("follows a nextTick() hook (e.g. the stats timeline) instead of the grid", async () => {
    const seen: number[] = [];
    let next = Number.NEGATIVE_INFINITY;
    await replayCaptures([pcap], resolveSettings(), {
      nextTick: () => next,
      onTick: (t) => {
        seen.push(t);
        next = t + 2.5;
      },
    });
    expect(seen.length).toBe(2); // first packet, then +2.5 s (the capture spans ~3 s)
    expect(seen[1]! - seen[0]!).toBeCloseTo(2.5, 6);
  });

  it("--end-time before the last packet evaluates there and skips later packets", async () => {
    const full = await replayCaptures([pcap], resolveSettings());
    const cut = full.firstTime! + 1.5;
    const r = await replayCaptures([pcap], resolveSettings(), { endTime: cut });
    expect(r.afterEnd).toBeGreaterThan(0);
    expect(r.packets + r.afterEnd).toBe(full.packets);
    expect(r.endTime).toBe(cut);
    expect(r.endJiffies).toBe(r.conntrack.jiffiesAt(cut));
  });

  it("returns capture errors as values with the rows read before them", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "ctreplay-replay-"));
    const bytes = readFileSync(pcap);
    const cutFile = path.join(dir, "cut.pcap");
    writeFileSync(cutFile, bytes.subarray(0, bytes.length - 20)); // last record truncated
    const r = await replayCaptures([cutFile, path.join(dir, "missing.pcap")], resolveSettings());
    expect(r.captureErrors).toHaveLength(2);
    expect(r.captureErrors[0]!.file).toBe(cutFile);
    expect(r.captureErrors[1]!.toString()).toMatch(/missing\.pcap/);
    expect(r.packets).toBeGreaterThan(10);
  });
});

describe.skipIf(!existsSync(pcap) || !existsSync(cli))("ctreplay replay command", () => {
  it("prints the table, stats and summary; exit 0", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "ctreplay-replay-"));
    const out = path.join(dir, "t.jsonl");
    const summary = JSON.parse(readFileSync(path.join(timing, "summary.json"), "utf8")) as {
      dump_time: number;
    };
    const p = spawnSync(
      process.execPath,
      [
        cli,
        "replay",
        pcap,
        "--end-time",
        String(summary.dump_time),
        "--dump-table",
        out,
        "--stats",
        "--list",
      ],
      { encoding: "utf8" },
    );
    expect(p.status).toBe(0);
    expect(p.stdout).toMatch(/^cpu=0 +\tfound=0 invalid=0 /m);
    expect(p.stdout).toMatch(/flow entries have been shown/);
    expect(readFileSync(out, "utf8")).toBe(readFileSync(path.join(timing, "table.jsonl"), "utf8"));
  });

  it("exits 2 naming file/offset/packet on a damaged capture, still printing partial results", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "ctreplay-replay-"));
    const bytes = readFileSync(pcap);
    const cutFile = path.join(dir, "cut.pcap");
    writeFileSync(cutFile, bytes.subarray(0, bytes.length - 20));
    const p = spawnSync(process.execPath, [cli, "replay", cutFile, "--stats"], { encoding: "utf8" });
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(new RegExp(`${cutFile.replace(/[.]/g, "\\.")}: byte \\d+, packet \\d+: `));
    expect(p.stdout).toMatch(/^cpu=0/m);
  });

  it("exits 2 on a bad profile naming file and line", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "ctreplay-replay-"));
    const prof = path.join(dir, "bad.conf");
    writeFileSync(prof, "net.netfilter.nf_conntrack_max = 10\nnet.netfilter.nf_conntrack_nope = 1\n");
    const p = spawnSync(process.execPath, [cli, "replay", pcap, "--profile", prof], { encoding: "utf8" });
    expect(p.status).toBe(2);
    expect(p.stderr).toContain(`${prof}:2: unknown conntrack sysctl`);
  });
});

const corpus = path.resolve(repoRoot, "../shared/captures");

describe.skipIf(!existsSync(corpus))("table invariants on real captures with a tiny, crowded table", () => {
  for (const name of [
    "tcp-echo-many-connections.pcap.gz",
    "tcp-syn-scan.pcap",
    "quic-icmp-unreach-v4v6.pcapng",
  ]) {
    for (const gc of ["kernel", "exact"] as const) {
      it(`${name} (gc ${gc}, max 64, 16 buckets)`, async () => {
        const settings = resolveSettings({ nf_conntrack_max: 64, nf_conntrack_buckets: 16 });
        const problems: string[] = [];
        let ticks = 0;
        const r = await replayCaptures([path.join(corpus, name)], settings, {
          gc,
          tickInterval: 0.05,
          onTick: (t, ct) => {
            ticks++;
            for (const p of checkInvariants(ct)) problems.push(`t=${t}: ${p}`);
            if (ct.count > 64) problems.push(`t=${t}: count ${ct.count} > max`);
          },
        });
        const ct = r.conntrack;
        problems.push(...checkInvariants(ct));
        expect(problems.slice(0, 5)).toEqual([]);
        expect(ticks).toBeGreaterThan(5);
        expect(ct.stats.new - ct.stats.delete).toBe(ct.count);
        expect(ct.table.capacity).toBeLessThanOrEqual(128); // sized from max: never grew past max + 1 rounded up
      });
    }
  }
});
