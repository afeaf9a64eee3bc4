/**
 * The crafted UDP/GRE/ICMP/SCTP flows against the machine's own kernel, end to end: the flows are built as
 * raw IPv4 packets (valid checksums, CRC32c for SCTP), injected with the kernel oracle at their own pacing,
 * and ctreplay's replay of the oracle's replayed.pcap must reproduce the kernel's table (timeouts within the
 * 1 s dump window) and its conntrack -S counters. Skipped when the oracle cannot run (not root, no nft...).
 *
 * UDPLite checksums are built the way the kernel verifies them (IPPROTO_UDP in the pseudo-header:
 * udplite_error -> nf_checksum_partial(..., IPPROTO_UDP, ...)), except flow L4, which uses the RFC 3828
 * pseudo-header (protocol 136) and is therefore INVALID for the kernel; L3 has a checksum coverage of 4.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tableJsonl } from "../engine/conntrack/dump.js";
import { resolveSettings } from "../engine/conntrack/settings.js";
import { sctpCrc32c } from "../engine/decode/checksum.js";
import { replayCaptures } from "../engine/replay.js";
import { CRAFTED_FLOWS, type CraftedPacket } from "./helpers/proto-fake.js";

const A = [192, 168, 77, 1];
const B = [192, 168, 77, 2];

function csum16(b: Uint8Array, start: number, len: number, init = 0): number {
  let s = init;
  for (let k = 0; k + 1 < len; k += 2) s += (b[start + k]! << 8) | b[start + k + 1]!;
  if (len & 1) s += b[start + len - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

function ipv4(src: number[], dst: number[], proto: number, l4: Uint8Array): Uint8Array {
  const p = new Uint8Array(20 + l4.length);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, p.length);
  v.setUint16(4, 1);
  p[8] = 64;
  p[9] = proto;
  p.set(src, 12);
  p.set(dst, 16);
  v.setUint16(10, csum16(p, 0, 20));
  p.set(l4, 20);
  return p;
}

/** Pseudo-header sum for UDP. */
function pseudo(src: number[], dst: number[], proto: number, len: number): number {
  return (
    ((src[0]! << 8) | src[1]!) +
    ((src[2]! << 8) | src[3]!) +
    ((dst[0]! << 8) | dst[1]!) +
    ((dst[2]! << 8) | dst[3]!) +
    proto +
    len
  );
}

function chunkBody(type: number, itag: number): Uint8Array {
  const b = new Uint8Array(
    type === 1 || type === 2
      ? 16
      : type === 0
        ? 16
        : type === 7
          ? 4
          : type === 4 || type === 5
            ? 8
            : type === 10
              ? 8
              : 0,
  );
  const v = new DataView(b.buffer);
  if (type === 1 || type === 2) {
    v.setUint32(0, itag);
    v.setUint32(4, 65535);
    v.setUint16(8, 10);
    v.setUint16(10, 10);
    v.setUint32(12, 1);
  } else if (type === 4 || type === 5) {
    v.setUint16(0, 1); // heartbeat info parameter
    v.setUint16(2, 8);
  }
  return b;
}

/** Flow name -> port: S13 -> 1013, U1 -> 2001, L1 -> 3001; I/G flows have no ports. */
const portOf = (flow: string): number =>
  (flow[0] === "S" ? 1000 : flow[0] === "U" ? 2000 : 3000) + Number(flow.slice(1));

