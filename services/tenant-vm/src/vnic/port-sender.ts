import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import {
  activeTraceFields,
  epochMicros,
  MAX_FRAME_BYTES,
  MAX_FRAMES_PER_ENTRY,
  MAX_PACKED_ENTRY_BYTES,
  packedFrameBytes,
  packPortFrames,
  PORT_ENTRY_FIELDS,
  PORT_KEYS,
  type PortFrame,
  type StageTimings,
  untilClosed,
  ValidationError,
} from '@tenantlab/shared';
import { ReplyError, type Redis } from 'ioredis';
import { TxOccupancy } from './tx-occupancy';
import type { VnicStage } from './vnic-stages';
import { FrameTooLargeError, SendAbortedError } from './vnic.errors';

const TRACEPARENT = 'otel.traceparent';

/** Frames per pipelined round trip unless a send asks otherwise, and the most one may ask for. */
export const DEFAULT_SEND_BATCH = 32;
export const MAX_SEND_BATCH = 512;
/** While tx is full the sender polls its length: first at once, then backing off to this. */
const ROOM_POLL_MAX_MS = 10;

export interface PortSendOptions {
  /** Frames per pipelined round trip, 1-512 (default 32). */
  batch?: number;
  /** Gives up on frames not yet written (typically waiting for room): the send rejects with SendAbortedError. */
  signal?: AbortSignal;
  /**
   * The most frames packed into one tx entry, 1 to MAX_FRAMES_PER_ENTRY (the default). 1 writes every frame as an
   * entry of its own, as before aggregation (the benchmark's comparison).
   */
  maxFramesPerEntry?: number;
}

/** What a sender has done; shared with whoever reports it, so it survives the sender being replaced. */
export interface PortSenderCounters {
  framesSent: number;
  bytesSent: number;
  /** Times the sender found tx full and had to wait for the switch to drain it. */
  sendWaits: number;
  /**
   * Frames whose XADD got no reply (the connection died with it in flight, whatever a resend got later): Redis may or
   * may not hold them. Their send rejected; the switch's ledger entry tells, after a store loss, how many of them it
   * read after all.
   */
  unknownOutcome: number;
}

interface PendingSend {
  frames: readonly Buffer[];
  /** Index of the first frame not yet written. */
  next: number;
  batch: number;
  maxFramesPerEntry: number;
  /** Flat `otel.*` fields of the caller's context, written with every frame of the send. */
  trace: readonly string[];
  /** Its traceparent alone, which a packed entry carries per frame. */
  traceparent: string | undefined;
  /** When it was queued, µs since the epoch. */
  queuedAtUs: number;
  signal: AbortSignal | undefined;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** One tx entry of a round trip: its frames and, per send, how many of them it carries. */
interface OutgoingEntry {
  frames: PortFrame[];
  bytes: number;
  packedBytes: number;
  sends: [PendingSend, number][];
}

export function newSenderCounters(): PortSenderCounters {
  return { framesSent: 0, bytesSent: 0, sendWaits: 0, unknownOutcome: 0 };
}

/**
 * The sending half of a VM's vNIC: XADDs frames to its tx stream, as the VM's own Redis user. Sends queue and go out
 * in order, one pipelined round trip per batch (seed 003), and the frames of a round trip are packed into as few
 * entries as fit (issue 11: up to MAX_FRAMES_PER_ENTRY frames and MAX_PACKED_ENTRY_BYTES each, frames of several
 * queued sends together, each frame with its send's traceparent); a lone frame goes in the single-frame format. It
 * never waits for more frames: what is queued when a round trip starts is what it carries. Each round trip also reads
 * XLEN tx, and the sender never lets tx hold more than PORT_CAPACITY_FRAMES frames or PORT_CAPACITY_BYTES bytes (see
 * TxOccupancy): with tx full it polls (backing off) until the switch has taken entries away, so a switch that does not
 * keep up holds the VM back instead of growing Redis memory.
 */
export class PortSender {
  private readonly key: string;
  private readonly queue: PendingSend[] = [];
  private flushing = false;
  private readonly occupancy = new TxOccupancy();
  private roomPolls = 0;

