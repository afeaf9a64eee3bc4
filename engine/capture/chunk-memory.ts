/**
 * The readers' chunk buffers, each backed by a WebAssembly memory of its own, so the decoder works on the
 * capture bytes in place with WebAssembly (checksums in engine/decode/checksum-simd.ts, common packets in
 * engine/decode/fast-path.ts) instead of copying them anywhere. A host that cannot create the memory gets a
 * plain Uint8Array.
 */

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
