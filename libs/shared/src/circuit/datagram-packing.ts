/**
 * Several datagrams in one ring entry (kind `p`, ENTRY_KINDS.packed), boundaries kept. Seed 003's aggregation: a
 * busy writer packs what is waiting into each entry instead of paying an XADD, a read and a trim per datagram; an
 * idle one still sends each datagram alone as a plain `d` entry. The payload is a run of records:
 *
 *     u32be data length | u8 traceparent length | traceparent (ASCII) | data
 *
 * The traceparent is the W3C context of the `send()` that produced the datagram (empty when it had none), so each
 * datagram keeps its own trace. The whole payload stays within the fragment limit (MAX_ENTRY_BYTES).
 */

import { packTracedRecords, tracedRecordBytes } from '../packing/traced-records';

/** Bytes of a record before its traceparent and data. */
export const PACKED_RECORD_HEADER_BYTES = 5;

export interface PackedDatagram {
  data: Buffer;
  /** W3C `traceparent` of the send that produced the datagram, when it had one. */
  traceparent?: string;
}

export type UnpackResult = { ok: true; datagrams: PackedDatagram[] } | { ok: false; reason: string };

/** The bytes one datagram takes in a packed payload. */
export function packedRecordBytes(dataBytes: number, traceparent: string | undefined): number {
  return tracedRecordBytes(4, dataBytes, traceparent);
}

/** Packs `datagrams` into one payload, in order. */
export function packDatagrams(datagrams: readonly PackedDatagram[]): Buffer {
  return packTracedRecords(
    4,
    datagrams.map(({ data, traceparent }) => ({ body: data, traceparent })),
  );
}

/**
 * The datagrams of a packed payload, or why it is not one (packedDatagramsViolation). The datagrams are views into
 * `payload`, not copies.
 */
export function unpackDatagrams(payload: Buffer): UnpackResult {
  const reason = packedDatagramsViolation(payload);
  if (reason !== undefined) return { ok: false, reason };
  const datagrams: PackedDatagram[] = [];
  forEachPackedDatagram(payload, (data, traceparent) =>
    datagrams.push(traceparent === undefined ? { data } : { data, traceparent }),
  );
  return { ok: true, datagrams };
}

/**
 * Why a packed payload is not one, or undefined when it is: the peer is not trusted, so every record must lie
 * wholly inside the payload and carry a printable trace context, and there must be at least one. Reads only the
 * record headers and trace contexts (no allocation per record), so a reader can refuse a bad entry before it hands
 * on any of it.
 */
export function packedDatagramsViolation(payload: Buffer): string | undefined {
  let at = 0;
  let record = 0;
  while (at < payload.length) {
    record += 1;
    const left = payload.length - at;
    if (left < PACKED_RECORD_HEADER_BYTES) {
      return `record ${record} at byte ${at} is cut short: ${left} bytes left, its header takes ${PACKED_RECORD_HEADER_BYTES}`;
    }
    const dataBytes = payload.readUInt32BE(at);
    const traceBytes = payload[at + 4];
    const needed = PACKED_RECORD_HEADER_BYTES + traceBytes + dataBytes;
    if (needed > left) {
      return (
        `record ${record} at byte ${at} declares ${dataBytes} data bytes and a ${traceBytes}-byte trace ` +
        `context, ${needed} bytes in all, but only ${left} remain`
      );
    }
    const start = at + PACKED_RECORD_HEADER_BYTES;
    for (let i = start; i < start + traceBytes; i++) {
      if (payload[i] < 0x21 || payload[i] > 0x7e) {
        return `record ${record} at byte ${at} has a trace context that is not printable ASCII`;
      }
    }
    at += needed;
  }
  return record === 0 ? 'it holds no datagram' : undefined;
}

/**
 * Calls `visit` with each datagram of a payload that packedDatagramsViolation accepted, in order: a view into
 * `payload` and its traceparent, if any. Stops early when `visit` returns false.
 */
export function forEachPackedDatagram(
  payload: Buffer,
  visit: (data: Buffer, traceparent: string | undefined) => unknown,
): void {
  for (let at = 0; at < payload.length;) {
    const dataBytes = payload.readUInt32BE(at);
    const traceBytes = payload[at + 4];
    const start = at + PACKED_RECORD_HEADER_BYTES;
    at = start + traceBytes + dataBytes;
    const traceparent = traceBytes === 0 ? undefined : payload.toString('latin1', start, start + traceBytes);
    if (visit(payload.subarray(start + traceBytes, at), traceparent) === false) return;
  }
}
