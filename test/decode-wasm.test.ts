/**
 * The WebAssembly fast path (engine/decode/fast-path.ts) against the JavaScript decoder alone: every corpus
 * capture and the bundled default capture, read as the CLI reads them, give the same rows and counters
 * with the fast path on and off, whatever the output batch's size; and a window that mixes
 * fast records with records the JavaScript decoder takes (rows, skips, fragments) keeps capture order.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { chunkBuffer } from "../engine/capture/chunk-memory.js";
import { CaptureError, openCapture, RecordBatch } from "../engine/capture/index.js";
import { csumFinish, sumBytesSlow } from "../engine/decode/checksum.js";
import { FAST_SLOTS, fastPathUnavailable } from "../engine/decode/fast-path.js";
import { Decoder } from "../engine/decode/index.js";
import {
  L4_ICMP_INNER_OK,
  PacketBatch,
  TCPOPT_SACK_PERM,
  TCPOPT_WSCALE,
} from "../engine/decode/packet-batch.js";
import {
  capturesDir,
  decodeFrames,
  type Frame,
  haveCorpus,
  hex,
  repoRoot,
  rowKey,
} from "./decode-helpers.js";

interface Decoded {
  rows: string[];
  stats: string;
  fastRows: number;
}

/** decodeFile() with decodeInPlace(): the rows in the decoder's own batch (the fast path's window). */
async function decodeFileInPlace(file: string, fastPath: boolean): Promise<Decoded> {
  const r = await openCapture(file);
  if (r instanceof CaptureError) throw new Error(r.toString());
  const dec = new Decoder({ fastPath });
  const rec = new RecordBatch(8192);
  const rows: string[] = [];
  try {
    for (let n = await r.readBatch(rec); n > 0; n = await r.readBatch(rec)) {
      for (let from = 0; from < n; from = dec.next) {
        const out = dec.decodeInPlace(rec, from);
        expect(dec.next).toBeGreaterThan(from);
        for (let i = 0; i < out.count; i++) rows.push(rowKey(out, i));
      }
    }
    dec.finish();
  } finally {
    await r.close();
  }
  return { rows, stats: JSON.stringify(dec.stats.toJSON()), fastRows: dec.fastRows };
}

async function decodeFile(file: string, fastPath: boolean, outCapacity: number): Promise<Decoded> {
  const r = await openCapture(file);
  if (r instanceof CaptureError) throw new Error(r.toString());
  const dec = new Decoder({ fastPath });
  const rec = new RecordBatch(8192);
  const out = new PacketBatch(outCapacity);
  const rows: string[] = [];
  try {
    for (;;) {
      const n = await r.readBatch(rec);
      if (n === 0) break;
      let from = 0;
      while (from < n) {
        out.count = 0;
        from = dec.decode(rec, from, out);
        for (let i = 0; i < out.count; i++) rows.push(rowKey(out, i));
      }
    }
    dec.finish();
  } finally {
    await r.close();
  }
  return { rows, stats: JSON.stringify(dec.stats.toJSON()), fastRows: dec.fastRows };
}

const files = haveCorpus
  ? readdirSync(capturesDir)
      .filter((f) => /\.pcap(ng)?(\.gz)?$/.test(f))
      .map((f) => path.join(capturesDir, f))
  : [];
files.push(path.join(repoRoot, "captures/default.pcap"));

/** Section ids of a WebAssembly binary, in order. */
function sectionIds(bin: Uint8Array): number[] {
  const ids: number[] = [];
  let i = 8; // magic + version
  while (i < bin.length) {
    ids.push(bin[i++]!);
    let size = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = bin[i++]!;
      size |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    i += size;
  }
  return ids;
}

describe("decode: the WebAssembly fast path module", () => {
  it("is built, imports only the chunk's memory and writes nothing into it when instantiated", () => {
    expect(fastPathUnavailable()).toBeNull();
    const bin = readFileSync(path.join(repoRoot, "engine/decode/wasm/fast-path.wasm"));
    const mod = new WebAssembly.Module(bin);
    expect(WebAssembly.Module.imports(mod)).toEqual([{ module: "env", name: "memory", kind: "memory" }]);
    // Data (11) or start (8) sections would write over the chunk's first bytes at instantiation.
    const ids = sectionIds(bin);
    expect(ids).toContain(10); // code
    expect(ids).not.toContain(11);
    expect(ids).not.toContain(8);
  });
});

