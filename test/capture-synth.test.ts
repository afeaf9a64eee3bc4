/** Synthesized captures: every format variant and every kind of bad input, with exact error positions. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { constants, gunzipSync, gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { CaptureError, type OpenOptions, openCapture } from "../engine/capture/index.js";
import { TsConverter } from "../engine/capture/timestamp.js";
import {
  Bytes,
  block,
  concat,
  epb,
  idb,
  payload,
  pb,
  pcapHeader,
  pcapRecord,
  prng,
  type ReadResult,
  readAll,
  shb,
  spb,
} from "./capture-util.js";

const dir = mkdtempSync(path.join(tmpdir(), "ctreplay-capture-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;
function tmpFile(bytes: Uint8Array, ext = ".bin"): string {
  const f = path.join(dir, `f${seq++}${ext}`);
  writeFileSync(f, bytes);
  return f;
}

async function openBytes(bytes: Uint8Array, opts: OpenOptions = {}): Promise<ReadResult & { file: string }> {
  const file = tmpFile(bytes);
  const r = await openCapture(file, opts);
  if (r instanceof CaptureError) throw new Error(`unexpected open error: ${r.toString()}`);
  const res = await readAll(r, 3);
  // After the end (or a fatal error) readBatch keeps returning 0.
  expect(await readAll(r)).toMatchObject({ records: [] });
  await r.close();
  return { ...res, file };
}

async function openError(bytes: Uint8Array): Promise<CaptureError> {
  const file = tmpFile(bytes);
  const r = await openCapture(file);
  if (!(r instanceof CaptureError)) {
    await r.close();
    throw new Error("expected an open error");
  }
  expect(r.file).toBe(file);
  return r;
}

const LE = true;
const BE = false;

describe("classic pcap", () => {
  it("big-endian nanosecond pcap: header fields and exact timestamps", async () => {
    const recs = [
      { sec: 1700000000, frac: 999999999, data: payload(60, 1) },
      { sec: 1700000001, frac: 1, data: payload(1514, 2), origlen: 9000 },
      { sec: 4294967295, frac: 500000000, data: payload(0, 3) },
    ];
    const bytes = concat(pcapHeader(BE, true, 9000, 101), ...recs.map((r) => pcapRecord(BE, r)));
    const { reader, records } = await openBytes(bytes);
    expect(reader.info).toMatchObject({
      format: "pcap",
      byteOrder: "BE",
      nanosecond: true,
      gzip: false,
      sections: 1,
    });
    expect(reader.info.interfaces).toEqual([
      { linkType: 101, snaplen: 9000, tsresol: "1e-9", tsoffset: 0, section: 0 },
    ]);
    expect(reader.error).toBeNull();
    expect(records.map((r) => [r.sec, r.nsec, r.caplen, r.origlen, r.linkType, r.packetNo])).toEqual([
      [1700000000, 999999999, 60, 60, 101, 1],
      [1700000001, 1, 1514, 9000, 101, 2],
      [4294967295, 500000000, 0, 0, 101, 3],
    ]);
    expect(records.map((r) => r.fileOffset)).toEqual([24, 24 + 16 + 60, 24 + 32 + 60 + 1514]);
    expect(Buffer.from(records[1]!.data).equals(Buffer.from(recs[1]!.data))).toBe(true);
    expect(reader.bytesRead).toBe(bytes.length);
    expect(reader.totalBytes).toBe(bytes.length);
  });

  it("little-endian microsecond pcap, gzip-compressed, detected by magic not name", async () => {
    const bytes = concat(
      pcapHeader(LE, false),
      pcapRecord(LE, { sec: 10, frac: 999999, data: payload(100, 4) }),
      pcapRecord(LE, { sec: 11, frac: 0, data: payload(40, 5) }),
    );
    const gz = gzipSync(bytes);
    const { reader, records } = await openBytes(gz);
    expect(reader.info.gzip).toBe(true);
    expect(reader.info.byteOrder).toBe("LE");
    expect(records.map((r) => [r.sec, r.nsec, r.caplen])).toEqual([
      [10, 999999000, 100],
      [11, 0, 40],
    ]);
    expect(reader.bytesRead).toBe(gz.length);
    expect(reader.totalBytes).toBe(gz.length);
  });

  it("a record larger than the initial buffer grows it (once) and is delivered whole", async () => {
    const big = payload(200000, 9);
    const bytes = concat(
      pcapHeader(LE, false, 262144),
      pcapRecord(LE, { sec: 1, frac: 0, data: payload(10, 1) }),
      pcapRecord(LE, { sec: 2, frac: 0, data: big }),
    );
    const { reader, records, maxBuffer } = await openBytes(bytes, { bufferSize: 64 * 1024 });
    expect(reader.error).toBeNull();
    expect(records.length).toBe(2);
    expect(Buffer.from(records[1]!.data).equals(Buffer.from(big))).toBe(true);
    expect(maxBuffer).toBe(256 * 1024);
  });

  it("record running past EOF: earlier records delivered, error names offset and packet", async () => {
    const bytes = concat(
      pcapHeader(LE, false),
      pcapRecord(LE, { sec: 1, frac: 0, data: payload(50, 1) }),
      pcapRecord(LE, { sec: 2, frac: 0, data: payload(70, 2) }),
      pcapRecord(LE, { sec: 3, frac: 0, data: payload(100, 3) }).subarray(0, 16 + 40),
    );
    const { reader, records, file } = await openBytes(bytes);
    expect(records.length).toBe(2);
    expect(reader.error).toMatchObject({ file, offset: 24 + 66 + 86, packetNo: 3 });
    expect(reader.error!.message).toMatch(/truncated record data: 56 of 116 bytes/);
    expect(reader.error!.toString()).toBe(`${file}: byte 176, packet 3: ${reader.error!.message}`);
  });

  it("trailing bytes shorter than a record header", async () => {
    const bytes = concat(
      pcapHeader(LE, false),
      pcapRecord(LE, { sec: 1, frac: 0, data: payload(8, 1) }),
      Uint8Array.of(1, 2, 3, 4, 5),
    );
    const { reader, records } = await openBytes(bytes);
    expect(records.length).toBe(1);
    expect(reader.error).toMatchObject({ offset: 48, packetNo: 2 });
    expect(reader.error!.message).toMatch(/truncated record header: 5 of 16/);
  });

  it("absurd incl_len is an error before any allocation", async () => {
    const bytes = concat(
      pcapHeader(LE, false),
      pcapRecord(LE, { sec: 1, frac: 0, data: payload(8, 1) }),
      pcapRecord(LE, { sec: 1, frac: 0, data: payload(8, 1), caplen: 0x7fffffff }),
    );
    const { reader, records, maxBuffer } = await openBytes(bytes, { bufferSize: 64 * 1024 });
    expect(records.length).toBe(1);
    expect(reader.error).toMatchObject({ offset: 48, packetNo: 2 });
    expect(reader.error!.message).toMatch(/2147483647 exceeds limit 262144/);
    expect(maxBuffer).toBe(64 * 1024);
  });

  it("a length just under the limit, in a short file, does not grow the buffer beyond 2x the data", async () => {
    const bytes = concat(
      pcapHeader(LE, false, 60 * 1024 * 1024),
      new Bytes(LE).u32(1).u32(0).u32(60e6).u32(60e6).bytes(),
    );
    const { reader, maxBuffer } = await openBytes(bytes, { bufferSize: 64 * 1024 });
    expect(reader.error).toMatchObject({ offset: 24, packetNo: 1 });
    expect(reader.error!.message).toMatch(/truncated record data: 16 of 60000016/);
    expect(maxBuffer).toBe(64 * 1024);
  });

  it("caplen > snaplen (sane): delivered and counted; fatal when strict", async () => {
    const bytes = concat(
      pcapHeader(LE, false, 100),
      pcapRecord(LE, { sec: 1, frac: 0, data: payload(100, 1) }),
      pcapRecord(LE, { sec: 2, frac: 0, data: payload(150, 2) }),
      pcapRecord(LE, { sec: 3, frac: 2000000, data: payload(10, 3) }),
    );
    const loose = await openBytes(bytes);
    expect(loose.records.map((r) => [r.sec, r.nsec, r.caplen])).toEqual([
      [1, 0, 100],
      [2, 0, 150],
      [5, 0, 10],
    ]);
    expect(loose.reader.skipped).toEqual({ "record:caplen>snaplen": 1, "record:ts-fraction>=1s": 1 });
    expect(loose.reader.error).toBeNull();
    const strict = await openBytes(bytes, { strict: true });
    expect(strict.records.length).toBe(1);
    expect(strict.reader.error).toMatchObject({ offset: 24 + 116, packetNo: 2 });
    expect(strict.reader.error!.message).toMatch(/150 exceeds snaplen 100/);
  });

  it("caplen > origlen: counted, fatal when strict", async () => {
    const bytes = concat(
      pcapHeader(LE, false),
      pcapRecord(LE, { sec: 1, frac: 0, data: payload(20, 1), origlen: 10 }),
    );
    expect((await openBytes(bytes)).reader.skipped).toEqual({ "record:caplen>origlen": 1 });
    expect((await openBytes(bytes, { strict: true })).reader.error).toMatchObject({
      offset: 24,
      packetNo: 1,
    });
  });
});

describe("bad files at open", () => {
  it("zero-length file", async () => {
    const e = await openError(new Uint8Array(0));
    expect([e.offset, e.packetNo]).toEqual([0, 0]);
    expect(e.message).toMatch(/empty input/);
  });
  it("not a capture", async () => {
    const e = await openError(new TextEncoder().encode("hello, this is a text file\n"));
    expect([e.offset, e.packetNo]).toEqual([0, 0]);
    expect(e.message).toBe("not a pcap or pcapng file (magic 0x6c6c6568)");
  });
  it("truncated pcap header", async () => {
    const e = await openError(pcapHeader(BE, false).subarray(0, 20));
    expect(e.message).toBe("truncated pcap file header: 20 of 24 bytes");
  });
  it("unsupported pcap version", async () => {
    const h = pcapHeader(LE, false);
    h[4] = 3;
    expect((await openError(h)).message).toBe("unsupported pcap version 3.4");
  });
  it("pcapng with a bad byte-order magic / bad SHB length", async () => {
    const s = shb(LE);
    s[8] = 0;
    expect((await openError(s)).message).toMatch(/bad byte-order magic/);
    const t = shb(LE);
    t[4] = 13;
    expect((await openError(t)).message).toMatch(/bad section header block length/);
  });
  it("gzip of nothing, gzip of garbage", async () => {
    expect((await openError(gzipSync(new Uint8Array(0)))).message).toBe("empty gzip stream");
    const garbage = gzipSync(new Uint8Array(100)).subarray(0, 10);
    garbage[3] = 0xff; // reserved flag bits
    expect((await openError(garbage)).message).toMatch(/^gzip: /);
  });
  it("a directory and a missing file", async () => {
    expect((await openCapture(dir)).toString()).toMatch(/is a directory/);
    const e = await openCapture(path.join(dir, "nope.pcap"));
    expect(e).toBeInstanceOf(CaptureError);
    expect((e as CaptureError).message).toMatch(/cannot open: .*ENOENT/);
  });
});

describe("gzip truncated mid-stream", () => {
  const recs = Array.from({ length: 3000 }, (_, i) =>
    pcapRecord(LE, { sec: i, frac: 0, data: payload(200, i) }),
  );
  const gz = gzipSync(concat(pcapHeader(LE, false), ...recs), { level: 1 });
  for (const frac of [0.05, 0.3, 0.5, 0.9]) {
    it(`cut at ${frac}: every record inside the decompressible prefix, then a CaptureError (no exception)`, async () => {
      const cut = gz.subarray(0, Math.floor(gz.length * frac));
      const avail = gunzipSync(cut, { finishFlush: constants.Z_SYNC_FLUSH }).length;
      const { reader, records } = await openBytes(cut, { bufferSize: 64 * 1024 });
      expect(records.length).toBe(Math.floor((avail - 24) / 216));
      records.forEach((r, i) => {
        expect([r.sec, r.packetNo]).toEqual([i, i + 1]);
      });
      expect(reader.error).toMatchObject({ offset: avail, packetNo: records.length + 1 });
      expect(reader.error!.message).toBe("gzip: unexpected end of file");
    });
  }
});

describe("gzip members", () => {
  it("concatenated members and trailing zero padding read as one stream", async () => {
    const bytes = concat(
      pcapHeader(LE, false),
      ...Array.from({ length: 50 }, (_, i) => pcapRecord(LE, { sec: i, frac: 0, data: payload(30, i) })),
    );
    const gz = concat(gzipSync(bytes.subarray(0, 700)), gzipSync(bytes.subarray(700)), new Uint8Array(64));
    const { reader, records } = await openBytes(gz);
    expect(reader.error).toBeNull();
    expect(records.map((r) => r.sec)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});

describe("pcapng", () => {
  it("two sections, big- then little-endian: interfaces renumbered, tsresol 2^-8 / 10^-9 / tsoffset, SPB, PB", async () => {
    const t9 = 1_700_000_000_123_456_789n; // ns count > 2^53: needs exact 64-bit math
    const bytes = concat(
      shb(BE),
      idb(BE, 1, 0, { tsresol: 0x88 }), // 2^-8
      block(BE, 4, new Uint8Array(8)), // NRB (skipped)
      idb(BE, 101, 128, { tsresol: 9, tsoffset: 100n }),
      epb(BE, 1, t9, payload(30, 1), 64),
      epb(BE, 0, (1_600_000_000n << 8n) | 0x81n, payload(20, 2)),
      block(BE, 0x40000bad, new Uint8Array(8)), // custom (skipped)
      shb(LE),
      idb(LE, 113, 50),
      spb(LE, 80, payload(80, 3)), // caplen = snaplen 50; timestamp of the previous packet
      epb(LE, 0, 1_700_000_001_000_001n, payload(40, 4)), // default 10^-6
      pb(LE, 0, 2_000_000n, payload(16, 5)),
      block(LE, 5, new Uint8Array(16)), // ISB
    );
    const { reader, records } = await openBytes(bytes);
    expect(reader.error).toBeNull();
    expect(reader.info).toMatchObject({ format: "pcapng", byteOrder: "BE", sections: 2 });
    expect(reader.info.interfaces).toEqual([
      { linkType: 1, snaplen: 0, tsresol: "2^-8", tsoffset: 0, section: 0 },
      { linkType: 101, snaplen: 128, tsresol: "1e-9", tsoffset: 100, section: 0 },
      { linkType: 113, snaplen: 50, tsresol: "1e-6", tsoffset: 0, section: 1 },
    ]);
    expect(records.map((r) => [r.linkType, r.sec, r.nsec, r.caplen, r.origlen])).toEqual([
      [101, 1_700_000_100, 123_456_789, 30, 64],
      [1, 1_600_000_000, (0x81 * 1e9) / 256, 20, 20],
      [113, 1_600_000_000, (0x81 * 1e9) / 256, 50, 80],
      [113, 1_700_000_001, 1000, 40, 40],
      [113, 2, 0, 16, 16],
    ]);
    expect(Buffer.from(records[2]!.data).equals(Buffer.from(payload(50, 3)))).toBe(true);
    expect(reader.skipped).toEqual({ "pcapng:nrb": 1, "pcapng:custom": 1, "pcapng:isb": 1 });
  });

  const head = concat(shb(LE), idb(LE, 1, 0));
  const good = epb(LE, 0, 5_000_000n, payload(10, 1));
  const setLen = (b: Uint8Array, lead: number, trail: number): Uint8Array => {
    const c = b.slice();
    const dv = new DataView(c.buffer);
    dv.setUint32(4, lead, true);
    dv.setUint32(c.length - 4, trail, true);
    return c;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ["length < 12", setLen(good, 8, 8), /bad block length 8/],
    ["length not a multiple of 4", setLen(good, 42, 42), /bad block length 42/],
    ["length > 64 MiB", setLen(good, 0x7ffffffc, 0x7ffffffc), /bad block length 2147483644/],
    [
      "trailing != leading",
      setLen(good, good.length, good.length + 4),
      /trailing length 48 != leading length 44/,
    ],
  ];
  for (const [name, bad, msg] of cases) {
    it(`inconsistent block: ${name}`, async () => {
      const { reader, records } = await openBytes(concat(head, good, bad, good));
      expect(records.length).toBe(1);
      expect(reader.error).toMatchObject({ offset: head.length + good.length, packetNo: 2 });
      expect(reader.error!.message).toMatch(msg);
    });
  }

  it("EPB captured length beyond its block", async () => {
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(20, 100, true);
    const { reader, records } = await openBytes(concat(head, bad));
    expect(records.length).toBe(0);
    expect(reader.error).toMatchObject({ offset: head.length, packetNo: 1 });
    expect(reader.error!.message).toMatch(/captured length 100 exceeds block body \(12\)/);
  });

  it("block cut by EOF", async () => {
    const { reader, records } = await openBytes(concat(head, good, good.subarray(0, 30)));
    expect(records.length).toBe(1);
    expect(reader.error).toMatchObject({ offset: head.length + good.length, packetNo: 2 });
    expect(reader.error!.message).toBe("truncated block: 30 of 44 bytes before end of input");
  });

  it("packet for an undeclared interface: skipped and counted, fatal when strict", async () => {
    const stray = epb(LE, 7, 1n, payload(4, 1));
    const bytes = concat(head, good, stray, good);
    const loose = await openBytes(bytes);
    expect(loose.records.length).toBe(2);
    expect(loose.reader.skipped).toEqual({ "pcapng:unknown-interface": 1 });
    const strict = await openBytes(bytes, { strict: true });
    expect(strict.records.length).toBe(1);
    expect(strict.reader.error).toMatchObject({ offset: head.length + good.length, packetNo: 2 });
  });

  it("SPB before any IDB, SPB with no previous packet uses time 0", async () => {
    const { reader, records } = await openBytes(
      concat(shb(LE), spb(LE, 4, payload(4, 1)), idb(LE, 1, 0), spb(LE, 4, payload(4, 2))),
    );
    expect(reader.skipped).toEqual({ "pcapng:spb-without-interface": 1 });
    expect(records.map((r) => [r.sec, r.nsec, r.caplen, r.packetNo])).toEqual([[0, 0, 4, 1]]);
  });

  it("unknown block types are skipped by name", async () => {
    const { reader, records } = await openBytes(
      concat(head, block(LE, 0x1234, new Uint8Array(4)), good, block(LE, 0x1234, new Uint8Array(0))),
    );
    expect(records.length).toBe(1);
    expect(reader.skipped).toEqual({ "pcapng:type-0x00001234": 2 });
  });
});

describe("TsConverter is exact against BigInt", () => {
  function reference(tsresol: number, ts: bigint, offset: number): [number, number] {
    const n = BigInt(tsresol & 0x7f);
    const unit = tsresol & 0x80 ? 1n << n : 10n ** n;
    const sec = ts / unit;
    const nsec = ((ts % unit) * 1_000_000_000n) / unit;
    return [Number(sec) + offset, Number(nsec)];
  }
  const rnd = prng(42);
  const u32 = (): number => Math.floor(rnd() * 4294967296);
  const resolutions = [
    ...Array.from({ length: 13 }, (_, i) => i),
    19,
    ...Array.from({ length: 33 }, (_, i) => 0x80 | i),
  ];
  for (const res of resolutions) {
    it(res & 0x80 ? `2^-${res & 0x7f}` : `10^-${res}`, () => {
      const conv = new TsConverter(res, -7);
      const edge = [
        [0, 0],
        [0xffffffff, 0xffffffff],
        [0, 0xffffffff],
        [0x17979cfe, 0x362a0000],
      ];
      const samples = [...edge, ...Array.from({ length: 2000 }, () => [u32(), u32()])];
      for (const [hi, lo] of samples) {
        const ts = (BigInt(hi!) << 32n) | BigInt(lo!);
        const [sec, nsec] = reference(res, ts, -7);
        conv.convert(hi!, lo!);
        // Whole seconds above 2^53 cannot be exact in a float64; compare as float64 then.
        expect([conv.sec, conv.nsec]).toEqual([sec, nsec]);
      }
    });
  }
  it("binary resolutions finer than 2^-32 are within 1 ns below exact", () => {
    for (const n of [33, 40, 48, 63]) {
      const conv = new TsConverter(0x80 | n, 0);
      for (let i = 0; i < 2000; i++) {
        const hi = u32();
        const lo = u32();
        const [sec, nsec] = reference(0x80 | n, (BigInt(hi) << 32n) | BigInt(lo), 0);
        conv.convert(hi, lo);
        expect(conv.sec).toBe(sec);
        expect(nsec - conv.nsec).toBeGreaterThanOrEqual(0);
        expect(nsec - conv.nsec).toBeLessThanOrEqual(1);
      }
    }
  });
});
