import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Redis } from 'ioredis';
import { disconnectNow } from '../redis/disconnect-now';
import type { RingCapacity } from './circuit-descriptor';
import { CircuitProtocolError, CircuitTornDownError, toCircuitError } from './circuit.errors';
import { CIRCUIT_KEYS, type RingDirection } from './circuit-keys';
import { decodeRingEntry, ENTRY_KINDS, nextStreamId, ringEntryViolation, type RingEntry } from './ring-entry';
import { checkBatchLimit, MAX_BATCH_ENTRIES } from './ring-writer';

export interface RingReaderHandlers {
  /**
   * A batch of entries in ring order. Return false when the consumer cannot take more for now: the reader then
   * stops reading (the writer soon runs out of credit) until `resume()`.
   */
  onEntries(entries: RingEntry[]): boolean;
  /** The ring failed: torn down, grant revoked, or Redis refused. Called once; the reader has stopped. */
  onError(error: Error): void;
}

/** A blocked read wakes this often to notice a teardown that leaves no entry behind. */
const BLOCK_MS = 1000;

type XReadReply = [Buffer, [Buffer, Buffer[]][]][] | null;

/** FIN and RST are exempt from the writer's credit (ring-writer.ts), so an honest ring holds at most two more. */
const CREDIT_EXEMPT_ENTRIES = 2;

/**
 * Why a ring breaks its capacity, or undefined when it does not. `unread` is the ring's length once what this reader
 * consumed is trimmed, so everything the writer has sent and not yet seen acknowledged, and more: an honest writer
 * keeps that to capacity.entries (plus FIN and RST) and the payload of any run of unread entries to capacity.bytes.
 */
export function ringCapacityViolation(
  capacity: RingCapacity,
  unread: number,
  batch: readonly RingEntry[],
): string | undefined {
  if (unread > capacity.entries + CREDIT_EXEMPT_ENTRIES) {
    return (
      `ring holds ${unread} unread entries, over its capacity of ${capacity.entries} (+ FIN and RST): ` +
      'the writer ignores its credit'
    );
  }
  let bytes = 0;
  for (const entry of batch) bytes += entry.payload.length;
  if (bytes > capacity.bytes) {
    return (
      `ring holds at least ${bytes} unread payload bytes, over its capacity of ${capacity.bytes}: ` +
      'the writer ignores its credit'
    );
  }
  return undefined;
}

/**
 * The reading end of one ring, on a connection of its own (XREAD BLOCK holds its connection). Each round trip
 * pipelines the trim of what was consumed (so Redis holds only unread data; the trim is also the acknowledgement the
 * writer's credit comes from, see ring-writer.ts) and the next blocking read. The peer is not trusted: an entry over
 * the fragment limit fails the ring with a CircuitProtocolError before anything of its batch is handed over.
 */
