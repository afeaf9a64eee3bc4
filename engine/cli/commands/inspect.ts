/**
 * `ctreplay inspect CAPTURE...`: what a capture holds as the decode stage sees it (format, interfaces, link
 * types, packets by L3/L4, fragments, checksums, skipped/malformed packets, time span). No conntrack.
 * `--json` prints one JSON object per capture, one per line (JSON Lines). Exit 2 if any input was unusable.
 */
import type { Command } from "commander";
import { CaptureError, linkTypeName, openCapture, RecordBatch } from "../../capture/index.js";
import { Decoder } from "../../decode/index.js";

export interface InspectResult {
  file: string;
  format: "pcap" | "pcapng" | null;
  gzip: boolean | null;
  byteOrder: "LE" | "BE" | null;
  nanosecond: boolean | null;
  sections: number;
  interfaces: { linkType: number; name: string; snaplen: number; tsresol: string; section: number }[];
  /** Records per link type. */
  linkTypes: { linkType: number; name: string; records: number }[];
  /** Records read. */
  packets: number;
  ipv4: number;
  ipv6: number;
  /** Datagrams conntrack would see (after reassembly, without skipped packets). */
  rows: number;
  l4: Record<string, number>;
  fragments: number;
  reassembled: number;
  fragSets: {
    timeouts: number;
    incomplete: number;
    evicted: number;
    refused: number;
    bad: number;
    reinit: number;
  };
  fragDuplicates: number;
  badChecksum: Record<string, number>;
  truncated: number;
  /** Datagrams ip_route_input would drop as martians after conntrack saw them (never confirmed). */
  martian: number;
  /** Decode: records that never reach conntrack, by reason. */
  skipped: Record<string, number>;
  /** Capture reader: skipped blocks/records and odd records, by reason. */
  captureSkipped: Record<string, number>;
  firstTime: number | null;
  lastTime: number | null;
  error: string | null;
}

export interface InspectOptions {
  strict?: boolean;
  verifyChecksums?: boolean;
}

/** Reads and decodes one capture completely. Input errors are values in `error`. */
export async function inspectCapture(file: string, opts: InspectOptions = {}): Promise<InspectResult> {
  const dec = new Decoder({ verifyChecksums: opts.verifyChecksums ?? true });
  const res: InspectResult = {
    file,
    format: null,
    gzip: null,
    byteOrder: null,
    nanosecond: null,
    sections: 0,
    interfaces: [],
    linkTypes: [],
    packets: 0,
    ipv4: 0,
    ipv6: 0,
    rows: 0,
    l4: {},
    fragments: 0,
    reassembled: 0,
    fragSets: { timeouts: 0, incomplete: 0, evicted: 0, refused: 0, bad: 0, reinit: 0 },
    fragDuplicates: 0,
    badChecksum: {},
    truncated: 0,
    martian: 0,
    skipped: {},
    captureSkipped: {},
    firstTime: null,
    lastTime: null,
    error: null,
  };
  const reader = await openCapture(file, { strict: opts.strict === true });
  if (reader instanceof CaptureError) {
    res.error = reader.toString();
    return res;
  }
  const perLinkType = new Map<number, number>();
  try {
    const rec = new RecordBatch(4096);
    while ((await reader.readBatch(rec)) > 0) {
      for (let i = 0; i < rec.count; i++) {
        const lt = rec.linkType[i]!;
        perLinkType.set(lt, (perLinkType.get(lt) ?? 0) + 1);
      }
      // Only the decoder's counters are reported: the rows stay in the decoder's own batch.
      for (let from = 0; from < rec.count; from = dec.next) dec.decodeInPlace(rec, from);
    }
    dec.finish();
    res.error = reader.error ? reader.error.toString() : null;
    res.captureSkipped = { ...reader.skipped };
    const info = reader.info;
    res.format = info.format;
    res.gzip = info.gzip;
    res.byteOrder = info.byteOrder;
    res.nanosecond = info.nanosecond;
    res.sections = info.sections;
    res.interfaces = info.interfaces.map((itf) => ({
      linkType: itf.linkType,
      name: linkTypeName(itf.linkType),
      snaplen: itf.snaplen,
      tsresol: itf.tsresol,
      section: itf.section,
    }));
  } finally {
    await reader.close();
  }
  res.linkTypes = [...perLinkType.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([linkType, records]) => ({ linkType, name: linkTypeName(linkType), records }));
  const s = dec.stats;
  res.packets = s.packets;
  res.ipv4 = s.ipv4;
  res.ipv6 = s.ipv6;
  res.rows = s.rows;
  res.l4 = s.l4ByName();
  res.fragments = s.fragments;
  res.reassembled = s.frag.reassembled;
  res.fragSets = {
    timeouts: s.frag.timeouts,
    incomplete: s.frag.incomplete,
    evicted: s.frag.evicted,
    refused: s.frag.refused,
    bad: s.frag.bad,
    reinit: s.frag.reinit,
  };
  res.fragDuplicates = s.frag.duplicates;
  res.badChecksum = s.badChecksumByName();
  res.truncated = s.truncated;
  res.martian = s.martian;
  res.skipped = s.skippedByReason();
  res.firstTime = Number.isNaN(s.firstTime) ? null : s.firstTime;
  res.lastTime = Number.isNaN(s.lastTime) ? null : s.lastTime;
  return res;
}

