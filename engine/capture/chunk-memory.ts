/**
 * The readers' chunk buffers, each backed by a WebAssembly memory of its own, so the reader and the decoder
 * work on the capture bytes in place with WebAssembly (pcap record headers in record-window.ts, checksums
 * in engine/decode/checksum-simd.ts, common packets in engine/decode/fast-path.ts) instead of copying them
 * anywhere. A host that cannot create the memory gets a plain Uint8Array.
 */

import { readFileSync } from "node:fs";

const PAGE = 65536;
/**
 * Room the memory keeps after the chunk's bytes for code that works on the chunk in place (a module sees
 * only one memory): the pcap reader's record window at its start (record-window.ts), the decoder's fast
 * path window at the memory's end (engine/decode/fast-path.ts checks that the two fit).
 */
export const CHUNK_SPARE_BYTES = 512 * 1024;
const memories = new WeakMap<ArrayBufferLike, WebAssembly.Memory>();

/** A zeroed buffer of `size` bytes for capture chunks (its memory holds CHUNK_SPARE_BYTES more after it). */
export function chunkBuffer(size: number): Uint8Array {
  const pages = Math.max(1, Math.ceil((size + CHUNK_SPARE_BYTES) / PAGE));
  try {
    // Fixed size: growing would detach the buffer under the views the reader and batches hold.
    const mem = new WebAssembly.Memory({ initial: pages, maximum: pages });
    memories.set(mem.buffer, mem);
    return new Uint8Array(mem.buffer, 0, size);
  } catch {
    return new Uint8Array(size);
  }
}

/** The WebAssembly memory behind a chunk buffer's ArrayBuffer (undefined for any other buffer). */
export function chunkMemoryOf(buffer: ArrayBufferLike): WebAssembly.Memory | undefined {
  return memories.get(buffer);
}

/**
 * A WebAssembly module that works on capture chunks in place (it imports a chunk's memory), compiled on
 * first use, with one object per chunk memory made by `make` (its instance and window). Where the module
 * cannot be compiled (a build without it, a host without a feature it uses) every chunk gets null and the
 * caller's JavaScript path does the work; `unavailable` says why.
 */
export class ChunkModule<T> {
  private module: WebAssembly.Module | null | undefined;
  private readonly perMemory = new WeakMap<ArrayBufferLike, T | null>();
  unavailable: string | null = null;

  constructor(
    private readonly file: URL,
    private readonly make: (mem: WebAssembly.Memory, mod: WebAssembly.Module, chunk: Uint8Array) => T | null,
  ) {}

  compiled(): WebAssembly.Module | null {
    if (this.module !== undefined) return this.module;
    try {
      this.module = new WebAssembly.Module(readFileSync(this.file));
    } catch (e) {
      this.unavailable = `${this.file.pathname.split("/").pop()} unavailable: ${(e as Error).message}`;
      this.module = null;
    }
    return this.module;
  }

  /** The object for the chunk memory behind `chunk`, or null (not a chunk memory, no module). */
  for(chunk: Uint8Array): T | null {
    const known = this.perMemory.get(chunk.buffer);
    if (known !== undefined) return known;
    const mem = memories.get(chunk.buffer);
    const mod = this.compiled();
    const made = mem !== undefined && mod !== null ? this.make(mem, mod, chunk) : null;
    this.perMemory.set(chunk.buffer, made);
    return made;
  }
}
