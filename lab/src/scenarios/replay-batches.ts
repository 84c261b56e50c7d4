import { MAX_FRAME_BYTES, type PcapRecord } from '@tenantlab/shared';

/**
 * What one `POST /traffic/replay` may carry (the tenant VM's MAX_REPLAY_FRAMES and MAX_REPLAY_BYTES) and how much
 * recorded time, over the speed, one may span: well inside the VM's 60 s per request, and short enough that a
 * scenario's stop ends a replay within seconds.
 */
export const REPLAY_BATCH_LIMITS = { maxFrames: 512, maxBytes: 128 * 1024, maxSpanMs: 5000 } as const;

export interface ReplayFrame {
  /** µs of recorded time after the replay's start (the first record of its first loop). */
  offsetUs: number;
  bytes: Buffer;
}

/** The frames of one loop of a capture, split into requests; frames the vNIC cannot take are left out and counted. */
export interface ReplayLoop {
  batches: ReplayFrame[][];
  /** Recorded µs from one loop's start to the next: the last frame's offset and one mean gap between frames. */
  periodUs: number;
  /** Frames over MAX_FRAME_BYTES, which the VM would refuse; never sent. */
  tooLarge: number;
}

/**
 * Splits a capture's records into request-sized batches, in order: a batch ends at `maxFrames` frames, `maxBytes`
 * bytes, or when a frame is more than `maxSpanMs` (of real time, at `speed`) after the batch's first. Offsets stay
 * relative to the replay's start, not the batch's, so each request can be timed against the start.
 */
export function replayLoop(
  records: readonly PcapRecord[],
  speed: number,
  limits: { maxFrames: number; maxBytes: number; maxSpanMs: number } = REPLAY_BATCH_LIMITS,
): ReplayLoop {
  const batches: ReplayFrame[][] = [];
  const maxSpanUs = limits.maxSpanMs * 1000 * speed;
  let batch: ReplayFrame[] = [];
  let bytes = 0;
  let tooLarge = 0;
  for (const record of records) {
    if (record.bytes.length > MAX_FRAME_BYTES) {
      tooLarge += 1;
      continue;
    }
    // A capture may hold a record stamped before the first (tools write them so); it goes out at once, in order.
    const frame = { offsetUs: Math.max(0, record.offsetNs / 1000), bytes: record.bytes };
    const first = batch[0];
    if (
      first !== undefined &&
      (batch.length >= limits.maxFrames ||
        bytes + frame.bytes.length > limits.maxBytes ||
        frame.offsetUs - first.offsetUs > maxSpanUs)
    ) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(frame);
    bytes += frame.bytes.length;
  }
  if (batch.length > 0) batches.push(batch);
  const last = records.length > 0 ? Math.max(0, records[records.length - 1].offsetNs / 1000) : 0;
  const meanGapUs = records.length > 1 ? last / (records.length - 1) : 0;
  return { batches, periodUs: last + meanGapUs, tooLarge };
}

/**
 * The body of one request: each frame's time relative to when the request goes, `elapsedUs` (real µs since the
 * replay started) after the start. A frame already due gets 0 and goes at once; pacing errors do not add up over
 * batches, since every batch is timed against the start.
 */
export function replayRequest(
  batch: readonly ReplayFrame[],
  loopOffsetUs: number,
  elapsedUs: number,
  options: { speed: number; to?: string },
): { frames: { atUs: number; data: string }[]; speed: number; to?: string } {
  const elapsedRecordedUs = elapsedUs * options.speed;
  return {
    frames: batch.map((frame) => ({
      atUs: Math.max(0, Math.round(loopOffsetUs + frame.offsetUs - elapsedRecordedUs)),
      data: frame.bytes.toString('base64'),
    })),
    speed: options.speed,
    ...(options.to === undefined ? {} : { to: options.to }),
  };
}
