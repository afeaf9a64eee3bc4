/**
 * Bench captures: generated once into a cache directory (os.tmpdir()/ctreplay-bench, or
 * $CTREPLAY_BENCH_DIR) and reused. The file name carries a fingerprint of the generator's output (the
 * digest of the small default preset), so a changed generator never benches a stale file.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { GenerateOptions, GenerateResult } from "../captures/generate.js";
import { generateCapture, generateToBuffer, PRESETS } from "../captures/generate.js";

export type BenchCaptureName = "bench5m" | "bench5m-headers";

export interface BenchCapture {
  name: string;
  path: string;
  packets: number;
  bytes: number;
  flows: number;
  /** Generation time when this run generated the file, else null (cached). */
  generatedMs: number | null;
  result: GenerateResult;
}

export function benchDir(): string {
  return process.env.CTREPLAY_BENCH_DIR ?? path.join(tmpdir(), "ctreplay-bench");
}

let fingerprint: string | null = null;
async function generatorFingerprint(): Promise<string> {
  if (fingerprint === null) {
    const r = await generateToBuffer(PRESETS.default);
    if (typeof r === "string") throw new Error(r);
    fingerprint = createHash("sha256").update(r.bytes).digest("hex").slice(0, 10);
  }
  return fingerprint;
}

/** The preset's options; `quick` keeps the shape at a tenth of the size (about 500k packets). */
export function benchOptions(name: BenchCaptureName, quick: boolean): Partial<GenerateOptions> {
  const o = { ...PRESETS[name] };
  if (quick) {
    o.flows = Math.round((o.flows ?? 0) / 10);
    o.concurrent = Math.round((o.concurrent ?? 0) / 10);
  }
  return o;
}

/** Returns the cached capture, generating it first if missing. */
export async function benchCapture(
  name: BenchCaptureName,
  quick = false,
  log: (s: string) => void = (s) => process.stderr.write(`${s}\n`),
): Promise<BenchCapture> {
  const dir = benchDir();
  await mkdir(dir, { recursive: true });
  const base = `${name}${quick ? "-quick" : ""}-${await generatorFingerprint()}`;
  const file = path.join(dir, `${base}.pcap`);
  const meta = path.join(dir, `${base}.json`);
  if (existsSync(file) && existsSync(meta)) {
    const result = JSON.parse(readFileSync(meta, "utf8")) as GenerateResult;
    return {
      name,
      path: file,
      packets: result.packets,
      bytes: result.bytes,
      flows: result.flows,
      generatedMs: null,
      result,
    };
  }
  log(`generating ${file} ...`);
  const tmp = `${file}.partial`;
  const r = await generateCapture(tmp, benchOptions(name, quick));
  if (typeof r === "string") throw new Error(r);
  await rename(tmp, file);
  await writeFile(meta, JSON.stringify(r));
  log(
    `  ${r.packets} packets, ${r.flows} flows, ${(r.bytes / 1e6).toFixed(0)} MB, peak ${r.maxConcurrent} flows ` +
      `in progress, generated in ${(r.elapsedMs / 1000).toFixed(1)} s`,
  );
  return {
    name,
    path: file,
    packets: r.packets,
    bytes: r.bytes,
    flows: r.flows,
    generatedMs: r.elapsedMs,
    result: r,
  };
}