export class RingReader {
  private readonly ringKey: string;
  private readonly controlKey: string;
  private lastId = '0-0';
  private ackedId = '0-0';
  /** Payload bytes handed over so far (a circuit's bytes in, for metrics). */
  private readBytes = 0;
  private paused = false;
  private running = false;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly circuitId: string,
    direction: RingDirection,
    /** The ring's capacity, which the writer's credit keeps it to; a ring over it resets the circuit. */
    private readonly capacity: RingCapacity,
    private readonly handlers: RingReaderHandlers,
    /**
     * One read returns up to this many entries (seed 003: one round trip for many entries), 1 to MAX_BATCH_ENTRIES;
     * a benchmark sets it to compare at a given batch size.
     */
    private readonly maxReadEntries = MAX_BATCH_ENTRIES,
  ) {
    checkBatchLimit('maxReadEntries', maxReadEntries);
    this.ringKey = CIRCUIT_KEYS.ring(circuitId, direction);
    this.controlKey = CIRCUIT_KEYS.control(circuitId);
  }

  start(): void {
    // No span per XREAD: the reader loops for the circuit's whole life, whatever request happened to open it.
    if (!this.running && !this.closed) void context.with(suppressTracing(context.active()), () => this.loop());
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.start();
  }

  /** Stops reading; a blocked read is abandoned by closing the connection, which belongs to this reader. */
  close(): void {
    this.closed = true;
    disconnectNow(this.redis);
  }

  /** Payload bytes read from the ring and handed over so far. */
  bytesRead(): number {
    return this.readBytes;
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed && !this.paused) {
        const entries = await this.readBatch();
        if (this.closed) return;
        if (entries.length === 0) {
          await this.assertCircuitExists();
          continue;
        }
        this.lastId = entries[entries.length - 1].id;
        if (entries.some((entry) => entry.kind === ENTRY_KINDS.fin)) {
          // The writer learns that its FIN was taken from this trim (RingWriter.whenTaken), and the stream may end,
          // and this reader be closed, as soon as it is handed over: acknowledge first, or it might never be.
          await this.acknowledgeNow();
          if (this.closed) return;
        }
        for (const entry of entries) this.readBytes += entry.payload.length;
        if (!this.handlers.onEntries(entries)) this.paused = true;
      }
      // Paused: acknowledge what was handed over now, so the writer's credit does not wait for resume().
      if (!this.closed && this.ackedId !== this.lastId) await this.acknowledgeNow();
    } catch (error) {
      if (this.closed) return;
      this.closed = true;
      disconnectNow(this.redis);
      this.handlers.onError(toCircuitError(this.circuitId, error));
    } finally {
      this.running = false;
    }
    // resume() may have come while the loop was finishing its last acknowledgement.
    if (!this.closed && !this.paused) this.start();
  }

  private async readBatch(): Promise<RingEntry[]> {
    // After the trim, the ring holds only what this reader has not consumed: its length is checked against the
    // capacity with what this read returns (which was all in the ring when it was read).
    const pipeline = this.acknowledge(this.redis.pipeline());
    pipeline.xlen(this.ringKey);
    pipeline.xreadBuffer('COUNT', this.maxReadEntries, 'BLOCK', BLOCK_MS, 'STREAMS', this.ringKey, this.lastId);
    const results = (await pipeline.exec()) ?? [];
    for (const [error] of results) if (error) throw error;
    const unread = Number(results[results.length - 2]?.[1]);
    const reply = results[results.length - 1]?.[1] as XReadReply;
    const stream = reply?.[0]?.[1] ?? [];
    const entries = stream.map(([rawId, fields]) => {
      const id = rawId.toString('latin1');
      const violation = ringEntryViolation(id, fields);
      if (violation !== undefined) throw new CircuitProtocolError(this.circuitId, violation);
      return decodeRingEntry(id, fields);
    });
    const violation = ringCapacityViolation(this.capacity, unread, entries);
    if (violation !== undefined) throw new CircuitProtocolError(this.circuitId, violation);
    return entries;
  }

  /**
   * Acknowledges now, outside a read. A refused acknowledgement (the circuit was torn down meanwhile) does not fail
   * the reader: what it already read is delivered, and the next read reports the teardown.
   */
  private async acknowledgeNow(): Promise<void> {
    await this.acknowledge(this.redis.pipeline()).exec();
  }

  /** Adds the trim (the acknowledgement) of everything consumed since the last one, if anything was. */
  private acknowledge<P extends ReturnType<Redis['pipeline']>>(pipeline: P): P {
    if (this.ackedId === this.lastId) return pipeline;
    pipeline.xtrim(this.ringKey, 'MINID', nextStreamId(this.lastId));
    this.ackedId = this.lastId;
    return pipeline;
  }

  /** An idle ring whose control area vanished was torn down by someone whose grant outlives ours (the admin). */
  private async assertCircuitExists(): Promise<void> {
    if ((await this.redis.exists(this.controlKey)) === 0) {
      throw new CircuitTornDownError(this.circuitId, 'its control area no longer exists');
    }
  }
}