describe("decode: the WebAssembly fast path gives the JavaScript decoder's rows", () => {
  let fastRows = 0;
  for (const file of files) {
    it(path.basename(file), async () => {
      const js = await decodeFile(file, false, 8192);
      expect(js.fastRows).toBe(0);
      for (const capacity of [8192, 5]) {
        const wasm = await decodeFile(file, true, capacity);
        expect(wasm.stats).toBe(js.stats);
        expect(wasm.rows).toEqual(js.rows);
        fastRows += wasm.fastRows;
      }
      // decodeInPlace: the same rows, in the fast path's window or (fast path off) the decoder's batch.
      for (const fast of [true, false]) {
        const inPlace = await decodeFileInPlace(file, fast);
        expect(inPlace.stats).toBe(js.stats);
        expect(inPlace.rows).toEqual(js.rows);
        if (!fast) expect(inPlace.fastRows).toBe(0);
      }
    });
  }
  it("decoded most rows of the default capture", async () => {
    const d = await decodeFile(path.join(repoRoot, "captures/default.pcap"), true, 8192);
    expect(d.fastRows).toBeGreaterThan(0.9 * d.rows.length);
    expect(fastRows).toBeGreaterThan(d.fastRows);
  });
});

/** An Ethernet frame carrying an IPv4 datagram (header checksum computed), optionally VLAN-tagged. */
function ipv4Frame(
  proto: number,
  l4: string,
  opts: { off8?: number; more?: boolean; vlan?: boolean } = {},
): string {
  const len = 20 + l4.length / 2;
  const fl = (opts.more ? 0x20 : 0) | ((opts.off8 ?? 0) >> 8);
  const ip = [0x45, 0, len >> 8, len & 255, 0x12, 0x34, fl, (opts.off8 ?? 0) & 255, 64, proto, 0, 0];
  ip.push(192, 168, 0, 1, 192, 168, 0, 199);
  const sum = csumFinish(sumBytesSlow(Uint8Array.from(ip), 0, 20));
  ip[10] = sum >> 8;
  ip[11] = sum & 255;
  return `020000000002020000000001 ${opts.vlan ? "8100 0005 " : ""}0800 ${Buffer.from(ip).toString("hex")} ${l4}`;
}

// A TCP SYN with MSS, SACK-permitted, timestamps and window scale (fast), the same behind a VLAN tag
// (JavaScript, a row), ARP (JavaScript, no row), and an ICMP echo in two fragments (JavaScript; one row,
// on the second).
const TCP_SYN = "a0be0050c7d6b0b500000000a002faf07e8a0000020405b40402080a0021d25a0000000001030307";
const SYN = ipv4Frame(6, TCP_SYN);
const SYN_VLAN = ipv4Frame(6, TCP_SYN, { vlan: true });
// tcp_options edge cases: window scale 15 (capped at 14) then EOL; two SACK blocks whose second right edge
// is numerically lower but later in sequence space; an option of size 0 (parsing stops).
const TCP_HDR = "a0be0050c7d6b0b5000000010000faf000000000";
const tcpWith = (flags: string, options: string): string =>
  ipv4Frame(6, `${TCP_HDR.slice(0, 24)}a0${flags}${TCP_HDR.slice(28)}${options}`);
const SYN_WS15 = tcpWith("02", `020405b40402010303 0f00${"00".repeat(9)}`.replace(/ /g, ""));
const ACK_SACK = tcpWith("10", "01010512000010000000200000003000f0000500");
const ACK_BADOPT = tcpWith("10", `01010300${"00".repeat(16)}`);
const ARP = "ffffffffffff020000000001 0806 0001080006040001020000000001c0a80001000000000000c0a800c7";
const ECHO = `0800f7ff00000000${"00".repeat(32)}`;
const FRAG1 = ipv4Frame(1, ECHO.slice(0, 48), { more: true });
const FRAG2 = ipv4Frame(1, ECHO.slice(48), { off8: 3 });