function build(p: CraftedPacket): Uint8Array {
  const [src, dst] = p.dir === 0 ? [A, B] : [B, A];
  if (p.proto === 17 || p.proto === 136) {
    const port = portOf(p.flow);
    const u = new Uint8Array(16);
    const v = new DataView(u.buffer);
    v.setUint16(0, p.dir === 0 ? port : 53);
    v.setUint16(2, p.dir === 0 ? 53 : port);
    // UDP: length; UDPLite: checksum coverage (0 = whole datagram).
    v.setUint16(4, p.proto === 17 ? u.length : p.flow === "L3" ? 4 : 0);
    u.fill(0x78, 8);
    const pseudoProto = p.flow === "L4" ? 136 : 17;
    v.setUint16(6, csum16(u, 0, u.length, pseudo(src, dst, pseudoProto, u.length)) || 0xffff);
    return ipv4(src, dst, p.proto, u);
  }
  if (p.proto === 1) {
    const m = new Uint8Array(24);
    const v = new DataView(m.buffer);
    m[0] = p.type!;
    v.setUint16(4, p.id!);
    v.setUint16(6, 1);
    v.setUint16(2, csum16(m, 0, m.length));
    // I2 is an echo reply without a request: it travels B -> A like a reply would.
    return ipv4(p.flow === "I2" ? B : src, p.flow === "I2" ? A : dst, 1, m);
  }
  if (p.proto === 47) {
    const g = new Uint8Array(24);
    new DataView(g.buffer).setUint16(2, 0x0800);
    const peer = [10, 0, 77, 2 + Number(p.flow.slice(1))];
    const local = [10, 0, 77, 1];
    return p.dir === 0 ? ipv4(local, peer, 47, g) : ipv4(peer, local, 47, g);
  }
  // SCTP
  const parts: Uint8Array[] = [];
  for (const [type, flags] of p.chunks ?? []) {
    const body = chunkBody(type, p.itag ?? 0);
    const len = 4 + body.length;
    const c = new Uint8Array((len + 3) & ~3);
    c[0] = type;
    c[1] = flags;
    new DataView(c.buffer).setUint16(2, len);
    c.set(body, 4);
    parts.push(c);
  }
  const total = 12 + parts.reduce((n, c) => n + c.length, 0);
  const s = new Uint8Array(total);
  const v = new DataView(s.buffer);
  const port = portOf(p.flow);
  v.setUint16(0, port);
  v.setUint16(2, port);
  v.setUint32(4, p.vtag ?? 0);
  let off = 12;
  for (const c of parts) {
    s.set(c, off);
    off += c.length;
  }
  v.setUint32(8, sctpCrc32c(s, 0, s.length), true);
  return ipv4(src, dst, 132, s);
}

/** Cuts the timeout out of each table.jsonl line and returns both. */
function split(text: string): { lines: string[]; timeouts: number[] } {
  const lines: string[] = [];
  const timeouts: number[] = [];
  for (const l of text.split("\n")) {
    if (!l) continue;
    timeouts.push(Number(/"timeout": (\d+), /.exec(l)?.[1] ?? -1));
    lines.push(l.replace(/"timeout": \d+, /, ""));
  }
  return { lines, timeouts };
}

describe("crafted protocol flows: ctreplay vs the live kernel", async () => {
  const { oraclePreflight, runKernel, OracleError, RawPcapWriter } = await import(
    "../engine/oracle/index.js"
  );
  const why = await oraclePreflight();
  if (why !== null) {
    it.skip(`kernel oracle unavailable: ${why}`, () => {});
    return;
  }
  it("same table (timeouts within 1 s) and conntrack -S counters", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "ctreplay-proto-live-"));
    try {
      const capture = path.join(dir, "crafted.pcap");
      const w = new RawPcapWriter(capture);
      const base = 1_700_000_000;
      for (const p of CRAFTED_FLOWS) {
        const ns = Math.round(p.t * 1e9);
        w.write(base + Math.floor(ns / 1e9), ns % 1e9, build(p));
      }
      w.close();
      const k = await runKernel({ capture, outDir: path.join(dir, "kernel"), speed: 1 });
      if (k instanceof OracleError) throw new Error(k.toString());
      const r = await replayCaptures([k.replayedPcap], resolveSettings(), { endTime: k.dumpTime });
      const mine = split(tableJsonl(r.conntrack, r.endJiffies));
      const kernelTable = path.join(dir, "kernel", "table.jsonl");
      expect(existsSync(kernelTable)).toBe(true);
      const kernel = split(readFileSync(kernelTable, "utf8"));
      expect(kernel.lines.length).toBe(21); // as in proto-kernel-observed.test.ts
      expect(mine.lines).toEqual(kernel.lines);
      mine.timeouts.forEach((t, i) => {
        expect(Math.abs(t - kernel.timeouts[i]!)).toBeLessThanOrEqual(1);
      });
      for (const [key, val] of Object.entries(k.stats.total))
        expect([key, r.stats[key as keyof typeof r.stats]]).toEqual([key, val]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
