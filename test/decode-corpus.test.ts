/**
 * Decodes every capture of ../shared/captures and compares packet counts with MANIFEST.md (tshark 4.0
 * columns). Deviations are listed per file with the reason; they are asserted exactly, not tolerated.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CaptureError, openCapture, RecordBatch } from "../engine/capture/index.js";
import { Decoder } from "../engine/decode/index.js";
import { PacketBatch } from "../engine/decode/packet-batch.js";
import { capturesDir, haveCorpus } from "./decode-helpers.js";

interface Row {
  records: number;
  ipv4: number;
  ipv6: number;
}

function manifest(): Map<string, Row> {
  const text = readFileSync(path.join(capturesDir, "MANIFEST.md"), "utf8");
  const lines = text.split("\n").filter((l) => l.startsWith("|"));
  const head = lines[0]!.split("|").map((c) => c.trim());
  const col = (name: string) => head.findIndex((h) => h.startsWith(name));
  const iFile = col("file");
  const iRec = col("records");
  const i4 = col("IPv4");
  const i6 = col("IPv6");
  const m = new Map<string, Row>();
  for (const l of lines.slice(2)) {
    const c = l.split("|").map((x) => x.trim());
    m.set(c[iFile]!.replace(/`/g, ""), {
      records: Number(c[iRec]),
      ipv4: Number(c[i4]),
      ipv6: Number(c[i6]),
    });
  }
  return m;
}

/** Where our per-frame L3 counts legitimately differ from tshark's "ip/ipv6 at any depth" columns. */
const DEVIATIONS: Record<string, { ipv4?: number; ipv6?: number; records?: number; why: string }> = {
  "ipip-6in4-tunnel.pcap": { ipv6: 0, why: "6in4 (proto 41): conntrack tracks the outer IPv4 only" },
  "teredo.pcap": { ipv6: 0, why: "Teredo IPv6 inside UDP/3544 is not decoded (outer UDP is tracked)" },
  "mixed-wireshark-samples-ns.pcapng": { ipv6: 250 - 13, why: "13 Teredo frames carry IPv6 inside UDP" },
  "mixed-tcpreplay-vlan-mpls-ipv6.pcap": {
    ipv4: 166 - 10,
    why: "10 MPLS pseudowire frames (control word + Ethernet + VLAN + IPv4): not IP after the label stack",
  },
  "malformed-bogus-caplen.pcap": {
    ipv4: 1,
    why: "tshark resyncs the damaged file and reads record 1 at another offset; the header walk's record 1 is IPv4",
  },
  "malformed-oversized-last-record.pcap": {
    records: 6,
    why: "the 7th record runs past EOF: a fatal reader error after 6 records (tshark also reads 6)",
  },
};

async function decodeFile(file: string, outCapacity = 8192) {
  const r = await openCapture(path.join(capturesDir, file));
  if (r instanceof CaptureError) throw new Error(r.toString());
  const dec = new Decoder();
  const rec = new RecordBatch(4096);
  const out = new PacketBatch(outCapacity);
  const rows: string[] = [];
  try {
    while ((await r.readBatch(rec)) > 0) {
      let from = 0;
      while (from < rec.count) {
        out.count = 0;
        from = dec.decode(rec, from, out);
        for (let i = 0; i < out.count; i++) {
          rows.push(
            `${out.packetNo[i]}:${out.proto[i]}:${out.sport[i]}:${out.dport[i]}:${out.l4len[i]}:${out.l4flags[i]}`,
          );
        }
      }
    }
    dec.finish();
  } finally {
    await r.close();
  }
  return { stats: dec.stats, rows, error: r.error };
}

describe.skipIf(!haveCorpus)("decode: whole corpus vs MANIFEST.md", () => {
  const m = haveCorpus ? manifest() : new Map<string, Row>();
  const files = haveCorpus ? readdirSync(capturesDir).filter((f) => f !== "MANIFEST.md") : [];

  it("MANIFEST lists every capture", () => {
    expect(files.length).toBeGreaterThan(30);
    for (const f of files) expect(m.has(f), f).toBe(true);
  });

  for (const file of files) {
    it(file, async () => {
      const want = m.get(file)!;
      const dev = DEVIATIONS[file] ?? {};
      const { stats } = await decodeFile(file);
      expect(stats.packets).toBe(dev.records ?? want.records);
      expect(stats.ipv4).toBe(dev.ipv4 ?? want.ipv4);
      expect(stats.ipv6).toBe(dev.ipv6 ?? want.ipv6);
      // Every record is accounted for exactly once: a row, a skip, or a fragment (held, dropped, or the one
      // that completed a datagram; truncated fragments and IPv6 -EPROTO pass-throughs are counted twice).
      const skipped = Object.values(stats.skippedByReason()).reduce((a, b) => a + b, 0);
      const skippedFrag = stats.skippedByReason()["truncated-fragment"] ?? 0;
      expect(
        stats.rows - stats.frag.reassembled + stats.fragments + skipped - skippedFrag - stats.frag.passed,
      ).toBe(stats.packets);
      const l4 = Object.values(stats.l4ByName()).reduce((a, b) => a + b, 0);
      expect(l4).toBe(stats.rows);
    });
  }

  it("mixed-tcpreplay: the two IGMP frames from multicast source 235.247.89.226 are martians (oracle: no entry)", async () => {
    const { stats } = await decodeFile("mixed-tcpreplay-vlan-mpls-ipv6.pcap");
    expect(stats.martian).toBe(2);
  });

  it("resuming when the output batch is full gives the same rows (capacity 8 vs 8192)", async () => {
    const a = await decodeFile("mixed-wireshark-samples-ns.pcapng", 8);
    const b = await decodeFile("mixed-wireshark-samples-ns.pcapng", 8192);
    expect(a.rows.length).toBe(b.stats.rows);
    expect(a.rows).toEqual(b.rows);
  });
});
