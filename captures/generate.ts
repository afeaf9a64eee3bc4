/**
 * Deterministic capture generator: a seeded PRNG drives flows (TCP/UDP/ICMP, IPv4/IPv6) arriving as a
 * Poisson process; a min-heap on the flows' next packet times merges them into one time-ordered stream
 * written in large chunks. Same options + seed -> byte-identical file. Memory is bounded by the
 * concurrency (one reusable state object per flow in progress), not by the capture size.
 */
import type { Writable } from "node:stream";
import type { CaptureFormat, ChunkSink } from "./capture-writer.js";
import { CaptureWriter, fileSink, MemorySink, streamSink } from "./capture-writer.js";
import type { FlowKind, FlowMix } from "./flows.js";
import {
  cumulativeMix,
  DEFAULT_MIX,
  expectedPacketsPerFlow,
  FLOW_KINDS,
  FlowSlot,
  meanLifetime,
  thinkGapFor,
} from "./flows.js";
import { FrameEmitter, PayloadPool } from "./frame.js";
import { Sfc32 } from "./prng.js";
import type { ScenarioName } from "./scenarios.js";
import { BULK_SCENARIOS, SCENARIO_NAMES, writeTcpTeardown } from "./scenarios.js";

export type { CaptureFormat } from "./capture-writer.js";
export type { FlowKind, FlowMix } from "./flows.js";
export { DEFAULT_MIX, FLOW_KINDS } from "./flows.js";
export type { ScenarioName } from "./scenarios.js";
export { SCENARIO_NAMES } from "./scenarios.js";

export interface GenerateOptions {
  seed: number;
  /** Number of flows; when null it is derived from `packets`. */
  flows: number | null;
  /** Approximate packet count (used when `flows` is null). */
  packets: number;
  /** Mean number of flows in progress at once (steady state; arrival rate x mean lifetime). */
  concurrent: number;
  /** Target capture duration (s): sets the think time so flows * mean lifetime / concurrent = duration. */
  durationS: number | null;
  /** Mean think time between a connection's exchanges (s) when no duration is given. */
  thinkS: number;
  /** Share of flows over IPv6 (0..1). */
  ipv6Share: number;
  format: CaptureFormat;
  /** Frames cut right after their headers (caplen = headers, origlen = full length). */
  headersOnly: boolean;
  /** Snapshot length: frames longer than this are cut (and the file header says so). */
  snaplen: number;
  /** Epoch seconds of the first packet. */
  startS: number;
  mix: FlowMix;
  scenario: ScenarioName | null;
}

export const DEFAULT_OPTIONS: GenerateOptions = {
  seed: 1,
  flows: null,
  packets: 100_000,
  concurrent: 1000,
  durationS: null,
  thinkS: 5,
  ipv6Share: 0.1,
  format: "pcap",
  headersOnly: false,
  snaplen: 65535,
  startS: 1_767_225_600, // 2026-01-01T00:00:00Z
  mix: DEFAULT_MIX,
  scenario: null,
};

export const PRESET_NAMES = ["bench5m", "bench5m-headers", "default"] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/**
 * Named option sets. bench5m: the sharding issue's reference load (about 5e6 packets, 986k flows, about
 * 200k flows in progress at the peak: the longest flows outlive the 300 s arrival window, so the steady
 * state `concurrent` is set a little higher than the peak it produces).
 */
export const PRESETS: Record<PresetName, Partial<GenerateOptions>> = {
  bench5m: { seed: 5, flows: 986_000, concurrent: 240_000, durationS: 300 },
  "bench5m-headers": { seed: 5, flows: 986_000, concurrent: 240_000, durationS: 300, headersOnly: true },
  /** captures/default.pcap, the capture `npm start` replays. */
  default: { seed: 2026, flows: 600, concurrent: 50, durationS: 120, format: "pcap" },
};

export interface GenerateResult {
  format: CaptureFormat;
  packets: number;
  ipv6Packets: number;
  flows: number;
  ipv6Flows: number;
  flowsByKind: Record<FlowKind, number>;
  bytes: number;
  firstUs: number;
  lastUs: number;
  /** Most flows in progress (first packet written, last not yet) at once. */
  maxConcurrent: number;
  /** Time-weighted mean of flows in progress between the first and the last packet. */
  meanConcurrent: number;
  elapsedMs: number;
}

