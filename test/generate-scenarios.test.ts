/** Scenario captures for the differential tests, and the `ctreplay generate` command. */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { generateToBuffer, SCENARIO_NAMES, type ScenarioName } from "../captures/generate.js";
import { type Dissected, dissectFrame, flowKey, parsePcap, type Rec } from "./generate-helpers.js";

const repoRoot = path.resolve(import.meta.dirname, "..");
const cli = path.join(repoRoot, "dist/engine/cli/main.js");

async function scenario(
  name: ScenarioName,
  seed = 1,
): Promise<{ bytes: Uint8Array; recs: Rec[]; pkts: Dissected[] }> {
  const r = await generateToBuffer({ scenario: name, seed });
  if (typeof r === "string") throw new Error(r);
  const { recs } = await parsePcap(r.bytes);
  expect(recs.length).toBe(r.result.packets);
  return { bytes: r.bytes, recs, pkts: recs.map((x) => dissectFrame(x.data)) };
}

function byFlow(pkts: Dissected[]): Map<string, Dissected[]> {
  const m = new Map<string, Dissected[]>();
  for (const d of pkts) {
    const k = flowKey(d);
    const l = m.get(k);
    if (l) l.push(d);
    else m.set(k, [d]);
  }
  return m;
}

describe("every scenario", () => {
  for (const name of SCENARIO_NAMES) {
    it(`${name}: deterministic, readable, all checksums valid, time-ordered`, async () => {
      const a = await scenario(name);
      const b = await scenario(name);
      expect(Buffer.compare(a.bytes, b.bytes)).toBe(0);
      expect(a.recs.length).toBeGreaterThan(50);
      expect(a.pkts.filter((d) => d.csumError !== null)).toEqual([]);
      for (let i = 1; i < a.recs.length; i++)
        expect(a.recs[i].tsUs).toBeGreaterThanOrEqual(a.recs[i - 1].tsUs);
      // Private ranges only (10/8, fd00::/8).
      for (const d of a.pkts) {
        for (const ad of [d.src, d.dst]) expect(ad.startsWith("10.") || ad.startsWith("fd00:")).toBe(true);
      }
    });
  }
});

describe("scenario contents", () => {
  it("table-full: many flows, none ever answered", async () => {
    const { pkts } = await scenario("table-full");
    const flows = byFlow(pkts);
    expect(flows.size).toBeGreaterThan(3000);
    for (const segs of flows.values()) {
      expect(new Set(segs.map((d) => d.src)).size).toBe(1);
    }
  });

  it("short-tcp: only TCP connections, each opened by a SYN, most closed by FIN or RST", async () => {
    const { pkts } = await scenario("short-tcp");
    expect(pkts.every((d) => d.proto === 6)).toBe(true);
    const flows = byFlow(pkts);
    let closed = 0;
    for (const segs of flows.values()) {
      expect(segs[0].flags).toBe(2);
      if (segs.some((d) => d.flags & 5)) closed++;
    }
    expect(flows.size).toBe(400);
    expect(closed).toBeGreaterThan(flows.size * 0.9);
  });

  it("udp-streams: streams whose replies continue more than 2 s after their first packet", async () => {
    const { recs, pkts } = await scenario("udp-streams");
    const first = new Map<string, { t: number; client: string; lastReply: number }>();
    pkts.forEach((d, i) => {
      const k = flowKey(d);
      const f = first.get(k);
      if (!f) first.set(k, { t: recs[i].tsUs, client: d.src, lastReply: 0 });
      else if (d.src !== f.client) f.lastReply = recs[i].tsUs;
    });
    const streams = [...first.entries()].filter(([k]) => !k.includes("/53|") && !k.endsWith("/53"));
    expect(streams.length).toBeGreaterThan(20);
    for (const [, f] of streams) expect(f.lastReply - f.t).toBeGreaterThan(2e6);
  });

  it("ipv6: every packet is IPv6, TCP/UDP/ICMPv6 all present", async () => {
    const { pkts } = await scenario("ipv6");
    expect(pkts.every((d) => d.v6)).toBe(true);
    expect(new Set(pkts.map((d) => d.proto))).toEqual(new Set([6, 17, 58]));
  });

  it("icmp-errors: port unreachables (ICMP 3/3, ICMPv6 1/4) quote the UDP datagram sent just before", async () => {
    const { pkts } = await scenario("icmp-errors");
    const errors = pkts.filter((d) => d.quote !== null);
    expect(errors.length).toBeGreaterThan(50);
    expect(errors.some((d) => d.v6) && errors.some((d) => !d.v6)).toBe(true);
    for (const e of errors) {
      expect(e.v6 ? [e.type, e.code] : [e.type, e.code]).toEqual(e.v6 ? [1, 4] : [3, 3]);
      const q = e.quote!;
      const f = new Uint8Array(14 + q.length);
      f[12] = e.v6 ? 0x86 : 0x08;
      f[13] = e.v6 ? 0xdd : 0x00;
      f.set(q, 14);
      const inner = dissectFrame(f);
      expect(inner.proto).toBe(17);
      expect(inner.csumError).toBeNull(); // the whole datagram is quoted, so its checksum verifies too
      const orig = pkts.find((d) => d.proto === 17 && d.src === inner.src && d.sport === inner.sport);
      expect(orig?.dport).toBe(inner.dport);
      expect(e.dst).toBe(inner.src);
    }
    const requests = pkts.filter(
      (d) => (d.proto === 1 && d.type === 8) || (d.proto === 58 && d.type === 128),
    );
    const replies = pkts.filter((d) => (d.proto === 1 && d.type === 0) || (d.proto === 58 && d.type === 129));
    expect(replies.length).toBe(requests.length);
  });

  it("tcp-teardown: every ending on both families, in order", async () => {
    const { pkts } = await scenario("tcp-teardown");
    const flows = byFlow(pkts);
    expect(flows.size).toBe(54);
    const names = (f: number) =>
      ["FIN", "SYN", "RST", "PSH", "ACK"].filter((_, i) => f & [1, 2, 4, 8, 16][i]).join("|") || "-";
    const endings = new Map<string, number>();
    for (const segs of flows.values()) {
      const client = segs[0].src;
      const tail = segs
        .slice(segs.length >= 6 ? 6 : 1) // after SYN, SYN/ACK, ACK, request, response, ACK
        .map((d) => `${d.src === client ? ">" : "<"}${names(d.flags)}`)
        .join(" ");
      const key = `${segs[0].v6 ? "v6" : "v4"} ${tail}`;
      endings.set(key, (endings.get(key) ?? 0) + 1);
    }
    const keys = [...endings.keys()];
    for (const fam of ["v4", "v6"]) {
      expect(keys).toContain(`${fam} >RST`); // RST before any reply
      expect(keys).toContain(`${fam} <RST|ACK`); // refused
      expect(keys).toContain(`${fam} >FIN|ACK <FIN|ACK >ACK`);
      expect(keys).toContain(`${fam} >FIN|ACK <RST|ACK`);
      expect(keys).toContain(`${fam} >FIN|ACK <ACK <ACK <PSH|ACK >ACK <FIN|ACK >ACK`); // half-close
      expect(keys).toContain(`${fam} >FIN|ACK <FIN|ACK >ACK <ACK`); // simultaneous close
      expect(keys).toContain(`${fam} `); // left open
    }
  });
});

