/**
 * The record framing both packed formats use (seed 003's aggregation: many datagrams or frames in one stream entry),
 * each record being
 *
 *     length (u16be or u32be) | u8 traceparent length | traceparent (ASCII) | body
 *
 * Port frames (port/port-frames.ts) take a 16-bit length, circuit datagrams (circuit/datagram-packing.ts) a 32-bit
 * one. Only the writing side is shared: the two readers refuse different things (a port entry is split per frame and
 * counted per drop reason, a circuit entry is refused whole).
 */

/** The longest traceparent a record can carry (its length is one byte). */
const MAX_TRACEPARENT_BYTES = 255;
const PRINTABLE = /^[\x21-\x7e]*$/;

/** Bytes of the record's length field. */
export type RecordLengthBytes = 2 | 4;

export interface TracedRecord {
  body: Buffer;
  /** W3C `traceparent` of the send that produced the body, when it had one. */
  traceparent?: string;
}

/** A traceparent that fits a record (printable ASCII, at most 255 bytes), else none: not worth a refusal. */
export function packableTraceparent(traceparent: string | undefined): string {
  if (traceparent === undefined || traceparent.length > MAX_TRACEPARENT_BYTES || !PRINTABLE.test(traceparent)) {
    return '';
  }
  return traceparent;
}

/** Whether a record's traceparent bytes are ones a writer could have put there (printable ASCII). */
export function isPrintableTraceparent(text: string): boolean {
  return PRINTABLE.test(text);
}

/** The bytes one record takes. */
export function tracedRecordBytes(lengthBytes: RecordLengthBytes, bodyBytes: number, traceparent?: string): number {
  return packableRecordBytes(lengthBytes, bodyBytes, packableTraceparent(traceparent));
}

/** tracedRecordBytes for a traceparent packableTraceparent already gave (a packer that looks each up once). */
export function packableRecordBytes(lengthBytes: RecordLengthBytes, bodyBytes: number, trace: string): number {
  return lengthBytes + 1 + trace.length + bodyBytes;
}

/** Packs `records` into one payload, in order (each body's length must fit the length field: the caller checks). */
export function packTracedRecords(lengthBytes: RecordLengthBytes, records: readonly TracedRecord[]): Buffer {
  let total = 0;
  for (const { body, traceparent } of records) total += tracedRecordBytes(lengthBytes, body.length, traceparent);
  const payload = Buffer.allocUnsafe(total);
  let at = 0;
  for (const { body, traceparent } of records) {
    at = writeTracedRecord(payload, at, lengthBytes, body, packableTraceparent(traceparent));
  }
  return payload;
}

/**
 * Writes one record into `payload` at `at` and returns where the next one starts, for a writer that packs straight
 * from its queue (no record objects on the way). `trace` must already be packable (packableTraceparent) and the
 * record must fit: the caller sized `payload` with tracedRecordBytes.
 */
export function writeTracedRecord(
  payload: Buffer,
  at: number,
  lengthBytes: RecordLengthBytes,
  body: Uint8Array,
  trace: string,
): number {
  if (lengthBytes === 2) payload.writeUInt16BE(body.length, at);
  else payload.writeUInt32BE(body.length, at);
  payload[at + lengthBytes] = trace.length;
  at += lengthBytes + 1;
  if (trace.length > 0) at += payload.write(trace, at, 'latin1');
  // TypedArray set: a small body copies at a fraction of Buffer#copy's per-call cost.
  payload.set(body, at);
  return at + body.length;
}
