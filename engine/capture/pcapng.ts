/**
 * pcapng: a sequence of blocks (type, total length, body, total length). Sections (SHB) set the byte order
 * and restart interface numbering; IDBs declare interfaces (link type, snaplen, if_tsresol, if_tsoffset);
 * EPB, SPB and the obsolete PB carry packets; every other block is skipped and counted by name.
 */

import { BaseReader, MAX_RECORD_BYTES, PARSE_FATAL, PARSE_FULL, type ReaderInit } from "./reader.js";
import type { RecordBatch } from "./record-batch.js";
import { TsConverter } from "./timestamp.js";

export const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 1;
const BT_PB = 2;
const BT_SPB = 3;
const BT_EPB = 6;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const OPT_ENDOFOPT = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

/** Names of the non-packet blocks we skip (counted in `skipped` as "pcapng:<name>"). */
const BLOCK_NAMES: ReadonlyMap<number, string> = new Map([
  [4, "pcapng:nrb"],
  [5, "pcapng:isb"],
  [7, "pcapng:irig-timestamp"],
  [8, "pcapng:arinc429"],
  [9, "pcapng:journal"],
  [0x0a, "pcapng:dsb"],
  [0x101, "pcapng:hone-machine-info"],
  [0x102, "pcapng:hone-connection-event"],
  [0x201, "pcapng:sysdig"],
  [0x202, "pcapng:sysdig"],
  [0x203, "pcapng:sysdig"],
  [0x204, "pcapng:sysdig"],
  [0x205, "pcapng:sysdig"],
  [0x206, "pcapng:sysdig"],
  [0x207, "pcapng:sysdig"],
  [0x208, "pcapng:sysdig"],
  [0x209, "pcapng:sysdig"],
  [0x20a, "pcapng:sysdig"],
  [0x20b, "pcapng:sysdig"],
  [0x00000bad, "pcapng:custom"],
  [0x40000bad, "pcapng:custom"],
]);

interface Iface {
  linkType: number;
  /** 0 = no limit. */
  snaplen: number;
  ts: TsConverter;
}

export class PcapngReader extends BaseReader {
  private le: boolean;
  /** Interfaces of all sections; the current section's interface i is ifaces[ifBase + i]. */
  private readonly ifaces: Iface[] = [];
  private ifBase = 0;
  /** Last delivered timestamp (an SPB has none; it reuses this). */
  private lastSec = 0;
  private lastNsec = 0;
  private readonly otherNames = new Map<number, string>();

  constructor(init: ReaderInit, le: boolean) {
    super(init);
    this.le = le;
    this.wanting = "block header";
  }

