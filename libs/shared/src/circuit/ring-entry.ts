import { MAX_ENTRY_BYTES } from './circuit-descriptor';

/**
 * One ring entry: a Redis stream entry with a kind field, a payload field and the W3C trace context fields of the
 * write that produced it (`otel.traceparent`, `otel.tracestate`). Short field names: they are stored per entry.
 */
export const ENTRY_FIELDS = { kind: 'k', payload: 'p' } as const;

export const ENTRY_KINDS = {
  /** Data: a stream chunk, a whole datagram, or the last fragment of one. */
  data: 'd',
  /** A datagram fragment with more to follow (datagrams above MAX_ENTRY_BYTES are split and rejoined). */
  more: 'm',
  /** Several whole datagrams, packed (datagram-packing.ts): what a busy writer sends instead of one entry each. */
  packed: 'p',
  /** The writer will send nothing more (half-close). */
  fin: 'f',
  /** The writer aborted; the reader must fail the circuit. The payload is the reason. */
  rst: 'r',
} as const;

export type EntryKind = (typeof ENTRY_KINDS)[keyof typeof ENTRY_KINDS];

export interface RingEntry {
  id: string;
  kind: EntryKind;
  payload: Buffer;
  /** `traceparent` of the write, when it had one. */
  traceparent?: string;
}

const KINDS = new Set<string>(Object.values(ENTRY_KINDS));
const EMPTY: Buffer = Buffer.alloc(0);
const TRACEPARENT_FIELD = 'otel.traceparent';
const PAYLOAD_FIELD_BYTE = ENTRY_FIELDS.payload.charCodeAt(0);

/**
 * Decodes the flat `[field, value, ...]` Buffer list XREAD returns. An entry this protocol did not write (a
 * misbehaving peer) decodes as an RST, so the reader fails loudly instead of delivering garbage.
 */
export function decodeRingEntry(id: string, fields: readonly Buffer[]): RingEntry {
  let kind: string | undefined;
  let payload = EMPTY;
  let traceparent: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i].toString('latin1');
    if (name === ENTRY_FIELDS.kind) kind = fields[i + 1].toString('latin1');
    else if (name === ENTRY_FIELDS.payload) payload = fields[i + 1]!;
    else if (name === TRACEPARENT_FIELD) traceparent = fields[i + 1].toString('latin1');
  }
  if (kind === undefined || !KINDS.has(kind)) {
    return { id, kind: ENTRY_KINDS.rst, payload: Buffer.from(`malformed ring entry ${id}: unknown kind`) };
  }
  return { id, kind: kind as EntryKind, payload, traceparent };
}

/**
 * The most bytes one ring entry may hold, field names and values together: a payload of at most MAX_ENTRY_BYTES, the
 * kind, and the trace context fields (`traceparent` is 55 characters, W3C caps `tracestate` at 512).
 */
export const MAX_RING_ENTRY_BYTES = MAX_ENTRY_BYTES + 1024;

/**
 * Why an entry read from a peer's ring breaks the protocol, or undefined when it does not: its payload is over the
 * fragment limit (MAX_ENTRY_BYTES), or the entry as a whole is over MAX_RING_ENTRY_BYTES (fields nobody reads). Checked
 * before decoding, so nothing oversized is handed on or kept.
 */
export function ringEntryViolation(id: string, fields: readonly Buffer[]): string | undefined {
  let total = 0;
  for (let i = 0; i < fields.length; i++) {
    total += fields[i].length;
    if (i % 2 === 1 && fields[i - 1].length === 1 && fields[i - 1][0] === PAYLOAD_FIELD_BYTE) {
      if (fields[i].length > MAX_ENTRY_BYTES) {
        return `ring entry ${id} carries ${fields[i].length} payload bytes, over the ${MAX_ENTRY_BYTES}-byte fragment limit`;
      }
    }
  }
  if (total > MAX_RING_ENTRY_BYTES) {
    return `ring entry ${id} is ${total} bytes, over the ${MAX_RING_ENTRY_BYTES}-byte entry limit`;
  }
  return undefined;
}

/** The smallest stream id greater than `id`, for XTRIM MINID (which keeps ids >= the threshold). */
export function nextStreamId(id: string): string {
  const dash = id.indexOf('-');
  return `${id.slice(0, dash)}-${BigInt(id.slice(dash + 1)) + 1n}`;
}