describe("decode: fast windows mixed with records the JavaScript decoder takes", () => {
  // A deterministic mix, longer than a window, with runs of each kind.
  const kinds = [
    SYN,
    SYN,
    SYN_VLAN,
    ARP,
    SYN_WS15,
    ARP,
    ARP,
    ACK_SACK,
    FRAG1,
    SYN,
    FRAG2,
    SYN_VLAN,
    ACK_BADOPT,
  ];
  const frames: Frame[] = [];
  for (let k = 0; k < FAST_SLOTS * 2 + 77; k++) {
    const pick = (k * 7 + (k >> 3)) % kinds.length;
    frames.push({ linkType: 1, bytes: hex(kinds[pick]!), t: 1000 + k / 100 });
  }
  const key = (d: ReturnType<typeof decodeFrames>): string[] => {
    const rows: string[] = [];
    for (let i = 0; i < d.out.count; i++) rows.push(rowKey(d.out, i));
    return rows;
  };

  it("gives the JavaScript decoder's rows, counters and holes closed", () => {
    const js = decodeFrames(frames, { fastPath: false }, true, true);
    const wasm = decodeFrames(frames, {}, true, true);
    expect(js.dec.fastRows).toBe(0);
    expect(wasm.dec.fastRows).toBeGreaterThan(frames.length / 3);
    expect(wasm.next).toBe(frames.length);
    expect(JSON.stringify(wasm.stats.toJSON())).toBe(JSON.stringify(js.stats.toJSON()));
    expect(key(wasm)).toEqual(key(js));
    // The same records through decodeInPlace, a window at a time: holes closed inside the window.
    const dec = new Decoder({});
    const rec = new RecordBatch(frames.length);
    const data = chunkBuffer(frames.reduce((a, f) => a + f.bytes.length, 0) + 8);
    let off = 0;
    frames.forEach((f, i) => {
      data.set(f.bytes, off);
      rec.offset[i] = off;
      rec.caplen[i] = rec.origlen[i] = f.bytes.length;
      rec.tsSec[i] = Math.floor(f.t!);
      rec.tsNsec[i] = Math.round((f.t! - Math.floor(f.t!)) * 1e9);
      rec.linkType[i] = f.linkType;
      rec.packetNo[i] = i + 1;
      off += f.bytes.length;
    });
    rec.data = data;
    rec.count = frames.length;
    const inPlace: string[] = [];
    for (let from = 0; from < frames.length; from = dec.next) {
      const out = dec.decodeInPlace(rec, from);
      for (let i = 0; i < out.count; i++) inPlace.push(rowKey(out, i));
    }
    dec.finish();
    expect(inPlace).toEqual(key(js));
    expect(dec.fastRows).toBe(wasm.dec.fastRows);
    expect(JSON.stringify(dec.stats.toJSON())).toBe(JSON.stringify(js.stats.toJSON()));
    // ARP records made no row, fragments one row per pair: fewer rows than records.
    expect(js.out.count).toBeLessThan(frames.length);
    expect(js.stats.packets - js.stats.rows).toBeGreaterThan(frames.length / 4);
    expect(js.stats.frag.reassembled).toBeGreaterThan(0);
  });
});

