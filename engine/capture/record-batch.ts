/**
 * A batch of capture records, zero-copy: every record is a byte range of `data`
 * (the reader's current chunk). Valid until the reader's next readBatch() call.
 * Columns are preallocated typed arrays; nothing is allocated per record.
 */
export class RecordBatch {
  readonly capacity: number;
  count = 0;
  /** The chunk the records point into (replaced by the reader when it grows its buffer). */
  data: Uint8Array = new Uint8Array(0);
  /** Start of the captured bytes of each record within `data`. */
  readonly offset: Uint32Array;
  /** Captured length (incl_len / EPB captured length). */
  readonly caplen: Uint32Array;
  /** Original length on the wire (orig_len). */
  readonly origlen: Uint32Array;
  /** Whole seconds since the epoch (Float64: pcapng stamps can exceed 2^32 s units). */
  readonly tsSec: Float64Array;
  /** Nanoseconds within the second, 0..999_999_999. */
  readonly tsNsec: Uint32Array;
  /** LINKTYPE_* of the record's interface. */
  readonly linkType: Uint16Array;
  /** 1-based packet number within the capture (for error messages). */
  readonly packetNo: Float64Array;
  /** Byte offset of the record header within the (decompressed) stream. */
  readonly fileOffset: Float64Array;

  /**
   * `cols`: where the columns live (default: a new ArrayBuffer), from `byteOffset` (a multiple of 8) on; a
   * SharedArrayBuffer of recordBatchBytes(capacity) lets decode threads read a copied batch in place, and
   * the WebAssembly record parser and decoder fast path lay their windows' record columns out this way in
   * a capture chunk's memory.
   */
  constructor(
    capacity = 8192,
    cols: ArrayBufferLike = new ArrayBuffer(recordBatchBytes(capacity)),
    byteOffset = 0,
  ) {
    this.capacity = capacity;
    if ((byteOffset & 7) !== 0) throw new RangeError("RecordBatch: byteOffset not a multiple of 8");
    if (cols.byteLength - byteOffset < recordBatchBytes(capacity))
      throw new RangeError("RecordBatch: column buffer too small");
    // 8-byte columns first, so every view is aligned.
    let off = byteOffset;
    const f64 = (): Float64Array => {
      const a = new Float64Array(cols, off, capacity);
      off += 8 * capacity;
      return a;
    };
    const u32 = (): Uint32Array => {
      const a = new Uint32Array(cols, off, capacity);
      off += 4 * capacity;
      return a;
    };
    this.tsSec = f64();
    this.packetNo = f64();
    this.fileOffset = f64();
    this.offset = u32();
    this.caplen = u32();
    this.origlen = u32();
    this.tsNsec = u32();
    this.linkType = new Uint16Array(cols, off, capacity);
  }
}

/** Bytes of a RecordBatch's columns for `capacity` records. */
export function recordBatchBytes(capacity: number): number {
  return capacity * (8 + 8 + 8 + 4 + 4 + 4 + 4 + 2);
}