  constructor(
    private readonly redis: Redis,
    vmId: string,
    private readonly counters: PortSenderCounters = newSenderCounters(),
    /** Where the sender's stages go (vm.encode, vm.write), when someone reports them. */
    private readonly stages?: StageTimings<VnicStage>,
  ) {
    this.key = PORT_KEYS.tx(vmId);
  }

  /** Resolves once every frame is in tx. Refuses the whole send, before writing any, if a frame is too large. */
  send(frames: readonly Buffer[], options: PortSendOptions = {}): Promise<void> {
    const batch = options.batch ?? DEFAULT_SEND_BATCH;
    if (!Number.isInteger(batch) || batch < 1 || batch > MAX_SEND_BATCH) {
      return Promise.reject(
        new ValidationError(`batch must be an integer from 1 to ${MAX_SEND_BATCH}`, [`batch: ${batch}`]),
      );
    }
    const maxFramesPerEntry = options.maxFramesPerEntry ?? MAX_FRAMES_PER_ENTRY;
    if (!Number.isInteger(maxFramesPerEntry) || maxFramesPerEntry < 1 || maxFramesPerEntry > MAX_FRAMES_PER_ENTRY) {
      return Promise.reject(
        new ValidationError(`maxFramesPerEntry must be an integer from 1 to ${MAX_FRAMES_PER_ENTRY}`, [
          `maxFramesPerEntry: ${maxFramesPerEntry}`,
        ]),
      );
    }
    for (let i = 0; i < frames.length; i++) {
      if (frames[i].length > MAX_FRAME_BYTES) return Promise.reject(new FrameTooLargeError(i, frames[i].length));
    }
    if (options.signal?.aborted) return Promise.reject(aborted(0, frames.length, options.signal));
    if (frames.length === 0) return Promise.resolve();
    const trace = activeTraceFields();
    const at = trace.indexOf(TRACEPARENT);
    const traceparent = at >= 0 ? trace[at + 1] : undefined;
    return new Promise((resolve, reject) => {
      const queuedAtUs = epochMicros();
      this.queue.push({
        frames,
        next: 0,
        batch,
        maxFramesPerEntry,
        trace,
        traceparent,
        queuedAtUs,
        signal: options.signal,
        resolve,
        reject,
      });
      // The trace context travels in each entry; a span per XADD would cost more than the write itself.
      if (!this.flushing) void context.with(suppressTracing(context.active()), () => this.flush());
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0];
        if (head.signal?.aborted) {
          this.queue.shift();
          head.reject(aborted(head.next, head.frames.length, head.signal));
          continue;
        }
        try {
          await this.advance(head);
        } catch (error) {
          // Every send with frames in the failed round trip fails (it may have been partly written).
          const failed = error instanceof Error ? error : new Error(String(error));
          while (this.queue.length > 0 && this.queue[0].next > 0) this.queue.shift()!.reject(failed);
          if (this.queue[0] === head) this.queue.shift()!.reject(failed);
        }
        while (this.queue.length > 0 && this.queue[0].next === this.queue[0].frames.length)
          this.queue.shift()!.resolve();
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Writes the next round trip of what is queued that fits in tx, or waits a little for room. */
  private async advance(head: PendingSend): Promise<void> {
    try {
      if (!this.occupancy.known) this.occupancy.observe(await this.redis.xlen(this.key));
      const room = this.occupancy.room();
      if (room.frames <= 0 || room.bytes < head.frames[head.next].length) {
        await this.waitForRoom();
        return;
      }
      this.roomPolls = 0;
      await this.write(this.take(head.batch, room));
    } catch (error) {
      // Whatever happened to the connection, read the length afresh before writing again.
      this.occupancy.forget();
      throw error;
    }
  }

  /** The entries of the next round trip: up to `batch` frames of the queued sends, in order, within `room`. */
  private take(batch: number, room: { frames: number; bytes: number }): OutgoingEntry[] {
    const entries: OutgoingEntry[] = [];
    let entry: OutgoingEntry | undefined;
    let frames = 0;
    let bytes = 0;
    for (const send of this.queue) {
      if (send.signal?.aborted) break;
      let count = 0;
      for (let i = send.next; i < send.frames.length && frames < Math.min(batch, room.frames); i++) {
        const frame = send.frames[i];
        if (bytes + frame.length > room.bytes) break;
        const packed = packedFrameBytes(frame.length, send.traceparent);
        if (
          !entry ||
          entry.frames.length >= send.maxFramesPerEntry ||
          entry.packedBytes + packed > MAX_PACKED_ENTRY_BYTES
        ) {
          entries.push((entry = { frames: [], bytes: 0, packedBytes: 0, sends: [] }));
        }
        entry.frames.push({ frame, traceparent: send.traceparent });
        entry.bytes += frame.length;
        entry.packedBytes += packed;
        const last = entry.sends[entry.sends.length - 1];
        if (last?.[0] === send) last[1] += 1;
        else entry.sends.push([send, 1]);
        frames += 1;
        bytes += frame.length;
        count += 1;
      }
      if (send.next + count < send.frames.length) break;
    }
    return entries;
  }

  private async write(entries: OutgoingEntry[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    const sentAtUs = epochMicros();
    const stamp = String(sentAtUs);
    for (const entry of entries) {
      if (entry.frames.length === 1) {
        const [send] = entry.sends[0];
        pipeline.xadd(
          this.key,
          '*',
          PORT_ENTRY_FIELDS.frame,
          entry.frames[0].frame,
          ...send.trace,
          PORT_ENTRY_FIELDS.sentAt,
          stamp,
        );
      } else {
        pipeline.xadd(
          this.key,
          '*',
          PORT_ENTRY_FIELDS.frames,
          packPortFrames(entry.frames),
          PORT_ENTRY_FIELDS.sentAt,
          stamp,
        );
      }
      for (const [send, count] of entry.sends) this.stages?.record('vm.encode', sentAtUs - send.queuedAtUs, count);
    }
    pipeline.xlen(this.key);
    // Counted as taken now: whatever the round trip's fate, these frames are not written again (a failure fails
    // every send with frames in it).
    for (const entry of entries) for (const [send, count] of entry.sends) send.next += count;
    let results: [Error | null, unknown][];
    try {
      // Settled at the drop if the connection drops first: ioredis would resend the round trip to whatever server it
      // reaches next (after a store loss, one that refuses the old credentials), and that reply would pass for the
      // fate of frames the lost store may have taken (issue 10). Their outcome is unknown, and counted so now, before
      // new credentials can start another store generation's counts.
      results = (await untilClosed(this.redis, pipeline.exec())) ?? [];
    } catch (error) {
      for (const entry of entries) this.counters.unknownOutcome += entry.frames.length;
      throw error;
    }
    const framesSent = entries.reduce((total, entry) => total + entry.frames.length, 0);
    this.stages?.record('vm.write', epochMicros() - sentAtUs, framesSent);
    // Every reply is looked at, so a frame Redis took is counted even when one before it failed; a frame whose
    // reply is an error from Redis was refused, one without a reply may or may not be in tx.
    let firstError: Error | undefined;
    entries.forEach((entry, i) => {
      const [error] = results[i] ?? [new Error('Redis sent no reply to XADD')];
      if (error) {
        if (!(error instanceof ReplyError)) this.counters.unknownOutcome += entry.frames.length;
        firstError ??= error;
        return;
      }
      this.counters.framesSent += entry.frames.length;
      this.counters.bytesSent += entry.bytes;
      this.occupancy.written(entry.frames.length, entry.bytes);
    });
    if (firstError) throw firstError;
    const [error, length] = results[entries.length] ?? [new Error('Redis sent no reply to XLEN')];
    if (error) throw error;
    this.occupancy.observe(Number(length));
  }

  private async waitForRoom(): Promise<void> {
    if (this.roomPolls === 0) this.counters.sendWaits += 1;
    const delay = Math.min(2 ** this.roomPolls - 1, ROOM_POLL_MAX_MS);
    this.roomPolls += 1;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    this.occupancy.observe(await this.redis.xlen(this.key));
  }
}

function aborted(sent: number, total: number, signal: AbortSignal): SendAbortedError {
  return new SendAbortedError(sent, total, { cause: signal.reason });
}
