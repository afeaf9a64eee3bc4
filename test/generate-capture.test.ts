/** The capture generator: determinism, readable output, valid checksums, flow structure, formats, default.pcap. */
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { generateCapture, generateToBuffer, PRESETS, resolveOptions } from "../captures/generate.js";
import { openCapture, RecordBatch } from "../engine/capture/index.js";
import { Decoder } from "../engine/decode/index.js";
import { PacketBatch } from "../engine/decode/packet-batch.js";
import {
  type Dissected,
  dissectFrame,
  flowKey,
  parsePcap,
  parsePcapng,
  type Rec,
} from "./generate-helpers.js";

const repoRoot = path.resolve(import.meta.dirname, "..");

async function gen(opts: Parameters<typeof generateToBuffer>[0]) {
  const r = await generateToBuffer(opts);
  if (typeof r === "string") throw new Error(r);
  return r;
}

const TH_FIN = 1;
const TH_SYN = 2;
const TH_RST = 4;
const TH_ACK = 16;

describe("determinism", () => {
  it("same seed gives the same bytes, a different seed different bytes", async () => {
    const a = await gen({ seed: 11, flows: 300, concurrent: 40 });
    const b = await gen({ seed: 11, flows: 300, concurrent: 40 });
    const c = await gen({ seed: 12, flows: 300, concurrent: 40 });
    expect(a.bytes.length).toBeGreaterThan(10_000);
    expect(Buffer.compare(a.bytes, b.bytes)).toBe(0);
    expect(Buffer.compare(a.bytes, c.bytes)).not.toBe(0);
  });

  it("a streamed multi-chunk file equals the in-memory capture", async () => {
    // > 8 MB so the writer flushes several chunks.
    const dir = await mkdtemp(path.join(tmpdir(), "ctreplay-gen-"));
    try {
      const file = path.join(dir, "big.pcap");
      const opts = { seed: 3, flows: 40_000, concurrent: 2000, durationS: 60 };
      const r = await generateCapture(file, opts);
      if (typeof r === "string") throw new Error(r);
      const onDisk = await readFile(file);
      expect(onDisk.length).toBeGreaterThan(9 << 20);
      expect(r.bytes).toBe(onDisk.length);
      const mem = await gen(opts);
      expect(Buffer.compare(onDisk, mem.bytes)).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("a bulk capture read independently", async () => {
  const { bytes, result } = await gen({ seed: 7, packets: 20_000, concurrent: 300, durationS: 120 });
  const pcap = await parsePcap(bytes);
  const pkts: Dissected[] = pcap.recs.map((r) => dissectFrame(r.data));

  it("pcap-parser reads every record; count near the requested packets", () => {
    expect(pcap.linkType).toBe(1);
    expect(pcap.recs.length).toBe(result.packets);
    expect(result.packets).toBeGreaterThan(20_000 * 0.85);
    expect(result.packets).toBeLessThan(20_000 * 1.15);
  });

  it("full-size frames: caplen = origlen = 14 + IP total length; timestamps never go back; spans minutes", () => {
    let prev = 0;
    pcap.recs.forEach((r, i) => {
      expect(r.caplen).toBe(r.origlen);
      expect(r.origlen).toBe(pkts[i].frameLen);
      expect(r.tsUs).toBeGreaterThanOrEqual(prev);
      prev = r.tsUs;
    });
    const span = (pcap.recs[pcap.recs.length - 1].tsUs - pcap.recs[0].tsUs) / 1e6;
    expect(span).toBeGreaterThan(120);
  });

  it("every IPv4 header and L4 checksum (with pseudo-header) verifies", () => {
    const bad = pkts.filter((d) => d.csumError !== null).map((d) => d.csumError);
    expect(bad).toEqual([]);
  });

  it("mixes TCP, UDP, ICMP and ICMPv6; about 10 % of flows are IPv6", () => {
    const protos = new Set(pkts.map((d) => d.proto));
    expect([...protos].sort((a, b) => a - b)).toEqual([1, 6, 17, 58]);
    const flows = new Map<string, boolean>();
    for (const d of pkts) if (d.quote === null) flows.set(flowKey(d), d.v6);
    const v6 = [...flows.values()].filter(Boolean).length / flows.size;
    expect(v6).toBeGreaterThan(0.07);
    expect(v6).toBeLessThan(0.13);
    expect(flows.size).toBe(result.flows);
  });

  it("TCP: every connection starts with a SYN; sequence and ack numbers follow both byte streams", () => {
    const conns = new Map<string, Dissected[]>();
    for (const d of pkts) {
      if (d.proto !== 6) continue;
      const k = flowKey(d);
      const l = conns.get(k);
      if (l) l.push(d);
      else conns.set(k, [d]);
    }
    let handshakes = 0;
    let fins = 0;
    let rsts = 0;
    let halfOpen = 0;
    for (const segs of conns.values()) {
      const first = segs[0];
      expect(first.flags).toBe(TH_SYN);
      const client = `${first.src}/${first.sport}`;
      const next = new Map<string, number>(); // next expected seq per sender
      for (const d of segs) {
        const from = `${d.src}/${d.sport}`;
        const peer = from === client ? "server" : "client";
        const me = from === client ? "client" : "server";
        if (d.flags & TH_SYN) {
          next.set(me, (d.seq + 1) >>> 0);
        } else if (next.has(me)) {
          expect(d.seq).toBe(next.get(me));
          next.set(me, (d.seq + d.payload + (d.flags & TH_FIN ? 1 : 0)) >>> 0);
        } else {
          expect(d.flags & TH_RST).toBeTruthy(); // a refusing RST is the only first segment without SYN
        }
        if (d.flags & TH_ACK && next.has(peer)) {
          // Acks everything the peer sent (a FIN crossing the peer's FIN acks one less).
          const want = next.get(peer)!;
          expect([want, (want - 1) >>> 0]).toContain(d.ack);
          if (d.ack !== want) expect(d.flags & TH_FIN).toBeTruthy();
        }
        if (d.flags & TH_FIN) fins++;
        if (d.flags & TH_RST) rsts++;
      }
      if (segs.length > 2 && segs[1].flags === (TH_SYN | TH_ACK) && segs[2].flags === TH_ACK) handshakes++;
      if (segs.every((d) => d.flags === TH_SYN)) halfOpen++;
    }
    expect(handshakes).toBeGreaterThan(conns.size * 0.5);
    expect(fins).toBeGreaterThan(0);
    expect(rsts).toBeGreaterThan(0);
    expect(halfOpen).toBeGreaterThan(0);
  });

  it("UDP streams answer for more than 2 s; ICMP errors quote a UDP datagram seen earlier", () => {
    const udp = new Map<string, { first: number; lastReply: number; client: string }>();
    const sent = new Set<string>();
    pcap.recs.forEach((r, i) => {
      const d = pkts[i];
      if (d.proto === 17) {
        const k = flowKey(d);
        const f = udp.get(k);
        if (!f) udp.set(k, { first: r.tsUs, lastReply: 0, client: d.src });
        else if (d.src !== f.client) f.lastReply = r.tsUs;
        sent.add(`${d.src}/${d.sport}>${d.dst}/${d.dport}`);
      }
      if (d.quote !== null) {
        const q = dissectIpQuote(d.quote);
        expect(sent.has(q)).toBe(true);
        expect(d.dst).toBe(q.split("/")[0]); // the error goes back to the sender
      }
    });
    const long = [...udp.values()].filter((f) => f.lastReply - f.first > 2e6);
    expect(long.length).toBeGreaterThan(10);
    expect(pkts.some((d) => d.quote !== null && !d.v6 && d.type === 3 && d.code === 3)).toBe(true);
    expect(pkts.some((d) => d.quote !== null && d.v6 && d.type === 1 && d.code === 4)).toBe(true);
  });

  it("the engine's reader and decoder agree: same count, no bad checksum, nothing skipped", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "ctreplay-gen-"));
    try {
      const file = path.join(dir, "c.pcap");
      const { writeFile } = await import("node:fs/promises");
      await writeFile(file, bytes);
      const stats = await decodeFile(file);
      expect(stats.records).toBe(result.packets);
      expect(stats.rows).toBe(result.packets);
      expect(stats.ipv6).toBe(result.ipv6Packets);
      expect(stats.bad).toBe(0);
      expect(stats.skipped).toEqual({});
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function dissectIpQuote(q: Uint8Array): string {
  // Reuse the frame dissector on a fake Ethernet frame around the quoted datagram.
  const f = new Uint8Array(14 + q.length);
  f[12] = q[0] >> 4 === 6 ? 0x86 : 0x08;
  f[13] = q[0] >> 4 === 6 ? 0xdd : 0x00;
  f.set(q, 14);
  const d = dissectFrame(f);
  return `${d.src}/${d.sport}>${d.dst}/${d.dport}`;
}

async function decodeFile(file: string) {
  const reader = await openCapture(file);
  if (!("readBatch" in reader)) throw new Error(String(reader));
  const rec = new RecordBatch(4096);
  const out = new PacketBatch(4096);
  const dec = new Decoder();
  let records = 0;
  for (;;) {
    const n = await reader.readBatch(rec);
    if (n === 0) break;
    records += n;
    let from = 0;
    while (from < rec.count) {
      out.count = 0;
      from = dec.decode(rec, from, out);
    }
  }
  dec.finish();
  await reader.close();
  expect(reader.error).toBeNull();
  let bad = 0;
  for (const v of dec.stats.badChecksum) bad += v;
  return {
    records,
    rows: dec.stats.rows,
    ipv6: dec.stats.ipv6,
    bad,
    skipped: dec.stats.skippedByReason(),
  };
}

describe("formats and cuts", () => {
  const base = { seed: 21, flows: 400, concurrent: 30 };

  it("pcapng carries the same frames and timestamps as pcap (µs, if_tsresol 6)", async () => {
    const a = await gen({ ...base, format: "pcap" });
    const b = await gen({ ...base, format: "pcapng" });
    const pa = await parsePcap(a.bytes);
    const pb = parsePcapng(b.bytes);
    expect(pb.linkType).toBe(1);
    expect(pb.tsresol).toBe(6);
    expect(pb.recs.length).toBe(pa.recs.length);
    pa.recs.forEach((r: Rec, i) => {
      const o = pb.recs[i];
      expect([o.tsUs, o.caplen, o.origlen]).toEqual([r.tsUs, r.caplen, r.origlen]);
      expect(Buffer.compare(o.data, r.data)).toBe(0);
    });
  });

  it("headers-only: the same packets cut right after their headers, origlen kept", async () => {
    const full = await parsePcap((await gen(base)).bytes);
    const cut = await parsePcap((await gen({ ...base, headersOnly: true })).bytes);
    expect(cut.recs.length).toBe(full.recs.length);
    let shorter = 0;
    full.recs.forEach((r, i) => {
      const c = cut.recs[i];
      const d = dissectFrame(r.data);
      expect(c.origlen).toBe(r.origlen);
      expect(c.caplen).toBe(d.headerLen);
      expect(Buffer.compare(c.data, r.data.subarray(0, c.caplen))).toBe(0);
      if (c.caplen < r.caplen) shorter++;
    });
    expect(shorter).toBeGreaterThan(full.recs.length / 3);
  });

  it("snaplen cuts frames and is written in the file header", async () => {
    const cut = await parsePcap((await gen({ ...base, snaplen: 96 })).bytes);
    expect(cut.snaplen).toBe(96);
    expect(Math.max(...cut.recs.map((r) => r.caplen))).toBe(96);
    expect(cut.recs.some((r) => r.origlen > 96)).toBe(true);
  });
});

describe("options", () => {
  it("rejects bad values with the option's name", () => {
    expect(resolveOptions({ ipv6Share: 1.5 })).toMatch(/--ipv6-share/);
    expect(resolveOptions({ concurrent: 0 })).toMatch(/--concurrent/);
    expect(resolveOptions({ snaplen: 10 })).toMatch(/--snaplen/);
    expect(resolveOptions({ flows: 2.5 })).toMatch(/--flows/);
    expect(typeof resolveOptions({ seed: 1 })).toBe("object");
  });

  it("ipv6Share 0 and 1 give pure IPv4 and pure IPv6 captures", async () => {
    const v4 = await gen({ seed: 2, flows: 100, ipv6Share: 0 });
    const v6 = await gen({ seed: 2, flows: 100, ipv6Share: 1 });
    expect(v4.result.ipv6Packets).toBe(0);
    expect(v6.result.ipv6Packets).toBe(v6.result.packets);
  });
});

describe("captures/default.pcap", () => {
  it("is byte-identical to the generator's default preset (regenerate: npm run gen:default)", async () => {
    const committed = readFileSync(path.join(repoRoot, "captures/default.pcap"));
    const { bytes } = await gen(PRESETS.default);
    expect(committed.length).toBeLessThan(2_000_000);
    expect(Buffer.compare(committed, bytes)).toBe(0);
  });
});
