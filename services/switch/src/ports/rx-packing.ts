import {
  MAX_FRAMES_PER_ENTRY,
  MAX_PACKED_ENTRY_BYTES,
  packableFrameBytes,
  packablePortTraceparent,
  PORT_ENTRY_FIELDS,
  writePortFrame,
} from '@tenantlab/shared';
import { encodeXadd } from './encoded-xadd';
import type { Delivery } from './port-io';

/** One rx entry to write: its fields (without the `t` stamp) and the deliveries it carries. */
export interface RxEntry {
  fields: (string | Buffer)[];
  deliveries: Delivery[];
  /**
   * A packed entry's whole XADD to `xadd.key`, its `t` stamp included, in Redis's protocol: its payload (fields[1]) is
   * a view into it, packed in place. A lone frame's entry has none: it is written from its fields.
   */
  command?: Buffer;
}

const TRACEPARENT = 'otel.traceparent';
// Bound once: a name imported from the shared package is a getter call on each use (CommonJS re-exports), and these
// run per frame (about 3% of the switch's time in the aggregation benchmark's profile when read per use).
const frameBytes = packableFrameBytes;
const packableTraceparent = packablePortTraceparent;
const writeFrame = writePortFrame;

/**
 * One destination's frames of a batch as rx entries (issue 11, seed 003's aggregation): frames packed in order,
 * up to MAX_FRAMES_PER_ENTRY frames and MAX_PACKED_ENTRY_BYTES bytes per entry, each frame with its own traceparent.
 * A lone frame is written in the single-frame format with its sender's whole trace context, so an idle path looks
 * as it did before aggregation. Never waits for more frames: the batch is what the switch has. Packs straight from
 * the deliveries, each frame's traceparent looked up once: at hundreds of thousands of frames a second, a record
 * object per frame and a second lookup were a tenth of the switch's time in the aggregation benchmark's profile.
 */
export function packRxEntries(
  deliveries: readonly Delivery[],
  /** The destination's rx stream and the `t` stamp: packed entries come as whole commands (see encodeXadd). */
  xadd: { key: string; sentAt: string },
): RxEntry[] {
  const traces = deliveries.map((delivery) => packableTraceparent(traceparentOf(delivery)));
  const entries: RxEntry[] = [];
  let start = 0;
  while (start < deliveries.length) {
    let end = start;
    let bytes = 0;
    while (end < deliveries.length && end - start < MAX_FRAMES_PER_ENTRY) {
      const next = bytes + frameBytes(deliveries[end].frame.length, traces[end]);
      if (end > start && next > MAX_PACKED_ENTRY_BYTES) break;
      bytes = next;
      end += 1;
    }
    const carried = deliveries.slice(start, end);
    if (carried.length === 1) {
      const [{ frame, trace }] = carried;
      entries.push({ fields: [PORT_ENTRY_FIELDS.frame, frame, ...trace], deliveries: carried });
    } else {
      const { command, payload } = encodeXadd(
        xadd.key,
        PORT_ENTRY_FIELDS.frames,
        bytes,
        PORT_ENTRY_FIELDS.sentAt,
        xadd.sentAt,
      );
      let at = 0;
      for (let i = start; i < end; i++) at = writeFrame(payload, at, deliveries[i].frame, traces[i]);
      entries.push({ fields: [PORT_ENTRY_FIELDS.frames, payload], deliveries: carried, command });
    }
    start = end;
  }
  return entries;
}

function traceparentOf({ trace }: Delivery): string | undefined {
  for (let i = 0; i + 1 < trace.length; i += 2) if (trace[i] === TRACEPARENT) return trace[i + 1];
  return undefined;
}
