import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import {
  activeTraceFields,
  MAX_FRAME_BYTES,
  PORT_CAPACITY_FRAMES,
  PORT_ENTRY_FIELDS,
  PORT_KEYS,
  ValidationError,
} from '@tenantlab/shared';
import { ReplyError, type Redis } from 'ioredis';
import { FrameTooLargeError, SendAbortedError } from './vnic.errors';

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
}

/** What a sender has done; shared with whoever reports it, so it survives the sender being replaced. */
export interface PortSenderCounters {
  framesSent: number;
  bytesSent: number;
  /** Times the sender found tx full and had to wait for the switch to drain it. */
  sendWaits: number;
  /**
   * Frames whose XADD got no reply (the connection died with it in flight): Redis may or may not hold them. Their
   * send rejected; the switch's ledger entry tells, after a store loss, how many of them it read after all.
   */
  unknownOutcome: number;
}

interface PendingSend {
  frames: readonly Buffer[];
  /** Index of the first frame not yet written. */
  next: number;
  batch: number;
  /** Flat `otel.*` fields of the caller's context, written with every frame of the send. */
  trace: readonly string[];
  signal: AbortSignal | undefined;
  resolve: () => void;
  reject: (error: Error) => void;
}

export function newSenderCounters(): PortSenderCounters {
  return { framesSent: 0, bytesSent: 0, sendWaits: 0, unknownOutcome: 0 };
}

/**
 * The sending half of a VM's vNIC: XADDs frames to its tx stream, as the VM's own Redis user. Sends queue and go out
 * in order as pipelined XADDs, one round trip per batch (seed 003). Each round trip also reads XLEN tx, and the sender
 * never lets tx hold more than PORT_CAPACITY_FRAMES: with tx full it polls (backing off) until the switch has taken
 * frames away, so a switch that does not keep up holds the VM back instead of growing Redis memory. It is tx's only
 * writer and the switch only shortens it, so the length it last read is an upper bound and the limit is exact.
 */
export class PortSender {
  private readonly key: string;
  private readonly queue: PendingSend[] = [];
  private flushing = false;
  /** XLEN tx as last read, undefined until the first read (a restarted VM may find frames still waiting). */
  private knownLength: number | undefined;
  private roomPolls = 0;

  constructor(
    private readonly redis: Redis,
    vmId: string,
    private readonly counters: PortSenderCounters = newSenderCounters(),
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
    for (let i = 0; i < frames.length; i++) {
      if (frames[i].length > MAX_FRAME_BYTES) return Promise.reject(new FrameTooLargeError(i, frames[i].length));
    }
    if (options.signal?.aborted) return Promise.reject(aborted(0, frames.length, options.signal));
    if (frames.length === 0) return Promise.resolve();
    const trace = activeTraceFields();
    return new Promise((resolve, reject) => {
      this.queue.push({ frames, next: 0, batch, trace, signal: options.signal, resolve, reject });
      // The trace context travels in each entry; a span per XADD would cost more than the write itself.
      if (!this.flushing) void context.with(suppressTracing(context.active()), () => this.flush());
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0];
        try {
          await this.advance(head);
          if (head.next === head.frames.length) {
            this.queue.shift();
            head.resolve();
          }
        } catch (error) {
          this.queue.shift();
          head.reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Writes the next batch of `head` that fits in tx, or waits a little for room. */
  private async advance(head: PendingSend): Promise<void> {
    if (head.signal?.aborted) throw aborted(head.next, head.frames.length, head.signal);
    try {
      this.knownLength ??= await this.redis.xlen(this.key);
      const room = PORT_CAPACITY_FRAMES - this.knownLength;
      if (room <= 0) {
        await this.waitForRoom();
        return;
      }
      this.roomPolls = 0;
      await this.write(head, Math.min(head.batch, head.frames.length - head.next, room));
    } catch (error) {
      // Whatever happened to the connection, read the length afresh before writing again.
      this.knownLength = undefined;
      throw error;
    }
  }

  private async write(head: PendingSend, count: number): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (let i = head.next; i < head.next + count; i++) {
      pipeline.xadd(this.key, '*', PORT_ENTRY_FIELDS.frame, head.frames[i], ...head.trace);
    }
    pipeline.xlen(this.key);
    let results: [Error | null, unknown][];
    try {
      results = (await pipeline.exec()) ?? [];
    } catch (error) {
      this.counters.unknownOutcome += count;
      throw error;
    }
    // Every reply is looked at, so a frame Redis took is counted even when one before it failed; a frame whose
    // reply is an error from Redis was refused, one without a reply may or may not be in tx.
    let firstError: Error | undefined;
    for (let i = 0; i < count; i++) {
      const [error] = results[i] ?? [new Error('Redis sent no reply to XADD')];
      if (error) {
        if (!(error instanceof ReplyError)) this.counters.unknownOutcome += 1;
        firstError ??= error;
        continue;
      }
      this.counters.framesSent += 1;
      this.counters.bytesSent += head.frames[head.next + i].length;
    }
    if (firstError) throw firstError;
    head.next += count;
    const [error, length] = results[count] ?? [new Error('Redis sent no reply to XLEN')];
    if (error) throw error;
    this.knownLength = Number(length);
  }

  private async waitForRoom(): Promise<void> {
    if (this.roomPolls === 0) this.counters.sendWaits += 1;
    const delay = Math.min(2 ** this.roomPolls - 1, ROOM_POLL_MAX_MS);
    this.roomPolls += 1;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    this.knownLength = await this.redis.xlen(this.key);
  }
}

function aborted(sent: number, total: number, signal: AbortSignal): SendAbortedError {
  return new SendAbortedError(sent, total, { cause: signal.reason });
}
