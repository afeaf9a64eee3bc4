/** Classic libpcap format: 24-byte file header, then 16-byte record headers (ts_sec, ts_frac, incl_len, orig_len). */

import { BaseReader, MAX_RECORD_BYTES, PARSE_FATAL, PARSE_FULL, type ReaderInit } from "./reader.js";
import type { RecordBatch } from "./record-batch.js";
import { type PcapRecordFormat, RECORD_SLOTS, recordWindowFor } from "./record-window.js";

export const PCAP_HEADER_BYTES = 24;
const REC_HDR = 16;
/** libpcap's MAXIMUM_SNAPLEN: records up to this are accepted even when the header's snaplen is smaller. */
export const PCAP_MAX_SNAPLEN = 262144;

export interface PcapHeader {
  le: boolean;
  nanosecond: boolean;
  snaplen: number;
  linkType: number;
}

export class PcapReader extends BaseReader {
  /**
   * Byte order, incl_len limits (above maxCaplen: an error, absurd length; above snaplen but sane: delivered
   * and counted as odd), time fraction limit and unit, link type: what the JavaScript loop and the
   * WebAssembly record parser (record-window.ts) both parse by.
   */
  private readonly format: PcapRecordFormat;
  /** OpenOptions.wasmRecords. */
  private readonly wasmRecords: boolean;

  constructor(init: ReaderInit, hdr: PcapHeader) {
    super(init);
    const snaplen = hdr.snaplen === 0 ? PCAP_MAX_SNAPLEN : hdr.snaplen;
    this.format = {
      le: hdr.le,
      maxCaplen: Math.min(Math.max(snaplen, PCAP_MAX_SNAPLEN), MAX_RECORD_BYTES),
      snaplen,
      fracLimit: hdr.nanosecond ? 1e9 : 1e6,
      nsPerFrac: hdr.nanosecond ? 1 : 1000,
      linkType: hdr.linkType,
    };
    this.wasmRecords = init.wasmRecords;
    this.wanting = "record header";
  }

  protected parse(batch: RecordBatch): number {
    const dv = this.dv;
    const f = this.format;
    const le = f.le;
    const end = this.end;
    const cap = batch.capacity;
    const maxCaplen = f.maxCaplen;
    const snaplen = f.snaplen;
    const fracLimit = f.fracLimit;
    const nsPerFrac = f.nsPerFrac;
    const linkType = f.linkType;
    const base = this.base;
    // Columns in locals: the loop stores to typed arrays only.
    const offsetA = batch.offset;
    const caplenA = batch.caplen;
    const origlenA = batch.origlen;
    const tsSecA = batch.tsSec;
    const tsNsecA = batch.tsNsec;
    const linkTypeA = batch.linkType;
    const packetNoA = batch.packetNo;
    const fileOffsetA = batch.fileOffset;
    let p = this.start;
    let n = batch.count;
    // Packet number of record n is pn0 + n + 1; this.packets is stored back before anything reads it.
    const pn0 = this.packets - n;
    let need = PARSE_FULL;
    // Runs of ordinary records in WebAssembly; this loop takes each record the parser stops at.
    const win = this.wasmRecords ? recordWindowFor(this.buf) : null;
    while (n < cap) {
      if (win !== null) {
        const k = win.parse(this.buf, p, end, batch, n, Math.min(RECORD_SLOTS, cap - n), f, pn0 + n, base);
        if (k > 0) {
          n += k;
          p = win.end;
          if (n >= cap) break;
        }
      }
      if (end - p < REC_HDR) {
        this.wanting = "record header";
        need = REC_HDR;
        break;
      }
      const caplen = dv.getUint32(p + 8, le);
      if (caplen > maxCaplen) {
        this.start = p;
        batch.count = n;
        this.packets = pn0 + n;
        return this.fail(p, `record captured length ${caplen} exceeds limit ${maxCaplen}`);
      }
      const total = REC_HDR + caplen;
      if (end - p < total) {
        this.wanting = "record data";
        need = total;
        break;
      }
      let sec = dv.getUint32(p, le);
      let frac = dv.getUint32(p + 4, le);
      const origlen = dv.getUint32(p + 12, le);
      if (caplen > snaplen || caplen > origlen || frac >= fracLimit) {
        // Rare path: odd but readable record.
        this.packets = pn0 + n;
        if (!this.odd(p, caplen, origlen, frac)) {
          this.start = p;
          batch.count = n;
          return PARSE_FATAL;
        }
        if (frac >= fracLimit) {
          const carry = Math.floor(frac / fracLimit);
          sec += carry;
          frac -= carry * fracLimit;
        }
      }
      offsetA[n] = p + REC_HDR;
      caplenA[n] = caplen;
      origlenA[n] = origlen;
      tsSecA[n] = sec;
      tsNsecA[n] = frac * nsPerFrac;
      linkTypeA[n] = linkType;
      packetNoA[n] = pn0 + n + 1;
      fileOffsetA[n] = base + p;
      n++;
      p += total;
    }
    this.start = p;
    batch.count = n;
    this.packets = pn0 + n;
    return need;
  }

  /** Counts an odd record's anomalies; false (after setting error) when strict makes them fatal. */
  private odd(p: number, caplen: number, origlen: number, frac: number): boolean {
    if (
      caplen > this.format.snaplen &&
      !this.anomaly(
        p,
        "record:caplen>snaplen",
        `captured length ${caplen} exceeds snaplen ${this.format.snaplen}`,
      )
    ) {
      return false;
    }
    if (
      caplen > origlen &&
      !this.anomaly(
        p,
        "record:caplen>origlen",
        `captured length ${caplen} exceeds original length ${origlen}`,
      )
    ) {
      return false;
    }
    return (
      frac < this.format.fracLimit ||
      this.anomaly(
        p,
        "record:ts-fraction>=1s",
        `timestamp fraction ${frac} is not below ${this.format.fracLimit}`,
      )
    );
  }
}