describe("decode: TCP option layouts the fast path recognises without walking them", () => {
  const TS = "080a0021d25a00000000";
  const WS = (v: number): string => v.toString(16).padStart(2, "0");
  // [name, options (hex), tcpOpt, wscale]: the layouts recognised (Linux's and Windows' SYN options, MSS
  // alone, timestamps alone), then near misses of each, which the fast path must walk.
  const cases: [string, string, number, number][] = [
    ["Linux SYN", `020405b40402${TS}010303${WS(7)}`, TCPOPT_WSCALE | TCPOPT_SACK_PERM, 7],
    ["Linux SYN, shift 15 capped", `020405b40402${TS}010303${WS(15)}`, TCPOPT_WSCALE | TCPOPT_SACK_PERM, 14],
    ["Windows SYN", `020405b4010303${WS(8)}01010402`, TCPOPT_WSCALE | TCPOPT_SACK_PERM, 8],
    [
      "Windows SYN, shift 255 capped",
      `020405b4010303${WS(255)}01010402`,
      TCPOPT_WSCALE | TCPOPT_SACK_PERM,
      14,
    ],
    ["MSS alone", "020405b4", 0, 0],
    ["timestamps alone", `0101${TS}`, 0, 0],
    ["Linux SYN, SACK_PERM of size 3 (the walk loses step, stops)", `020405b40403${TS}010303${WS(7)}`, 0, 0],
    ["Linux SYN, window scale of size 4", `020405b40402${TS}010304${WS(7)}`, TCPOPT_SACK_PERM, 0],
    ["Linux SYN, SACK in place of SACK_PERM", `020405b40502${TS}010303${WS(7)}`, TCPOPT_WSCALE, 7],
    ["Windows SYN, EOL in place of SACK_PERM", `020405b4010303${WS(8)}01010000`, TCPOPT_WSCALE, 8],
    ["Windows SYN, window scale of size 2", `020405b4010302${WS(8)}01010402`, 0, 0],
    [
      "Linux SYN, then another window scale",
      `020405b40402${TS}010303${WS(7)}03030a01`,
      TCPOPT_WSCALE | TCPOPT_SACK_PERM,
      10,
    ],
    ["MSS of size 5", "020505b4", 0, 0],
    ["timestamps of size 9", `0101080900d25a0000000000`, 0, 0],
    ["SACK_PERM alone, padded", "04020101", TCPOPT_SACK_PERM, 0],
  ];
  for (const [name, options, tcpOpt, wscale] of cases) {
    it(name, () => {
      const doff = 5 + options.length / 8;
      const frame = `${TCP_HDR.slice(0, 24)}${(doff << 4).toString(16)}02${TCP_HDR.slice(28)}${options}`;
      const frames: Frame[] = [{ linkType: 1, bytes: hex(ipv4Frame(6, frame)) }];
      // The same options cut by the snaplen inside the last option: what was captured is walked.
      const whole = hex(ipv4Frame(6, frame));
      frames.push({ linkType: 1, bytes: whole.subarray(0, whole.length - 2), orig: whole.length });
      const js = decodeFrames(frames, { fastPath: false }, true, true);
      const wasm = decodeFrames(frames, {}, true, true);
      expect(wasm.dec.fastRows).toBe(2);
      expect(rowKey(wasm.out, 0)).toBe(rowKey(js.out, 0));
      expect(rowKey(wasm.out, 1)).toBe(rowKey(js.out, 1));
      expect([wasm.out.tcpOpt[0], wasm.out.wscale[0]]).toEqual([tcpOpt, wscale]);
    });
  }
});