describe("ctreplay generate", () => {
  const built = existsSync(cli);
  it.skipIf(!built)("writes the same bytes to stdout as the library, pcapng by extension", async () => {
    const out = spawnSync(process.execPath, [cli, "generate", "-", "--scenario", "ipv6", "-q"], {
      maxBuffer: 64 << 20,
    });
    expect(out.status).toBe(0);
    const lib = await generateToBuffer({ scenario: "ipv6" });
    if (typeof lib === "string") throw new Error(lib);
    expect(Buffer.compare(out.stdout, lib.bytes)).toBe(0);
    const dir = await mkdtemp(path.join(tmpdir(), "ctreplay-gen-"));
    try {
      const file = path.join(dir, "x.pcapng");
      const r = spawnSync(process.execPath, [cli, "generate", file, "--flows", "20", "--seed", "4"]);
      expect(r.status).toBe(0);
      expect(r.stderr.toString()).toMatch(/flows/);
      expect(readFileSync(file).readUInt32LE(0)).toBe(0x0a0d0d0a);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!built)("bad options exit 2 naming the option", () => {
    const r = spawnSync(process.execPath, [cli, "generate", "-", "--ipv6-share", "3"]);
    expect(r.status).toBe(2);
    expect(r.stderr.toString()).toMatch(/--ipv6-share/);
    const s = spawnSync(process.execPath, [cli, "generate", "-", "--scenario", "nope"]);
    expect(s.status).toBe(2);
    const w = spawnSync(process.execPath, [cli, "generate", path.join(repoRoot, "no-such-dir/x.pcap")]);
    expect(w.status).toBe(2);
    expect(w.stderr.toString()).toMatch(/cannot write .*no-such-dir/);
  });

  it.skipIf(!built)("stops quietly when the reader of stdout goes away", () => {
    const r = spawnSync("bash", [
      "-c",
      `"${process.execPath}" "${cli}" generate - --flows 100000 | head -c 100 >/dev/null; echo "\${PIPESTATUS[0]}"`,
    ]);
    expect(r.stdout.toString().trim()).toBe("0");
    expect(r.stderr.toString()).not.toMatch(/EPIPE|Error/);
  });
});
