/**
 * Capture (any format ctreplay reads: pcap/pcapng, gzip, any supported link type) -> the raw-IP pcap the TUN
 * injector writes to the kernel: link layer stripped, snaplen-truncated datagrams padded (or dropped, or kept),
 * checksums optionally recomputed. Timestamps are kept (they drive --speed pacing only).
 */
import { CaptureError, openCapture, RecordBatch } from "../capture/index.js";
import { type CsumStatus, checkOrFixChecksums, ipLength, locateL3, padToIpLength } from "./l3.js";
import { RawPcapWriter } from "./pcap-raw.js";

/** ::1 at b[o, o+16). */
function isLoopback6(b: Uint8Array, o: number): boolean {
  if (o + 16 > b.length) return false;
  for (let i = 0; i < 15; i++) if (b[o + i] !== 0) return false;
  return b[o + 15] === 1;
}

export type TruncatedMode = "pad" | "drop" | "raw";

export interface InputOptions {
  /** Recompute IPv4 header and L4 checksums (captures taken with TX checksum offload). */
  fixChecksums: boolean;
  /** Snaplen-truncated datagrams: pad with zeros to the IP length and fix their checksums, drop, or inject as is. */
  truncated: TruncatedMode;
}

export interface InputStats {
  frames: number;
  ip4: number;
  ip6: number;
  nonIp: number;
  unsupportedLinktype: Record<string, number>;
  truncated: number;
  truncatedPadded: number;
  truncatedDropped: number;
  csum: Record<CsumStatus, number>;
  csumBadByProto: Record<string, number>;
  written: number;
  /** IPv6 packets from or to ::1: ip6_rcv_core drops them on a non-loopback device (the TUN device), before
   *  conntrack, so a capture of IPv6 loopback traffic cannot be reproduced by the kernel run. */
  ipv6Loopback: number;
  /** Fatal capture error that ended reading (what came before was still used). */
  captureError: string | null;
  captureSkipped: Record<string, number>;
}

/** Writes the injection input; returns stats, or a CaptureError when the capture cannot be opened at all. */
export async function prepareInjection(
  capture: string,
  outFile: string,
  opts: InputOptions,
): Promise<InputStats | CaptureError> {
  const reader = await openCapture(capture);
  if (reader instanceof CaptureError) return reader;
  const st: InputStats = {
    frames: 0,
    ip4: 0,
    ip6: 0,
    nonIp: 0,
    unsupportedLinktype: {},
    truncated: 0,
    truncatedPadded: 0,
    truncatedDropped: 0,
    csum: { ok: 0, bad: 0, fixed: 0, skip: 0 },
    csumBadByProto: {},
    written: 0,
    ipv6Loopback: 0,
    captureError: null,
    captureSkipped: {},
  };
  const w = new RawPcapWriter(outFile);
  const batch = new RecordBatch(4096);
  try {
    for (;;) {
      const n = await reader.readBatch(batch);
      if (n === 0) break;
      for (let i = 0; i < n; i++) {
        st.frames++;
        const off = batch.offset[i] as number;
        const cap = batch.caplen[i] as number;
        const frame = batch.data.subarray(off, off + cap);
        const lt = batch.linkType[i] as number;
        const loc = locateL3(lt, frame);
        if (loc.kind === "unsupported-linktype") {
          st.unsupportedLinktype[lt] = (st.unsupportedLinktype[lt] ?? 0) + 1;
          continue;
        }
        if (loc.kind === "non-ip") {
          st.nonIp++;
          continue;
        }
        st[loc.kind]++;
        if (
          loc.kind === "ip6" &&
          (isLoopback6(frame, loc.offset + 8) || isLoopback6(frame, loc.offset + 24))
        ) {
          st.ipv6Loopback++;
        }
        // copy: the batch's bytes are only valid until the next readBatch, and checksum fixing writes in place
        let pkt: Uint8Array = frame.slice(loc.offset);
        const isTruncated = cap < (batch.origlen[i] as number) && pkt.length < ipLength(pkt);
        if (isTruncated) {
          st.truncated++;
          if (opts.truncated === "drop") {
            st.truncatedDropped++;
            continue;
          }
          if (opts.truncated === "pad") {
            pkt = padToIpLength(pkt);
            st.truncatedPadded++;
          }
        }
        const fix = opts.fixChecksums || (isTruncated && opts.truncated === "pad");
        const { status, proto } = checkOrFixChecksums(pkt, fix);
        st.csum[status]++;
        if (status === "bad") st.csumBadByProto[proto] = (st.csumBadByProto[proto] ?? 0) + 1;
        w.write(batch.tsSec[i] as number, batch.tsNsec[i] as number, pkt);
        st.written++;
      }
    }
    st.captureError = reader.error ? reader.error.toString() : null;
    st.captureSkipped = { ...reader.skipped };
  } finally {
    w.close();
    await reader.close();
  }
  return st;
}