describe("decode: ICMPv4 errors and the tuple they quote, in the fast path", () => {
  /** An IPv4 header (20 bytes, or with `options`) quoted by an error; its checksum is not checked. */
  const quoted = (
    proto: number,
    l4: string,
    o: { off8?: number; ihl?: number; options?: string } = {},
  ): string => {
    const opt = o.options ?? "";
    const ihl = o.ihl ?? 5 + opt.length / 8;
    const len = 20 + opt.length / 2 + 200; // the original datagram was longer than what is quoted
    const ip = [
      0x40 | ihl,
      0,
      len >> 8,
      len & 255,
      0,
      1,
      (o.off8 ?? 0) >> 8,
      (o.off8 ?? 0) & 255,
      63,
      proto,
      0,
      0,
    ];
    ip.push(192, 168, 0, 199, 10, 9, 8, 7);
    return `${Buffer.from(ip).toString("hex")}${opt}${l4}`;
  };
  /** An ICMPv4 message of `type`/`code` with a valid checksum. */
  const icmp = (type: number, code: number, body: string): string => {
    const bytes = hex(
      `${type.toString(16).padStart(2, "0")}${code.toString(16).padStart(2, "0")}000000000000${body}`,
    );
    const sum = csumFinish(sumBytesSlow(bytes, 0, bytes.length));
    bytes[2] = sum >> 8;
    bytes[3] = sum & 255;
    return Buffer.from(bytes).toString("hex");
  };
  const UDP = "04d20035002c0000"; // 1234 -> 53
  const TCP8 = "c0de01bb00000001"; // 49374 -> 443, seq
  const ECHO = "0800000012340001"; // echo request id 0x1234
  // [name, message, quoted tuple readable (L4_ICMP_INNER_OK), [iproto, isport, idport] when readable]
  const cases: [string, string, boolean, number[]][] = [
    ["port unreachable quoting UDP", icmp(3, 3, quoted(17, UDP)), true, [17, 1234, 53]],
    ["time exceeded quoting 8 bytes of TCP", icmp(11, 0, quoted(6, TCP8)), true, [6, 49374, 443]],
    ["host unreachable quoting an echo request", icmp(3, 1, quoted(1, ECHO)), true, [1, 0x1234, 0x0800]],
    ["redirect quoting UDP", icmp(5, 1, quoted(17, UDP)), true, [17, 1234, 53]],
    [
      "quoting a header with options",
      icmp(3, 3, quoted(17, UDP, { options: "01010100" })),
      true,
      [17, 1234, 53],
    ],
    ["quoting ESP (no ports)", icmp(3, 3, quoted(50, "0000abcd00000001")), true, [50, 0, 0]],
    ["quoting a non-first fragment", icmp(3, 3, quoted(17, UDP, { off8: 8 })), false, []],
    ["quoting a header whose IHL is below 5", icmp(3, 3, quoted(17, UDP, { ihl: 4 })), false, []],
    ["quoting 2 bytes of UDP", icmp(3, 3, quoted(17, "04d2")), false, []],
    ["quoting 12 bytes of the header", icmp(3, 3, quoted(17, UDP).slice(0, 24)), false, []],
    ["quoting 4 bytes of an echo request", icmp(3, 3, quoted(1, "08000000")), false, []],
  ];
  for (const [name, message, readable, tuple] of cases) {
    it(name, () => {
      const frame = hex(ipv4Frame(1, message));
      const frames: Frame[] = [{ linkType: 1, bytes: frame }];
      const js = decodeFrames(frames, { fastPath: false }, true, true);
      const wasm = decodeFrames(frames, {}, true, true);
      expect(wasm.dec.fastRows).toBe(1);
      expect(rowKey(wasm.out, 0)).toBe(rowKey(js.out, 0));
      expect(JSON.stringify(wasm.stats.toJSON())).toBe(JSON.stringify(js.stats.toJSON()));
      expect((wasm.out.l4flags[0]! & L4_ICMP_INNER_OK) !== 0).toBe(readable);
      if (readable) {
        const o = wasm.out;
        expect([o.iproto[0], o.isport[0], o.idport[0], o.il3[0], o.isrc[0], o.idst[0]]).toEqual([
          ...tuple,
          2,
          0xc0a800c7,
          0x0a090807,
        ]);
      }
    });
  }

  it("left to the JavaScript decoder: GRE quoted, ICMPv6 errors, an error cut inside its quoted ports", () => {
    const gre = hex(ipv4Frame(1, icmp(3, 3, quoted(47, "2000880b00000001"))));
    const whole = hex(ipv4Frame(1, icmp(3, 3, quoted(17, UDP))));
    const frames: Frame[] = [
      { linkType: 1, bytes: gre },
      // Cut by the snaplen 2 bytes into the quoted UDP header: the fast path decodes it (truncated, no tuple).
      { linkType: 1, bytes: whole.subarray(0, whole.length - 6), orig: whole.length },
    ];
    const js = decodeFrames(frames, { fastPath: false }, true, true);
    const wasm = decodeFrames(frames, {}, true, true);
    expect(wasm.dec.fastRows).toBe(1);
    expect([0, 1].map((i) => rowKey(wasm.out, i))).toEqual([0, 1].map((i) => rowKey(js.out, i)));
    expect(wasm.out.l4flags[1]! & L4_ICMP_INNER_OK).toBe(0);
  });

  it("a window of errors among other rows: the quoted tuples copied out, and in place", () => {
    const mixed: Frame[] = [];
    for (let k = 0; k < 300; k++) {
      const pick = cases[k % cases.length]!;
      mixed.push({ linkType: 1, bytes: hex(k % 3 === 0 ? SYN : ipv4Frame(1, pick[1])), t: 1000 + k / 10 });
    }
    const js = decodeFrames(mixed, { fastPath: false }, true, true);
    const wasm = decodeFrames(mixed, {}, true, true);
    const keys = (d: ReturnType<typeof decodeFrames>): string[] =>
      Array.from({ length: d.out.count }, (_, i) => rowKey(d.out, i));
    expect(keys(wasm)).toEqual(keys(js));
    expect(wasm.dec.fastRows).toBe(mixed.length);
  });
});