/** Checks option values; returns a message naming the bad option, or null. */
export function checkOptions(o: GenerateOptions): string | null {
  const intOk = (v: number, min: number) => Number.isInteger(v) && v >= min;
  if (!intOk(o.seed, 0) || o.seed > 0xffffffff)
    return `--seed must be an integer 0..4294967295 (got ${o.seed})`;
  if (o.flows !== null && !intOk(o.flows, 1)) return `--flows must be a positive integer (got ${o.flows})`;
  if (o.flows !== null && o.flows > 65536 * 28232) return "--flows too large (client address/port space)";
  if (!intOk(o.packets, 1)) return `--packets must be a positive integer (got ${o.packets})`;
  if (!intOk(o.concurrent, 1)) return `--concurrent must be a positive integer (got ${o.concurrent})`;
  if (o.durationS !== null && !(o.durationS > 0))
    return `--duration must be > 0 seconds (got ${o.durationS})`;
  if (!(o.thinkS > 0)) return `--think must be > 0 seconds (got ${o.thinkS})`;
  if (!(o.ipv6Share >= 0 && o.ipv6Share <= 1)) return `--ipv6-share must be within 0..1 (got ${o.ipv6Share})`;
  if (o.format !== "pcap" && o.format !== "pcapng")
    return `--format must be pcap or pcapng (got ${o.format})`;
  if (!intOk(o.snaplen, 64) || o.snaplen > 65535) return `--snaplen must be 64..65535 (got ${o.snaplen})`;
  if (!(o.startS >= 0 && o.startS < 4e9)) return `start time out of range (got ${o.startS})`;
  if (o.scenario !== null && !SCENARIO_NAMES.includes(o.scenario)) return `unknown scenario ${o.scenario}`;
  return null;
}

/** Min-heap of slot indices keyed by next packet time (ties: lower slot first, for determinism). */
class SlotHeap {
  size = 0;
  readonly key: Float64Array;
  readonly slot: Int32Array;
  constructor(capacity: number) {
    this.key = new Float64Array(capacity);
    this.slot = new Int32Array(capacity);
  }
  private less(i: number, j: number): boolean {
    const a = this.key[i];
    const b = this.key[j];
    return a < b || (a === b && this.slot[i] < this.slot[j]);
  }
  private swap(i: number, j: number): void {
    const k = this.key[i];
    this.key[i] = this.key[j];
    this.key[j] = k;
    const s = this.slot[i];
    this.slot[i] = this.slot[j];
    this.slot[j] = s;
  }
  push(key: number, slot: number): void {
    let i = this.size++;
    this.key[i] = key;
    this.slot[i] = slot;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  private down(start: number): void {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.size) return;
      const r = l + 1;
      const m = r < this.size && this.less(r, l) ? r : l;
      if (!this.less(m, i)) return;
      this.swap(m, i);
      i = m;
    }
  }
  /** A copy with twice the capacity. */
  grown(): SlotHeap {
    const h = new SlotHeap(this.key.length * 2);
    h.key.set(this.key);
    h.slot.set(this.slot);
    h.size = this.size;
    return h;
  }
  /** Gives the top a new key. */
  replaceTop(key: number): void {
    this.key[0] = key;
    this.down(0);
  }
  popTop(): void {
    this.size--;
    if (this.size === 0) return;
    this.key[0] = this.key[this.size];
    this.slot[0] = this.slot[this.size];
    this.down(0);
  }
}

function resolve(opts: Partial<GenerateOptions>): GenerateOptions {
  const o: GenerateOptions = { ...DEFAULT_OPTIONS, ...opts };
  if (o.scenario !== null && o.scenario !== "tcp-teardown") {
    const sc = BULK_SCENARIOS[o.scenario];
    if (sc) {
      // A scenario fixes the flow mix and shape; seed, format and snaplen stay the caller's.
      o.mix = sc.mix;
      o.flows = opts.flows ?? sc.flows;
      o.concurrent = opts.concurrent ?? sc.concurrent;
      o.thinkS = opts.thinkS ?? sc.thinkS;
      o.ipv6Share = opts.ipv6Share ?? sc.ipv6Share;
      o.durationS = opts.durationS ?? null;
    }
  }
  return o;
}

/** Resolves options (defaults, scenario) and validates them. */
export function resolveOptions(opts: Partial<GenerateOptions>): GenerateOptions | string {
  const o = resolve(opts);
  return checkOptions(o) ?? o;
}

