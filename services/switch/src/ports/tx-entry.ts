import { forEachPortFrame, PORT_ENTRY_FIELDS } from '@tenantlab/shared';
import type { SwitchPort } from '../pipeline/switch-port';
import type { PortEntry } from './port-io';

/** One entry of a port's tx stream, shared by the frames it carried. */
export interface TxEntry {
  id: string;
  /** Frames it held (a refused packed payload counts as the frames it was refused for). */
  frames: number;
  /** When its writer sent it (its `t` field, µs since the epoch), when it said so. */
  sentAtUs: number | undefined;
  /** When the switch's read of it answered, µs since the epoch. */
  readAtUs: number;
  /**
   * Set when it is read again after a batch that decided it failed to commit (and did not apply): its frames were
   * charged to their tenant's CPU budget and storm control then, and are not charged again.
   */
  charged?: boolean;
}

const FRAME = Buffer.from(PORT_ENTRY_FIELDS.frame);
const FRAMES = Buffer.from(PORT_ENTRY_FIELDS.frames);
const SENT_AT = Buffer.from(PORT_ENTRY_FIELDS.sentAt);
const TRACE_PREFIX = 'otel.';
const TRACEPARENT = 'otel.traceparent';
const NO_TRACE: string[] = [];
/** A stamp further off than this is not believed (a VM writes what it likes): the frame is left out of the timings. */
const MAX_STAMP_SKEW_US = 10_000_000;

/**
 * Appends the frames of one tx entry to `out`, in order, each a PortEntry sharing one TxEntry. Either format: one
 * frame (`f`, with the entry's `otel.*` fields as its trace) or packed frames (`m`, each with its own traceparent).
 * What a packed payload held that could not be split becomes one stand-in PortEntry marked `refused`, so it is
 * counted and acknowledged with the rest; an entry with no frame field at all reaches the pipeline as an empty frame,
 * which it refuses and counts (as before aggregation); one with several frame fields is refused whole, as one frame
 * (`entry-malformed`).
 */
export function decodeTxEntry(
  port: SwitchPort,
  id: string,
  fields: Buffer[],
  readAtUs: number,
  out: PortEntry[],
): void {
  let single: Buffer | undefined;
  let packed: Buffer | undefined;
  /** Frame fields of either format: a writer puts one; with more, which to read would be a guess. */
  let frameFields = 0;
  let sentAtUs: number | undefined;
  let trace = NO_TRACE;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i];
    if (name.equals(FRAME)) {
      single = fields[i + 1];
      frameFields += 1;
    } else if (name.equals(FRAMES)) {
      packed = fields[i + 1];
      frameFields += 1;
    } else if (name.equals(SENT_AT)) {
      const stamp = Number(fields[i + 1].toString('latin1'));
      if (Math.abs(stamp - readAtUs) < MAX_STAMP_SKEW_US) sentAtUs = stamp;
    } else if (name.toString('latin1').startsWith(TRACE_PREFIX)) {
      if (trace === NO_TRACE) trace = [];
      trace.push(name.toString(), fields[i + 1].toString());
    }
  }
  const entry: TxEntry = { id, frames: 1, sentAtUs, readAtUs };
  if (frameFields > 1) {
    // Refused whole, as one frame: the tx-read script counts such an entry so when it drops it over the tx bound.
    const values = fields.filter(
      (_, i) => i % 2 === 1 && (fields[i - 1].equals(FRAME) || fields[i - 1].equals(FRAMES)),
    );
    const detail = `the entry has ${frameFields} frame fields (${PORT_ENTRY_FIELDS.frame} or ${PORT_ENTRY_FIELDS.frames}), one expected`;
    const refused = { reason: 'entry-malformed' as const, detail, frames: 1 };
    out.push({ port, id, frame: Buffer.concat(values), trace: NO_TRACE, entry, refused });
    return;
  }
  if (packed === undefined) {
    out.push({ port, id, frame: single ?? Buffer.alloc(0), trace, entry });
    return;
  }
  const first = out.length;
  const problem = forEachPortFrame(packed, (frame, traceparent) => {
    out.push({ port, id, frame, trace: traceparent === undefined ? NO_TRACE : [TRACEPARENT, traceparent], entry });
  });
  // Over MAX_FRAMES_PER_ENTRY the entry is refused whole: the frames split off before that was found go.
  if (problem?.reason === 'entry-over-frames') out.length = first;
  entry.frames = out.length - first + (problem?.count ?? 0);
  if (problem) {
    const bad = packed.subarray(packed.length - problem.bytes);
    out.push({ port, id, frame: bad, trace: NO_TRACE, entry, refused: { ...problem, frames: problem.count } });
  }
}
