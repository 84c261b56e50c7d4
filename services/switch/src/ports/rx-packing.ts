import {
  MAX_FRAMES_PER_ENTRY,
  MAX_PACKED_ENTRY_BYTES,
  packedFrameBytes,
  packPortFrames,
  PORT_ENTRY_FIELDS,
  type PortFrame,
} from '@tenantlab/shared';
import type { Delivery } from './port-io';

/** One rx entry to write: its fields (without the `t` stamp) and the deliveries it carries. */
export interface RxEntry {
  fields: (string | Buffer)[];
  deliveries: Delivery[];
}

const TRACEPARENT = 'otel.traceparent';

/**
 * One destination's frames of a batch as rx entries (issue 11, seed 003's aggregation): frames packed in order,
 * up to MAX_FRAMES_PER_ENTRY frames and MAX_PACKED_ENTRY_BYTES bytes per entry, each frame with its own traceparent.
 * A lone frame is written in the single-frame format with its sender's whole trace context, so an idle path looks
 * as it did before aggregation. Never waits for more frames: the batch is what the switch has.
 */
export function packRxEntries(deliveries: readonly Delivery[]): RxEntry[] {
  const entries: RxEntry[] = [];
  let start = 0;
  while (start < deliveries.length) {
    let end = start;
    let bytes = 0;
    while (end < deliveries.length && end - start < MAX_FRAMES_PER_ENTRY) {
      const next = bytes + packedFrameBytes(deliveries[end].frame.length, traceparentOf(deliveries[end]));
      if (end > start && next > MAX_PACKED_ENTRY_BYTES) break;
      bytes = next;
      end += 1;
    }
    entries.push(entryOf(deliveries.slice(start, end)));
    start = end;
  }
  return entries;
}

function entryOf(carried: Delivery[]): RxEntry {
  if (carried.length === 1) {
    const [{ frame, trace }] = carried;
    return { fields: [PORT_ENTRY_FIELDS.frame, frame, ...trace], deliveries: carried };
  }
  const frames: PortFrame[] = carried.map((d) => ({ frame: d.frame, traceparent: traceparentOf(d) }));
  return { fields: [PORT_ENTRY_FIELDS.frames, packPortFrames(frames)], deliveries: carried };
}

function traceparentOf({ trace }: Delivery): string | undefined {
  for (let i = 0; i + 1 < trace.length; i += 2) if (trace[i] === TRACEPARENT) return trace[i + 1];
  return undefined;
}
