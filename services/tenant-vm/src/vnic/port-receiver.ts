import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import {
  disconnectNow,
  epochMicros,
  nextStreamId,
  parsePortLedger,
  PORT_KEYS,
  PORT_LEDGER_FIELD,
  portEntryContent,
  type PortLedger,
  type StageTimings,
} from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import type { VnicStage } from './vnic-stages';

/** One read returns up to this many frames (seed 003: one round trip for many entries). */
const READ_BATCH = 512;
/** A blocked read wakes this often, so a closed receiver is noticed even when nothing arrives. */
const BLOCK_MS = 1000;

const LEDGER_FIELD = Buffer.from(PORT_LEDGER_FIELD);

type XReadReply = [Buffer, [Buffer, Buffer[]][]][] | null;

/** Handed each batch of frames read from rx, in stream order. Must not keep the array (the Buffers are its own). */
export type FrameBatchHandler = (frames: Buffer[]) => void;

/** Handed each ledger entry the switch wrote to rx, when it is read: the counters already count the frames before it. */
export type LedgerHandler = (ledger: PortLedger) => void;

export interface PortReceiverCounters {
  framesReceived: number;
  bytesReceived: number;
  /**
   * rx entries without a frame field (nor a ledger), and what a packed entry held that could not be split (a frame
   * each): not written by the switch, skipped.
   */
  malformed: number;
}

export function newReceiverCounters(): PortReceiverCounters {
  return { framesReceived: 0, bytesReceived: 0, malformed: 0 };
}

/**
 * The receiving half of a VM's vNIC, on a connection of its own (XREAD BLOCK holds it). What a read returns is trimmed
 * from rx (XTRIM MINID) as soon as the read answers, while its frames are split, and handed over once the trim has
 * answered: rx holds only what the receiver has not consumed, which is what the switch bounds (PORT_CAPACITY_FRAMES
 * and _BYTES: frames read but left in rx until the next read would count against the room of frames not yet sent).
 * If the trim fails (Redis went away after answering the read), the frames are still handed over before the receiver
 * fails: they were read, and `framesReceived` counts them, so the store ledger takes them as delivered (issue 10).
 */
export class PortReceiver {
  private readonly key: string;
  private lastId: string;
  private trimmedTo: string;
  private closed = false;
  /** Successful round trips so far. */
  reads = 0;

  constructor(
    private readonly redis: Redis,
    vmId: string,
    private readonly onFrames: FrameBatchHandler,
    /** Where to start: after this stream id (default: everything in rx). */
    startAfter = '0-0',
    private readonly counters: PortReceiverCounters = newReceiverCounters(),
    private readonly onLedger: LedgerHandler = () => undefined,
    /** Where the receiver's stages go (rx.wait, vm.read), when someone reports them. */
    private readonly stages?: StageTimings<VnicStage>,
  ) {
    this.key = PORT_KEYS.rx(vmId);
    this.lastId = startAfter;
    this.trimmedTo = startAfter === '0-0' ? startAfter : '';
  }

  /** The id of the last frame handed over: a receiver that replaces this one starts after it. */
  get position(): string {
    return this.lastId;
  }

  /** Reads until `close()` (then resolves) or until Redis fails (then rejects; the connection is closed). */
  run(): Promise<void> {
    // No span per XREAD: the loop runs for the VM's whole life.
    return context.with(suppressTracing(context.active()), () => this.loop());
  }

  /** Stops reading; a blocked read is abandoned by closing the connection, which belongs to this receiver. */
  close(): void {
    this.closed = true;
    disconnectNow(this.redis);
  }

  private async loop(): Promise<void> {
    try {
      while (!this.closed) {
        const { frames, failure } = await this.readBatch();
        if (frames.length > 0 && !this.closed) this.onFrames(frames);
        if (failure) throw failure;
      }
    } catch (error) {
      if (this.closed) return;
      this.close();
      throw error;
    }
  }

  /** The frames of one read, in order, and the trim's failure if it failed after the read answered. */
  private async readBatch(): Promise<{ frames: Buffer[]; failure?: Error }> {
    const pipeline = this.redis.pipeline();
    const trimming = this.trimmedTo !== this.lastId;
    if (trimming) pipeline.xtrim(this.key, 'MINID', nextStreamId(this.lastId));
    pipeline.xreadBuffer('COUNT', READ_BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', this.key, this.lastId);
    const sentAtUs = epochMicros();
    const results = (await pipeline.exec()) ?? [];
    const repliedAtUs = epochMicros();
    for (const [error] of results) if (error) throw error;
    if (trimming) this.trimmedTo = this.lastId;
    this.reads += 1;
    const entries = (results[results.length - 1]?.[1] as XReadReply)?.[0]?.[1] ?? [];
    // Trimmed at once: sent before the frames are split, answered before they are handed over.
    const trimmed =
      entries.length > 0
        ? this.redis.xtrim(this.key, 'MINID', nextStreamId(entries[entries.length - 1][0].toString('latin1')))
        : undefined;
    const frames: Buffer[] = [];
    const stamped: [number, number][] = [];
    for (const [id, fields] of entries) {
      // Either format: one frame, or several packed in one entry (issue 11).
      const content = portEntryContent(fields);
      if (content.hasFrames) {
        for (const { frame } of content.frames) {
          frames.push(frame);
          this.counters.bytesReceived += frame.length;
        }
        this.counters.framesReceived += content.frames.length;
        if (content.problem) this.counters.malformed += content.problem.count;
        if (content.sentAtUs !== undefined) stamped.push([content.sentAtUs, content.frames.length]);
      } else {
        const ledger = ledgerOf(fields);
        if (ledger) this.onLedger(ledger);
        else this.counters.malformed += 1;
      }
      this.lastId = id.toString('latin1');
    }
    let failure: Error | undefined;
    if (trimmed) {
      try {
        await trimmed;
        this.trimmedTo = this.lastId;
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      }
    }
    if (this.stages) {
      const splitUs = epochMicros() - repliedAtUs;
      for (const [stamp, count] of stamped) {
        const inStore = repliedAtUs - stamp;
        // The read may have been sent (or blocked) before the entry landed: only its part after the stamp counts.
        const read = Math.min(repliedAtUs - sentAtUs, Math.max(0, inStore));
        this.stages.record('rx.wait', inStore - read, count);
        this.stages.record('vm.read', read + splitUs, count);
      }
    }
    return { frames, failure };
  }
}

function ledgerOf(fields: readonly Buffer[]): PortLedger | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i].equals(LEDGER_FIELD)) return parsePortLedger(fields[i + 1].toString());
  }
  return undefined;
}
