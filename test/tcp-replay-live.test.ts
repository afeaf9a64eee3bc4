/**
 * End to end: the real captures of the kernel-oracle samples (two namespaces talking over a veth, captured
 * on the client; ../shared/kernel-oracle/samples/veth-*) replayed through capture -> decode -> Conntrack and
 * evaluated at the moment the client's live `conntrack -L` was taken must give the same TCP entries
 * (states ESTABLISHED / CLOSE_WAIT / CLOSE / TIME_WAIT / SYN_SENT, ASSURED / UNREPLIED; remaining timeout
 * within 1 s). The SYN answered by a RST must be absent. The offload-on capture has garbage TX checksums
 * (the live kernel never checked its own outgoing packets), so it is replayed with nf_conntrack_checksum=0.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { liveEntries } from "../engine/conntrack/dump.js";
import { resolveSettings } from "../engine/conntrack/settings.js";
import { replayCaptures } from "../engine/replay.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const samples = path.resolve(repoRoot, "../shared/kernel-oracle/samples");
const have = existsSync(path.join(samples, "veth-mixed", "live-conntrack-A-client.jsonl"));
if (!have) console.log(`tcp live replay: ${samples} absent, skipped`);

interface Entry {
  proto: number;
  orig: Record<string, string | number>;
  state: string | null;
  flags: string[];
  timeout: number;
}

const key = (e: Entry): string => `${e.orig.src} ${e.orig.sport} > ${e.orig.dst} ${e.orig.dport}`;

const CASES: [sample: string, capture: string, checksum: 0 | 1][] = [
  ["veth-mixed", "capture-va.pcap", 1],
  ["veth-mixed", "capture-va.pcapng", 1],
  ["veth-mixed", "capture-any-sll2-nano.pcap", 1],
  ["veth-offload-on", "capture-va.pcap", 0],
];

describe.skipIf(!have)("TCP entries vs the live kernel table (kernel-oracle samples)", () => {
  it.each(CASES)("%s/%s (checksum %i)", async (sample, capture, checksum) => {
    const dir = path.join(samples, sample);
    const live = readFileSync(path.join(dir, "live-conntrack-A-client.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Entry)
      .filter((e) => e.proto === 6);
    const dumpTime = Number(readFileSync(path.join(dir, "live-dump-time.txt"), "utf8").trim());
    const settings = resolveSettings({ nf_conntrack_checksum: checksum });
    const r = await replayCaptures([path.join(dir, capture)], settings, { endTime: dumpTime });
    const model = liveEntries(r.conntrack, r.endJiffies).filter((e) => e.proto === 6) as Entry[];

    expect(live.length).toBeGreaterThanOrEqual(5);
    expect(model.map(key).sort()).toEqual(live.map(key).sort());
    const byKey = new Map(model.map((e) => [key(e), e]));
    for (const want of live) {
      const got = byKey.get(key(want))!;
      expect(got.state, key(want)).toBe(want.state);
      expect(got.flags, key(want)).toEqual(want.flags);
      expect(Math.abs(got.timeout - want.timeout), key(want)).toBeLessThanOrEqual(1);
    }
  });
});
