/**
 * `ctreplay inspect` end to end: spawns the built CLI (dist/, from `npx tsc -p .` / `npm test`) on the
 * shared corpus. Time stamps and counts are checked against tshark / MANIFEST.md values.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { capturesDir, haveCorpus, repoRoot } from "./decode-helpers.js";

const cli = path.join(repoRoot, "dist/engine/cli/main.js");
const built = existsSync(path.join(repoRoot, "dist/engine/cli/commands/inspect.js"));
if (!built) console.log(`inspect tests: ${cli} not built (run npx tsc -p .), skipped`);

function run(args: string[]) {
  const r = spawnSync(process.execPath, [cli, "inspect", ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const cap = (f: string) => path.join(capturesDir, f);

describe.skipIf(!built || !haveCorpus)("ctreplay inspect", () => {
  it("--json on the whole corpus: one object per line, exit 2 because two inputs are damaged", () => {
    const files = readdirSync(capturesDir)
      .filter((f) => f !== "MANIFEST.md")
      .sort();
    const r = run(["--json", ...files.map(cap)]);
    expect(r.code).toBe(2);
    const lines = r.out.trim().split("\n");
    expect(lines.length).toBe(files.length);
    const objs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const [i, o] of objs.entries()) {
      expect(o.file).toBe(cap(files[i]!));
      for (const k of [
        "format",
        "linkTypes",
        "packets",
        "ipv4",
        "ipv6",
        "l4",
        "skipped",
        "firstTime",
        "lastTime",
        "error",
      ]) {
        expect(o, `${files[i]} lacks ${k}`).toHaveProperty(k);
      }
    }
    const errored = objs.filter((o) => o.error !== null).map((o) => path.basename(String(o.file)));
    expect(errored).toEqual(["malformed-bogus-caplen.pcap", "malformed-oversized-last-record.pcap"]);
    const byName = new Map(objs.map((o) => [path.basename(String(o.file)), o]));
    const echo = byName.get("tcp-echo-many-connections.pcap.gz")!;
    expect([echo.format, echo.packets, echo.ipv4, echo.ipv6]).toEqual(["pcap", 82582, 82582, 0]);
    expect(echo.l4).toEqual({ tcp: 82582 });
    const sll2 = byName.get("sll2-linux.pcap")!;
    expect(sll2.linkTypes).toEqual([{ linkType: 276, name: "LINKTYPE_LINUX_SLL2", records: 6 }]);
    expect(sll2.skipped).toEqual({ "non-ip": 2 });
    const multi = byName.get("pcapng-be-multisection-spb-nrb.pcapng")!;
    expect([multi.format, multi.byteOrder, multi.sections]).toEqual(["pcapng", "BE", 3]);
  });

  it("time span in epoch seconds (tshark frame.time_epoch), nanosecond and 2^-8 resolutions", () => {
    const r = run(["--json", cap("tcp-http-nanosecond.pcap"), cap("pcapng-tsresol-binary-2pow8.pcapng")]);
    expect(r.code).toBe(0);
    const [a, b] = r.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { firstTime: number; lastTime: number });
    expect(a!.firstTime).toBeCloseTo(1770126425.73256, 6);
    expect(a!.lastTime).toBeCloseTo(1770126426.041811, 6);
    expect(b!.firstTime).toBeCloseTo(1519128000.1953125, 6);
  });

  it("--no-checksum: packets dropped for bad IPv4 header checksums reach conntrack", () => {
    const on = JSON.parse(run(["--json", cap("mpls-vlan-mixed-tcp.pcap")]).out) as Record<string, unknown>;
    const off = JSON.parse(run(["--json", "--no-checksum", cap("mpls-vlan-mixed-tcp.pcap")]).out) as Record<
      string,
      unknown
    >;
    expect(on.skipped).toEqual({ "bad-ip-checksum": 22 });
    expect(on.rows).toBe(25);
    expect(off.skipped).toEqual({});
    expect(off.rows).toBe(47);
  });

  it("text output by default; fragments and the input error are reported; missing file -> exit 2", () => {
    const r = run([cap("ipv4-frag-icmp-echo.pcap"), cap("malformed-oversized-last-record.pcap")]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/fragments\s+2 frames, 1 reassembled/);
    expect(r.out).toMatch(/ERROR .*packet 7/);
    const missing = run(["--json", cap("no-such-file.pcap")]);
    expect(missing.code).toBe(2);
    const o = JSON.parse(missing.out) as { error: string | null; packets: number };
    expect(o.packets).toBe(0);
    expect(o.error).toMatch(/no-such-file/);
  });
});
