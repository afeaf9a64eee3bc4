/**
 * The real kernel accepts what the generator writes: every scenario (and a bulk capture) injected into a
 * private netns through the kernel oracle, with nf_conntrack_checksum=1, gives no INVALID packet, no bad
 * checksum, and every packet reaches the confirm point. Skipped (with the reason) where the oracle cannot run.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GenerateOptions } from "../captures/generate.js";
import { generateToBuffer, SCENARIO_NAMES } from "../captures/generate.js";
import { OracleError, runKernel } from "../engine/oracle/index.js";
import { oracleUnavailable } from "./oracle-helpers.js";

const why = await oracleUnavailable();
if (why) console.log(`generate-kernel: skipped: ${why}`);

describe.skipIf(why !== null)("generated captures through the real kernel", () => {
  let work = "";
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "ctreplay-gen-kernel-"));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const cases: [string, Partial<GenerateOptions>][] = [
    ...SCENARIO_NAMES.map((s): [string, Partial<GenerateOptions>] => [s, { scenario: s }]),
    ["bulk mix", { seed: 9, flows: 1500, concurrent: 100, durationS: 30 }],
    [
      "bulk mix, pcapng, headers only (oracle pads)",
      { seed: 9, flows: 300, format: "pcapng", headersOnly: true },
    ],
  ];
  for (const [name, opts] of cases) {
    it(name, { timeout: 120_000 }, async () => {
      const g = await generateToBuffer(opts);
      if (typeof g === "string") throw new Error(g);
      const file = path.join(work, `${name.replace(/\W+/g, "-")}.${g.result.format}`);
      await writeFile(file, g.bytes);
      const run = await runKernel({
        capture: file,
        outDir: path.join(work, `${name.replace(/\W+/g, "-")}-out`),
      });
      if (run instanceof OracleError) throw new Error(run.message);
      const packets = g.result.packets;
      if (!opts.headersOnly) {
        expect(run.input?.csum.bad).toBe(0);
        expect(run.input?.csum.ok).toBe(packets);
      }
      expect(run.inject.injected).toBe(packets);
      expect(run.nft.pre_invalid).toBe(0);
      expect(run.stats.total.invalid ?? 0).toBe(0);
      expect(run.nft.in_in).toBe(packets);
      if (name === "icmp-errors") {
        // Every port unreachable is RELATED to the UDP flow it quotes.
        expect(run.nft.pre_rel).toBe(g.result.flowsByKind["udp-unreach"]);
      }
      if (name === "table-full") {
        expect(run.entries.every((e) => e.unreplied)).toBe(true);
      }
    });
  }
});
