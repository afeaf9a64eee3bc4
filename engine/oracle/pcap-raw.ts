/**
 * Raw-IP classic pcap (LINKTYPE_RAW 101, nanosecond magic a1b23c4d, little-endian): the injector's input and
 * replayed.pcap, the timeline ctreplay replays to reproduce a kernel run.
 */
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";

export const LINKTYPE_RAW = 101;
const NS_MAGIC = 0xa1b23c4d;
const US_MAGIC = 0xa1b2c3d4;

export class RawPcapWriter {
  private readonly fd: number;
  private buf = Buffer.alloc(1 << 20);
  private used = 0;
  packets = 0;

  constructor(file: string) {
    this.fd = openSync(file, "w");
    const h = Buffer.alloc(24);
    h.writeUInt32LE(NS_MAGIC, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(262144, 16);
    h.writeUInt32LE(LINKTYPE_RAW, 20);
    writeSync(this.fd, h);
  }

  write(sec: number, nsec: number, pkt: Uint8Array): void {
    if (this.used + 16 + pkt.length > this.buf.length) this.flush();
    if (16 + pkt.length > this.buf.length) this.buf = Buffer.alloc(16 + pkt.length);
    const b = this.buf;
    b.writeUInt32LE(sec >>> 0, this.used);
    b.writeUInt32LE(nsec >>> 0, this.used + 4);
    b.writeUInt32LE(pkt.length, this.used + 8);
    b.writeUInt32LE(pkt.length, this.used + 12);
    b.set(pkt, this.used + 16);
    this.used += 16 + pkt.length;
    this.packets++;
  }

  private flush(): void {
    if (this.used) writeSync(this.fd, this.buf, 0, this.used);
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

export interface RawRecord {
  sec: number;
  nsec: number;
  data: Uint8Array;
}

/** All records of a little-endian raw-IP pcap (usec or nsec), e.g. replayed.pcap. */
export function readRawPcap(file: string): RawRecord[] {
  const b = readFileSync(file);
  const magic = b.readUInt32LE(0);
  if (magic !== NS_MAGIC && magic !== US_MAGIC) throw new Error(`${file}: not a little-endian pcap`);
  const mul = magic === NS_MAGIC ? 1 : 1000;
  const out: RawRecord[] = [];
  let o = 24;
  while (o + 16 <= b.length) {
    const cap = b.readUInt32LE(o + 8);
    if (o + 16 + cap > b.length) break;
    out.push({
      sec: b.readUInt32LE(o),
      nsec: b.readUInt32LE(o + 4) * mul,
      data: b.subarray(o + 16, o + 16 + cap),
    });
    o += 16 + cap;
  }
  return out;
}