function counts(o: Record<string, number>): string {
  const e = Object.entries(o).sort((a, b) => b[1] - a[1]);
  return e.length === 0 ? "none" : e.map(([k, v]) => `${k} ${v}`).join(", ");
}

function iso(t: number | null): string {
  return t === null ? "-" : new Date(t * 1000).toISOString();
}

/** Human-readable report of one capture. */
export function formatInspect(r: InspectResult): string {
  const lines: string[] = [];
  lines.push(`${r.file}`);
  if (r.format !== null) {
    const fmt = `${r.format}${r.gzip ? " (gzip)" : ""}, ${r.byteOrder}${r.nanosecond ? ", nanosecond" : ""}`;
    lines.push(`  format       ${fmt}, ${r.sections} section(s), ${r.interfaces.length} interface(s)`);
    for (const itf of r.interfaces) {
      lines.push(
        `    if         section ${itf.section}: ${itf.name} (${itf.linkType}), snaplen ${itf.snaplen}, tsresol ${itf.tsresol}`,
      );
    }
  }
  lines.push(
    `  link types   ${r.linkTypes.map((l) => `${l.name} (${l.linkType}) ${l.records}`).join(", ") || "none"}`,
  );
  lines.push(
    `  packets      ${r.packets} records: IPv4 ${r.ipv4}, IPv6 ${r.ipv6}; ${r.rows} datagrams to conntrack`,
  );
  lines.push(`  l4           ${counts(r.l4)}`);
  const fs = r.fragSets;
  lines.push(
    `  fragments    ${r.fragments} frames, ${r.reassembled} reassembled; sets incomplete ${fs.incomplete}, timed out ${fs.timeouts}, bad ${fs.bad}, evicted ${fs.evicted}, refused ${fs.refused}; duplicates ${r.fragDuplicates}`,
  );
  lines.push(`  bad checksum ${counts(r.badChecksum)}`);
  lines.push(`  truncated    ${r.truncated} datagrams cut by snaplen`);
  if (r.martian > 0)
    lines.push(`  martian      ${r.martian} datagrams (routing drops them after conntrack: never confirmed)`);
  lines.push(`  skipped      ${counts(r.skipped)}`);
  if (Object.keys(r.captureSkipped).length > 0) lines.push(`  reader       ${counts(r.captureSkipped)}`);
  const span =
    r.firstTime !== null && r.lastTime !== null ? ` (${(r.lastTime - r.firstTime).toFixed(6)} s)` : "";
  lines.push(`  time         ${iso(r.firstTime)} .. ${iso(r.lastTime)}${span}`);
  if (r.error !== null) lines.push(`  ERROR        ${r.error}`);
  return lines.join("\n");
}

interface InspectCliOptions {
  json?: boolean;
  strict?: boolean;
  checksum: boolean;
}

export function register(program: Command): void {
  program
    .command("inspect")
    .description(
      "Show what captures hold as ctreplay decodes them: format, interfaces, link types, packets by L3/L4,\n" +
        "fragments, bad checksums, skipped and malformed packets, time span. Exit 2 if any input is unusable.",
    )
    .argument("<capture...>", "pcap / pcapng files (optionally gzip), '-' for stdin")
    .option("--json", "one JSON object per capture, one per line (JSON Lines)")
    .option("--strict", "any malformed capture record is a fatal input error")
    .option("--no-checksum", "do not verify IPv4 header and L4 checksums (like nf_conntrack_checksum=0)")
    .action(async (files: string[], o: InspectCliOptions) => {
      let failed = false;
      for (const f of files) {
        const r = await inspectCapture(f, { strict: o.strict === true, verifyChecksums: o.checksum });
        if (r.error !== null) failed = true;
        process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : `${formatInspect(r)}\n`);
      }
      if (failed) process.exitCode = 2;
    });
}
