/**
 * AssemblyScript, compiled by `npm run build` (asc) to pcap-records.wasm; not part of the TypeScript build.
 *
 * PcapReader.parse()'s loop of engine/capture/pcap.ts for ordinary records, in WebAssembly, over the chunk's
 * own memory: each complete record whose lengths and time fraction need no note is written to the record
 * window after the chunk (engine/capture/record-window.ts lays it out and copies it into the RecordBatch).
 * It stops at the first record that is incomplete in the chunk, too long, or odd (caplen above snaplen or
 * origlen, fraction not below a second), and the JavaScript loop takes that record.
 *
 * No static data and no allocation: a data segment would be written over the chunk when an instance is made.
 */

// Window layout (offsets from the window base; record-window.ts reads the same).
const NEXT = 0; // u32: chunk offset after the last record parsed
// From COLUMNS, the columns of a RecordBatch of `slots` records (record-batch.ts's order): f64 tsSec,
// packetNo, fileOffset; u32 offset, caplen, origlen, tsNsec; u16 linkType (not written here).
const COLUMNS = 64;

function rd32(p: usize, le: bool): u32 {
  const v = load<u32>(p);
  return le ? v : bswap<u32>(v);
}

/**
 * Parses records at data + [start, end) into slots [0, max) of the window at `win` (`slots` per column).
 * pn0 / base: packet number of slot 0 minus 1, and the stream offset of data[0]. Returns the records parsed.
 */
export function parse(
  win: usize,
  slots: i32,
  data: usize,
  start: u32,
  end: u32,
  max: i32,
  le: bool,
  maxCaplen: u32,
  snaplen: u32,
  fracLimit: u32,
  nsPerFrac: u32,
  pn0: f64,
  base: f64,
): i32 {
  const m = <usize>slots;
  const secC = win + COLUMNS;
  const pnC = secC + 8 * m;
  const foC = pnC + 8 * m;
  const offC = foC + 8 * m;
  const capC = offC + 4 * m;
  const origC = capC + 4 * m;
  const nsecC = origC + 4 * m;
  let p = start;
  let n = 0;
  while (n < max) {
    if (end - p < 16) break;
    const h = data + <usize>p;
    const caplen = rd32(h + 8, le);
    if (caplen > maxCaplen) break;
    if (end - p - 16 < caplen) break;
    const sec = rd32(h, le);
    const frac = rd32(h + 4, le);
    const origlen = rd32(h + 12, le);
    if (caplen > snaplen || caplen > origlen || frac >= fracLimit) break;
    const r = <usize>n;
    store<u32>(offC + (r << 2), p + 16);
    store<u32>(capC + (r << 2), caplen);
    store<u32>(origC + (r << 2), origlen);
    store<u32>(nsecC + (r << 2), frac * nsPerFrac);
    store<f64>(secC + (r << 3), <f64>sec);
    store<f64>(pnC + (r << 3), pn0 + <f64>(n + 1));
    store<f64>(foC + (r << 3), base + <f64>p);
    p += 16 + caplen;
    n++;
  }
  store<u32>(win + NEXT, p);
  return n;
}
