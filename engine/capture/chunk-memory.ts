/**
 * The readers' chunk buffers, each backed by a WebAssembly memory of its own, so the decoder verifies
 * checksums over the capture bytes in place with WebAssembly SIMD (engine/decode/checksum-simd.ts)
 * instead of copying them anywhere. A host that cannot create the memory gets a plain Uint8Array.
 */

const PAGE = 65536;
const memories = new WeakMap<ArrayBufferLike, WebAssembly.Memory>();

/** A zeroed buffer of `size` bytes for capture chunks. */
export function chunkBuffer(size: number): Uint8Array {
  const pages = Math.max(1, Math.ceil(size / PAGE));
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
