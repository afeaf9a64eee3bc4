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

  constructor(capacity = 8192) {
    this.capacity = capacity;
    this.offset = new Uint32Array(capacity);
    this.caplen = new Uint32Array(capacity);
    this.origlen = new Uint32Array(capacity);
    this.tsSec = new Float64Array(capacity);
    this.tsNsec = new Uint32Array(capacity);
    this.linkType = new Uint16Array(capacity);
    this.packetNo = new Float64Array(capacity);
    this.fileOffset = new Float64Array(capacity);
  }
}
