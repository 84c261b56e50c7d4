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

import { isPrintableTraceparent, packTracedRecords, tracedRecordBytes } from '../packing/traced-records';

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
 * The datagrams of a packed payload, or why it is not one: the peer is not trusted, so every record must lie
 * wholly inside the payload and carry a printable trace context, and there must be at least one. The datagrams are
 * views into `payload`, not copies.
 */
export function unpackDatagrams(payload: Buffer): UnpackResult {
  const datagrams: PackedDatagram[] = [];
  let at = 0;
  while (at < payload.length) {
    const record = datagrams.length + 1;
    const left = payload.length - at;
    if (left < PACKED_RECORD_HEADER_BYTES) {
      return {
        ok: false,
        reason: `record ${record} at byte ${at} is cut short: ${left} bytes left, its header takes ${PACKED_RECORD_HEADER_BYTES}`,
      };
    }
    const dataBytes = payload.readUInt32BE(at);
    const traceBytes = payload[at + 4];
    const needed = PACKED_RECORD_HEADER_BYTES + traceBytes + dataBytes;
    if (needed > left) {
      return {
        ok: false,
        reason:
          `record ${record} at byte ${at} declares ${dataBytes} data bytes and a ${traceBytes}-byte trace ` +
          `context, ${needed} bytes in all, but only ${left} remain`,
      };
    }
    const start = at + PACKED_RECORD_HEADER_BYTES;
    const data = payload.subarray(start + traceBytes, at + needed);
    if (traceBytes === 0) datagrams.push({ data });
    else {
      const traceparent = payload.toString('latin1', start, start + traceBytes);
      if (!isPrintableTraceparent(traceparent)) {
        return { ok: false, reason: `record ${record} at byte ${at} has a trace context that is not printable ASCII` };
      }
      datagrams.push({ data, traceparent });
    }
    at += needed;
  }
  if (datagrams.length === 0) return { ok: false, reason: 'it holds no datagram' };
  return { ok: true, datagrams };
}
