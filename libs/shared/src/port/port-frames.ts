import {
  isPrintableTraceparent,
  packableRecordBytes,
  packableTraceparent,
  packTracedRecords,
  tracedRecordBytes,
  writeTracedRecord,
} from '../packing/traced-records';
import { MAX_FRAME_BYTES } from './port-keys';

/**
 * Several frames in one port stream entry (field PORT_ENTRY_FIELDS.frames), seed 003's aggregation on the packet
 * path: a busy vNIC or switch packs what is waiting into each entry instead of paying an XADD, a read and an
 * acknowledgement per frame; an idle one still writes each frame alone in the single-frame format (field `f`, with
 * the sender's `otel.*` fields), which every reader keeps accepting. The payload is a run of records:
 *
 *     u16be frame length | u8 traceparent length | traceparent (ASCII) | frame
 *
 * The traceparent is the W3C context of the send that produced the frame (empty when it had none), so each frame
 * keeps its own trace and the switch can pack frames of many senders into one rx entry. The circuit's packed
 * datagrams (circuit/datagram-packing.ts) have the same shape with a 32-bit length (packing/traced-records.ts).
 */

/** Bytes of a record before its traceparent and frame. */
export const PORT_RECORD_HEADER_BYTES = 3;
/** The most frames one entry may hold; an entry with more is refused whole (`entry-over-frames`). */
export const MAX_FRAMES_PER_ENTRY = 128;
/**
 * The largest packed payload a writer makes: one jumbo frame with its record header and a traceparent always fits.
 * With the field name it stays within the switch's MAX_TX_ENTRY_BYTES, so a tx stream's memory bound is unchanged.
 */
export const MAX_PACKED_ENTRY_BYTES = MAX_FRAME_BYTES + 512;

export interface PortFrame {
  frame: Buffer;
  /** W3C `traceparent` of the send that produced the frame, when it had one. */
  traceparent?: string;
}

/** Why (part of) a packed entry was refused; each is a drop reason of the switch. */
export type PackedEntryProblem = 'entry-malformed' | 'entry-over-frames';

export interface UnpackedPortFrames {
  /** The frames split off before any problem (views into the payload, not copies); none when `refused`. */
  frames: PortFrame[];
  /**
   * What could not be split: a record cut short or a bad traceparent length ends the split there, and the rest of
   * the payload counts as one refused frame; too many frames refuses them all (`frames` empty, `count`
   * MAX_FRAMES_PER_ENTRY + 1, however many more the payload holds).
   */
  problem?: { reason: PackedEntryProblem; detail: string; count: number; bytes: number };
}

/** The bytes one frame takes in a packed payload. */
export function packedFrameBytes(frameBytes: number, traceparent: string | undefined): number {
  return tracedRecordBytes(2, frameBytes, traceparent);
}

/** packedFrameBytes for a traceparent packablePortTraceparent already gave (a packer that looks each up once). */
export function packableFrameBytes(frameBytes: number, traceparent: string): number {
  return packableRecordBytes(2, frameBytes, traceparent);
}

/** Packs `frames` (each at most MAX_FRAME_BYTES, checked by the caller) into one payload, in order. */
export function packPortFrames(frames: readonly PortFrame[]): Buffer {
  return packTracedRecords(
    2,
    frames.map(({ frame, traceparent }) => ({ body: frame, traceparent })),
  );
}

/**
 * The frames of a packed payload. The writer is not trusted (a VM may put any bytes in its tx): every record must
 * lie wholly inside the payload, a frame longer than MAX_FRAME_BYTES is still split off (the parser refuses it as
 * oversized, per frame), a traceparent that is not printable ASCII is dropped (the frame goes on, untraced), and an
 * entry of more than MAX_FRAMES_PER_ENTRY frames is refused whole, counted as MAX_FRAMES_PER_ENTRY + 1 frames. Never
 * throws.
 */
export function unpackPortFrames(payload: Buffer): UnpackedPortFrames {
  const frames: PortFrame[] = [];
  const problem = forEachPortFrame(payload, (frame, traceparent) =>
    frames.push(traceparent === undefined ? { frame } : { frame, traceparent }),
  );
  if (problem === undefined) return { frames };
  return { frames: problem.reason === 'entry-over-frames' ? [] : frames, problem };
}

/**
 * unpackPortFrames for a reader that keeps each frame its own way (the switch, per frame read): `visit` gets each
 * frame split off, in order, with its traceparent when it has a printable one, and no object is made per frame. The
 * problem it returns is unpackPortFrames'; on `entry-over-frames` the entry is refused whole, so the frames visited
 * before it was found (MAX_FRAMES_PER_ENTRY of them) are the caller's to discard.
 */
