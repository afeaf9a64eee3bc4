/** Shared by the oracle tests: why they cannot run here, synthetic raw-IP captures, paths. */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { oraclePreflight } from "../engine/oracle/kernel.js";
import { RawPcapWriter } from "../engine/oracle/pcap-raw.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const capturesDir = path.resolve(repoRoot, "../shared/captures");
export const koDir = path.resolve(repoRoot, "../shared/kernel-oracle");

let cached: Promise<string | null> | null = null;
/** null when the kernel oracle can run on this machine, else the reason (printed by the skipping test). */
export function oracleUnavailable(): Promise<string | null> {
  cached ??= oraclePreflight();
  return cached;
}

function csum(b: Uint8Array, from: number, to: number, init = 0): number {
  let s = init;
  for (let i = from; i < to; i += 2) s += ((b[i] as number) << 8) | (i + 1 < to ? (b[i + 1] as number) : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** IPv4 header (valid checksum) + payload. */
export function ipv4(src: number, dst: number, proto: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  const v = new DataView(p.buffer);
  p[0] = 0x45;
  v.setUint16(2, p.length);
  v.setUint16(6, 0x4000);
  p[8] = 64;
  p[9] = proto;
  v.setUint32(12, src >>> 0);
  v.setUint32(16, dst >>> 0);
  v.setUint16(10, csum(p, 0, 20));
  p.set(payload, 20);
  return p;
}

/** UDP header with checksum 0 ("none", legal over IPv4). */
export function udp(sport: number, dport: number, payloadLen = 0): Uint8Array {
  const u = new Uint8Array(8 + payloadLen);
  const v = new DataView(u.buffer);
  v.setUint16(0, sport);
  v.setUint16(2, dport);
  v.setUint16(4, u.length);
  return u;
}

export const ip = (a: number, b: number, c: number, d: number): number =>
  ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

/** N distinct new UDP flows (10.x.y.z:port -> 172.16.0.1:53), one packet each, 1 µs apart. */
export function writeUdpFlows(
  file: string,
  n: number,
  opts: { spacingNs?: number; start?: number } = {},
): void {
  const w = new RawPcapWriter(file);
  const spacing = opts.spacingNs ?? 1000;
  let t = (opts.start ?? 1_700_000_000) * 1e9;
  for (let i = 0; i < n; i++) {
    const src = ((10 << 24) | (i + 1)) >>> 0;
    w.write(Math.floor(t / 1e9), t % 1e9, ipv4(src, ip(172, 16, 0, 1), 17, udp(1024 + (i % 60000), 53)));
    t += spacing;
  }
  w.close();
}

export function listCaptures(): string[] {
  if (!existsSync(capturesDir)) return [];
  return readdirSync(capturesDir)
    .filter((f) => /\.(pcap|pcapng)(\.gz)?$/.test(f))
    .sort();
}
