/** Capture input: streaming, zero-copy reader for pcap / pcapng, optionally gzip-compressed, file or stdin. */
export { CHUNK_SPARE_BYTES, chunkBuffer, chunkMemoryOf } from "./chunk-memory.js";
export { CaptureError } from "./error.js";
export { LINKTYPE, linkTypeName } from "./linktype.js";
export { openCapture, openCaptureStream } from "./open.js";
export { MAX_RECORD_BYTES } from "./reader.js";
export { RecordBatch, recordBatchBytes } from "./record-batch.js";
export type { CaptureInfo, CaptureInterface, CaptureReader, OpenOptions } from "./types.js";