async function run(o: GenerateOptions, sink: ChunkSink): Promise<GenerateResult> {
  const t0 = performance.now();
  const rng = new Sfc32(o.seed);
  const pool = new PayloadPool(rng);
  const writer = new CaptureWriter(o.format, o.headersOnly ? 65535 : o.snaplen);
  const em = new FrameEmitter(writer, pool, { headersOnly: o.headersOnly, snaplen: o.snaplen });
  const flowsByKind = Object.fromEntries(FLOW_KINDS.map((k) => [k, 0])) as Record<FlowKind, number>;
  const startUs = o.startS * 1e6;
  const result: GenerateResult = {
    format: o.format,
    packets: 0,
    ipv6Packets: 0,
    flows: 0,
    ipv6Flows: 0,
    flowsByKind,
    bytes: 0,
    firstUs: startUs,
    lastUs: startUs,
    maxConcurrent: 0,
    meanConcurrent: 0,
    elapsedMs: 0,
  };

  if (o.scenario === "tcp-teardown") {
    const td = writeTcpTeardown(em, rng, startUs);
    result.lastUs = em.lastTsUs;
    result.flows = td.connections;
    flowsByKind["tcp-close"] = result.flows;
    result.ipv6Flows = result.flows / 2;
  } else {
    // Flows arrive as a Poisson process; by Little's law the flows in progress average
    // arrival rate * mean lifetime, which is set to `concurrent`.
    const mix = o.mix;
    const cum = cumulativeMix(mix);
    const nFlows = o.flows ?? Math.max(1, Math.round(o.packets / expectedPacketsPerFlow(mix)));
    let thinkS = o.thinkS;
    let arrivalGapUs: number;
    if (o.durationS !== null) {
      arrivalGapUs = (o.durationS * 1e6) / nFlows;
      thinkS = thinkGapFor(mix, (o.concurrent * o.durationS) / nFlows);
    } else {
      arrivalGapUs = (meanLifetime(mix, thinkS) * 1e6) / o.concurrent;
    }
    const params = { thinkUs: thinkS * 1e6 };
    const slots: FlowSlot[] = [];
    const free: number[] = [];
    let heap = new SlotHeap(1024);
    let started = 0;
    let nextArrival = startUs;
    let areaUs = 0;
    let lastT = startUs;
    for (;;) {
      const arriving = started < nFlows;
      if (heap.size === 0 && !arriving) break;
      const t = arriving && (heap.size === 0 || nextArrival <= heap.key[0]) ? nextArrival : heap.key[0];
      areaUs += heap.size * (t - lastT);
      lastT = t;
      if (t === nextArrival && arriving) {
        let i = free.pop();
        if (i === undefined) {
          i = slots.length;
          slots.push(new FlowSlot(em, rng, params));
        }
        const r = rng.float();
        let kind = 0;
        while (cum[kind] <= r) kind++;
        const v6 = rng.float() < o.ipv6Share;
        flowsByKind[FLOW_KINDS[kind]]++;
        if (v6) result.ipv6Flows++;
        slots[i].start(started++, kind, v6, t);
        if (heap.size === heap.key.length) heap = heap.grown();
        heap.push(t, i);
        if (heap.size > result.maxConcurrent) result.maxConcurrent = heap.size;
        nextArrival = t + 1 + Math.floor(rng.exp(arrivalGapUs));
        continue;
      }
      const i = heap.slot[0];
      const next = slots[i].step(t);
      if (next >= 0) {
        heap.replaceTop(next);
      } else {
        heap.popTop();
        free.push(i);
      }
      if (writer.needsFlush) await writer.flush(sink);
    }
    result.flows = started;
    result.firstUs = startUs;
    result.lastUs = lastT;
    const span = result.lastUs - result.firstUs;
    result.meanConcurrent = span > 0 ? areaUs / span : 0;
  }
  await writer.flush(sink);
  await sink.close();
  result.packets = em.packets;
  result.ipv6Packets = em.ipv6Packets;
  result.bytes = writer.flushed;
  result.elapsedMs = performance.now() - t0;
  return result;
}

/** Chooses pcapng for a .pcapng output name unless the format was given. */
export function formatForPath(path: string, given: CaptureFormat | undefined): CaptureFormat {
  if (given) return given;
  return /\.pcapng(\.|$)/i.test(path) ? "pcapng" : "pcap";
}

/** Generates a capture into `out`: a file path, "-" for stdout, or a writable stream. */
export async function generateCapture(
  out: string | Writable,
  opts: Partial<GenerateOptions> = {},
): Promise<GenerateResult | string> {
  const o = resolveOptions(opts);
  if (typeof o === "string") return o;
  let sink: ChunkSink;
  if (typeof out === "string") sink = out === "-" ? streamSink(process.stdout) : await fileSink(out);
  else sink = streamSink(out);
  return run(o, sink);
}

/** Generates a capture in memory (scenarios, tests). */
export async function generateToBuffer(
  opts: Partial<GenerateOptions> = {},
): Promise<{ bytes: Uint8Array; result: GenerateResult } | string> {
  const o = resolveOptions(opts);
  if (typeof o === "string") return o;
  const sink = new MemorySink();
  const result = await run(o, sink);
  return { bytes: sink.bytes(), result };
}
