import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { register } from "../engine/cli/commands/check.js";
import { runCli } from "./cli-helpers.js";

const captures = path.resolve(import.meta.dirname, "../../shared/captures");
const have = existsSync(captures);
if (!have) console.log(`cli-check: skipped: ${captures} absent`);
const dir = mkdtempSync(path.join(tmpdir(), "ctreplay-check-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!have)("ctreplay check", () => {
  // A capture directory: two real captures (symlinked, read in place) and a file that is not a capture.
  const caps = path.join(dir, "caps");
  mkdirSync(path.join(caps, "sub"), { recursive: true });
  symlinkSync(path.join(captures, "tcp-syn-scan.pcap"), path.join(caps, "scan.pcap"));
  symlinkSync(
    path.join(captures, "udp-portmapper-unanswered.pcapng.gz"),
    path.join(caps, "sub", "rpc.pcapng.gz"),
  );
  writeFileSync(path.join(caps, "README.txt"), "not a capture\n");
  const baseline = path.join(dir, "baseline.json");
  const junit = path.join(dir, "junit.xml");

  it("without a baseline: exit 2; --update-baseline records every capture of the directory", async () => {
    const none = await runCli(register, ["check", caps, "--baseline", baseline]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("--update-baseline");
    const up = await runCli(register, ["check", caps, "--baseline", baseline, "--update-baseline"]);
    expect(up.code).toBe(0);
    const b = JSON.parse(readFileSync(baseline, "utf8"));
    expect(b.schema).toBe("ctreplay.baseline/1");
    expect(Object.keys(b.captures)).toEqual(["caps/scan.pcap", "caps/sub/rpc.pcapng.gz"]);
    expect(b.captures["caps/scan.pcap"].metrics.peak).toBeGreaterThan(1900);
    expect(b.captures["caps/sub/rpc.pcapng.gz"].metrics.packets).toBe(189);
  });

  it("same captures, same settings: exit 0 and JUnit without failures", async () => {
    const r = await runCli(register, ["check", caps, "--baseline", baseline, "--junit", junit]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^2 passed, 0 failed$/m);
    const xml = readFileSync(junit, "utf8");
    expect(xml).toMatch(/<testsuite [^>]*tests="22" failures="0" errors="0"/);
  });

  it("a smaller table regresses drops (exit 1, JUnit failure names the metric); tolerances can absorb it", async () => {
    const r = await runCli(register, [
      "check",
      caps,
      "--baseline",
      baseline,
      "--max",
      "1000",
      "--junit",
      junit,
      "--json",
    ]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    const scan = j.results.find((x: { capture: string }) => x.capture === "caps/scan.pcap");
    expect(scan.status).toBe("regression");
    const drop = scan.checks.find((c: { metric: string }) => c.metric === "drop");
    expect(drop.verdict).toBe("regression");
    expect(drop.baseline).toBe(0);
    const xml = readFileSync(junit, "utf8");
    expect(xml).toMatch(
      /<testcase classname="caps\/scan\.pcap" name="drop"[^>]*>\s*<failure message="drop \d+ &gt; baseline 0/,
    );
    const tolerant = await runCli(register, [
      "check",
      caps,
      "--baseline",
      baseline,
      "--max",
      "1000",
      "--tolerance",
      "100000",
    ]);
    expect(tolerant.code).toBe(0);
  });

  it("an unreadable capture is an input error (exit 2, JUnit error); a bad tolerance is a usage error", async () => {
    const broken = path.join(dir, "broken.pcap");
    writeFileSync(broken, Buffer.from("this is not a pcap file at all"));
    const r = await runCli(register, ["check", broken, "--baseline", baseline, "--junit", junit]);
    expect(r.code).toBe(2);
    expect(readFileSync(junit, "utf8")).toMatch(/<error message="[^"]*broken\.pcap/);
    expect(
      (await runCli(register, ["check", caps, "--baseline", baseline, "--tolerance", "peek=1"])).code,
    ).toBe(2);
    expect(
      (await runCli(register, ["check", path.join(dir, "nothing-here"), "--baseline", baseline])).code,
    ).toBe(2);
  });

  it("a capture missing from the baseline fails", async () => {
    const r = await runCli(register, [
      "check",
      path.join(captures, "vlan-icmp-echo.pcap"),
      "--baseline",
      baseline,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("no baseline entry");
  });
});