export function forEachPortFrame(
  payload: Buffer,
  visit: (frame: Buffer, traceparent: string | undefined) => void,
): UnpackedPortFrames['problem'] {
  let at = 0;
  if (payload.length === 0) {
    return { reason: 'entry-malformed', detail: 'the packed entry is empty', count: 1, bytes: 0 };
  }
  // The walk stops at the record past MAX_FRAMES_PER_ENTRY: the entry is refused whole then, counted as
  // MAX_FRAMES_PER_ENTRY + 1 frames whatever it holds beyond (a hostile entry of thousands of empty records costs no
  // more than one at the limit). The switch's tx-read script counts an entry it drops over the tx bound the same way.
  let count = 0;
  while (at < payload.length && count <= MAX_FRAMES_PER_ENTRY) {
    const left = payload.length - at;
    if (left < PORT_RECORD_HEADER_BYTES) {
      return cutShort(count, at, left, `record ${count + 1} at byte ${at} has ${left} bytes, its header 3`);
    }
    const frameBytes = payload.readUInt16BE(at);
    const traceBytes = payload[at + 2];
    const needed = PORT_RECORD_HEADER_BYTES + traceBytes + frameBytes;
    if (needed > left) {
      return cutShort(count, at, left, `record ${count + 1} at byte ${at} needs ${needed} bytes, ${left} left`);
    }
    count += 1;
    if (count <= MAX_FRAMES_PER_ENTRY) {
      const traceStart = at + PORT_RECORD_HEADER_BYTES;
      const trace = traceBytes === 0 ? undefined : payload.toString('latin1', traceStart, traceStart + traceBytes);
      const frame = payload.subarray(traceStart + traceBytes, at + needed);
      visit(frame, trace !== undefined && isPrintableTraceparent(trace) ? trace : undefined);
    }
    at += needed;
  }
  if (count > MAX_FRAMES_PER_ENTRY) {
    const detail = `the entry holds more than MAX_FRAMES_PER_ENTRY (${MAX_FRAMES_PER_ENTRY}) frames`;
    return { reason: 'entry-over-frames', detail, count, bytes: payload.length };
  }
  return undefined;
}

/**
 * The traceparent as a frame's record carries it: '' for none, or for one that is not printable ASCII of at most 255
 * bytes (not worth refusing the frame for). packedFrameBytes and packPortFrames apply it themselves.
 */
export { packableTraceparent as packablePortTraceparent };

/**
 * Writes one frame's record at `at` of a payload being packed and returns where the next starts, for a writer that
 * packs straight from its own queue (no record objects on the way). `traceparent` comes from packablePortTraceparent,
 * and the payload was sized with packableFrameBytes.
 */
export function writePortFrame(payload: Buffer, at: number, frame: Uint8Array, traceparent: string): number {
  return writeTracedRecord(payload, at, 2, frame, traceparent);
}

function cutShort(count: number, at: number, left: number, detail: string): UnpackedPortFrames['problem'] {
  if (count >= MAX_FRAMES_PER_ENTRY) {
    const reason = `the entry holds more than MAX_FRAMES_PER_ENTRY (${MAX_FRAMES_PER_ENTRY}) frames`;
    return { reason: 'entry-over-frames', detail: reason, count: count + 1, bytes: at + left };
  }
  return { reason: 'entry-malformed', detail, count: 1, bytes: left };
}

const FRAME_FIELD = 'f';
const FRAMES_FIELD = 'm';
const SENT_AT_FIELD = 't';

/** What a reader finds in one port stream entry. */
export interface PortEntryContent {
  /** The entry's frames (single-frame or packed format); none when it has neither field. */
  frames: PortFrame[];
  /** Set when the entry holds neither format (a ledger entry, say), or a packed payload was (partly) refused. */
  problem?: UnpackedPortFrames['problem'];
  /** Whether the entry has a frame field of either format. */
  hasFrames: boolean;
  /** The writer's `t` stamp (µs since the epoch), when the entry has a valid one. */
  sentAtUs?: number;
}

/** The frames of an entry read from a port stream, given its flat fields (Buffers or strings), in either format. */
export function portEntryContent(fields: readonly (Buffer | string)[]): PortEntryContent {
  const content: PortEntryContent = { frames: [], hasFrames: false };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i].toString();
    const value = fields[i + 1];
    if (name === FRAME_FIELD) {
      content.hasFrames = true;
      content.frames.push({ frame: typeof value === 'string' ? Buffer.from(value, 'latin1') : value });
    } else if (name === FRAMES_FIELD) {
      content.hasFrames = true;
      const unpacked = unpackPortFrames(typeof value === 'string' ? Buffer.from(value, 'latin1') : value);
      content.frames.push(...unpacked.frames);
      if (unpacked.problem) content.problem = unpacked.problem;
    } else if (name === SENT_AT_FIELD) {
      const stamp = Number(value.toString());
      if (Number.isSafeInteger(stamp) && stamp > 0) content.sentAtUs = stamp;
    }
  }
  return content;
}
