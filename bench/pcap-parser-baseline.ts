/** The baseline: pcap-parser (the npm pcap reader) iterating every packet of a file. */
import { createReadStream } from "node:fs";
import { createRequire } from "node:module";
import type { Readable } from "node:stream";

interface PcapParserModule {
  parse(input: Readable): {
    on(ev: "packet", cb: (p: { data: Buffer }) => void): void;
    on(ev: "end", cb: () => void): void;
    on(ev: "error", cb: (e: Error) => void): void;
  };
}
const pcapp = createRequire(import.meta.url)("pcap-parser") as PcapParserModule;

/** Resolves with the number of packets pcap-parser emitted. */
export function pcapParserCount(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    let bytes = 0;
    const p = pcapp.parse(createReadStream(file, { highWaterMark: 1 << 20 }));
    p.on("packet", (pkt) => {
      n++;
      bytes += pkt.data.length; // touch the packet like a consumer would
    });
    p.on("error", reject);
    p.on("end", () => resolve(bytes >= 0 ? n : -1));
  });
}