  protected parse(batch: RecordBatch): number {
    const end = this.end;
    const cap = batch.capacity;
    let p = this.start;
    let n = batch.count;
    let need = PARSE_FULL;
    while (n < cap) {
      const dv = this.dv;
      if (end - p < 12) {
        this.wanting = "block header";
        need = 12;
        break;
      }
      let le = this.le;
      const type = dv.getUint32(p, le);
      if (type === BT_SHB) {
        // The section's byte order comes from its own SHB (the type is a palindrome).
        const bom = dv.getUint32(p + 8, true);
        if (bom === BYTE_ORDER_MAGIC) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else return this.stop(batch, n, p, `bad section header byte-order magic 0x${hex(bom)}`);
      }
      const len = dv.getUint32(p + 4, le);
      if (len < 12 || len % 4 !== 0 || len > MAX_RECORD_BYTES) {
        return this.stop(batch, n, p, `bad block length ${len} (block type 0x${hex(type)})`);
      }
      if (end - p < len) {
        this.wanting = "block";
        need = len;
        break;
      }
      const trailing = dv.getUint32(p + len - 4, le);
      if (trailing !== len) {
        return this.stop(batch, n, p, `block trailing length ${trailing} != leading length ${len}`);
      }
      if (type === BT_EPB || type === BT_PB) {
        if (len < 32) return this.stop(batch, n, p, `packet block too short (${len} bytes)`);
        const ifid = type === BT_EPB ? dv.getUint32(p + 8, le) : dv.getUint16(p + 8, le);
        const caplen = dv.getUint32(p + 20, le);
        if (caplen > len - 32) {
          return this.stop(batch, n, p, `packet captured length ${caplen} exceeds block body (${len - 32})`);
        }
        const i = this.ifBase + ifid;
        if (ifid >= this.ifaces.length - this.ifBase) {
          if (!this.anomaly(p, "pcapng:unknown-interface", `packet block for undeclared interface ${ifid}`)) {
            return this.stop(batch, n, p, null);
          }
          p += len;
          continue;
        }
        const iface = this.ifaces[i]!;
        if (iface.snaplen !== 0 && caplen > iface.snaplen) {
          const detail = `captured length ${caplen} exceeds snaplen ${iface.snaplen}`;
          if (!this.anomaly(p, "record:caplen>snaplen", detail)) return this.stop(batch, n, p, null);
        }
        const origlen = dv.getUint32(p + 24, le);
        if (caplen > origlen) {
          const detail = `captured length ${caplen} exceeds original length ${origlen}`;
          if (!this.anomaly(p, "record:caplen>origlen", detail)) return this.stop(batch, n, p, null);
        }
        const ts = iface.ts;
        ts.convert(dv.getUint32(p + 12, le), dv.getUint32(p + 16, le));
        this.lastSec = ts.sec;
        this.lastNsec = ts.nsec;
        batch.offset[n] = p + 28;
        batch.caplen[n] = caplen;
        batch.origlen[n] = origlen;
        batch.tsSec[n] = ts.sec;
        batch.tsNsec[n] = ts.nsec;
        batch.linkType[n] = iface.linkType;
        batch.packetNo[n] = ++this.packets;
        batch.fileOffset[n] = this.base + p;
        n++;
      } else if (type === BT_SPB) {
        if (len < 16) return this.stop(batch, n, p, `simple packet block too short (${len} bytes)`);
        if (this.ifaces.length === this.ifBase) {
          if (!this.anomaly(p, "pcapng:spb-without-interface", "simple packet block before any IDB")) {
            return this.stop(batch, n, p, null);
          }
          p += len;
          continue;
        }
        const iface = this.ifaces[this.ifBase]!;
        const origlen = dv.getUint32(p + 8, le);
        let caplen = Math.min(origlen, len - 16);
        if (iface.snaplen !== 0 && caplen > iface.snaplen) caplen = iface.snaplen;
        batch.offset[n] = p + 12;
        batch.caplen[n] = caplen;
        batch.origlen[n] = origlen;
        batch.tsSec[n] = this.lastSec;
        batch.tsNsec[n] = this.lastNsec;
        batch.linkType[n] = iface.linkType;
        batch.packetNo[n] = ++this.packets;
        batch.fileOffset[n] = this.base + p;
        n++;
      } else if (type === BT_IDB) {
        if (len < 20) return this.stop(batch, n, p, `interface description block too short (${len} bytes)`);
        if (!this.interfaceDescription(p, len, le)) return this.stop(batch, n, p, null);
      } else if (type === BT_SHB) {
        if (len < 28) return this.stop(batch, n, p, `section header block too short (${len} bytes)`);
        const major = dv.getUint16(p + 12, le);
        if (major !== 1) {
          return this.stop(batch, n, p, `unsupported pcapng version ${major}.${dv.getUint16(p + 14, le)}`);
        }
        this.le = le;
        this.ifBase = this.ifaces.length;
        this.info.sections++;
      } else {
        this.count(this.blockName(type));
      }
      p += len;
    }
    this.start = p;
    batch.count = n;
    return need;
  }

  /** Ends parsing at p with an error (message null: already set by anomaly()). */
  private stop(batch: RecordBatch, n: number, p: number, message: string | null): number {
    this.start = p;
    batch.count = n;
    if (message !== null) this.fail(p, message);
    return PARSE_FATAL;
  }

  /** Reads an IDB at p (options: if_tsresol, if_tsoffset). False when strict makes bad options fatal. */
  private interfaceDescription(p: number, len: number, le: boolean): boolean {
    const dv = this.dv;
    const linkType = dv.getUint16(p + 8, le);
    const snaplen = dv.getUint32(p + 12, le);
    let tsresol = 6;
    let tsoffset = 0;
    const optEnd = p + len - 4;
    let o = p + 16;
    while (optEnd - o >= 4) {
      const code = dv.getUint16(o, le);
      const olen = dv.getUint16(o + 2, le);
      if (code === OPT_ENDOFOPT) break;
      if (o + 4 + olen > optEnd) {
        if (!this.anomaly(o, "pcapng:bad-option", `IDB option ${code} length ${olen} runs past the block`)) {
          return false;
        }
        break;
      }
      if (code === OPT_IF_TSRESOL && olen >= 1) tsresol = this.buf[o + 4]!;
      else if (code === OPT_IF_TSOFFSET && olen >= 8) tsoffset = Number(dv.getBigInt64(o + 4, le));
      o += 4 + ((olen + 3) & ~3);
    }
    const ts = new TsConverter(tsresol, tsoffset);
    this.ifaces.push({ linkType, snaplen, ts });
    this.info.interfaces.push({
      linkType,
      snaplen,
      tsresol: ts.label,
      tsoffset,
      section: this.info.sections - 1,
    });
    return true;
  }

  private blockName(type: number): string {
    const known = BLOCK_NAMES.get(type);
    if (known !== undefined) return known;
    let name = this.otherNames.get(type);
    if (name === undefined) {
      name = `pcapng:type-0x${hex(type)}`;
      this.otherNames.set(type, name);
    }
    return name;
  }
}

function hex(v: number): string {
  return (v >>> 0).toString(16).padStart(8, "0");
}
