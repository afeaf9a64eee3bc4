/**
 * A fatal input error, as a value: which file, where (byte offset in the decompressed stream) and which
 * packet record (1-based; 0 = in the file header, before any record). Returned/stored, never thrown.
 */
export class CaptureError {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly packetNo: number,
    readonly message: string,
  ) {}

  toString(): string {
    return `${this.file}: byte ${this.offset}, packet ${this.packetNo}: ${this.message}`;
  }
}
