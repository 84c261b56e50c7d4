import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Redis } from 'ioredis';
import { MAX_ENTRY_BYTES, type RingCapacity } from './circuit-descriptor';
import { CircuitTornDownError, toCircuitError } from './circuit.errors';
import { CIRCUIT_KEYS, type RingDirection } from './circuit-keys';
import { packableTraceparent, writeTracedRecord } from '../packing/traced-records';
import { PACKED_RECORD_HEADER_BYTES } from './datagram-packing';
import { ENTRY_FIELDS, ENTRY_KINDS, type EntryKind } from './ring-entry';

interface PendingEntry {
  kind: EntryKind;
  payload: Buffer;
  /** Flat `[field, value, ...]` trace context fields of the write. */
  trace: readonly string[];
  /**
   * For a whole datagram that may share an entry with the datagrams queued next to it (datagram-packing.ts), the
   * traceparent its record carries ('' for none); undefined for every other write.
   */
  packedTrace: string | undefined;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** One ring entry of a round trip: a write as it was queued, or several packable datagrams packed into one. */
interface OutgoingEntry {
  kind: EntryKind;
  payload: Buffer;
  trace: readonly string[];
  writes: PendingEntry[];
}

const NO_TRACE: readonly string[] = [];
const TRACEPARENT_FIELD = 'otel.traceparent';

/**
 * One pipelined round trip carries at most this many entries, so one burst cannot hold the connection for long. Also
 * the most a reader takes per read (ring-reader.ts), and the upper bound of the per-circuit `CircuitBatchLimits`.
 */
export const MAX_BATCH_ENTRIES = 512;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** While out of credit the writer polls the reader's acknowledged position: first at once, then backing off. */
const CREDIT_POLL_MAX_MS = 10;
/** While waiting for the reader to take the last entries (FIN), the writer polls the ring's length, backing off. */
const TAKEN_POLL_MAX_MS = 50;
/**
 * A close waits at most this long for the peer to take what it was sent: a peer that stops reading (hostile or
 * stuck) must not keep this end, its circuit and its quota open for good. An honest reader drains a full ring in well
 * under a second.
 */
export const TAKEN_TIMEOUT_MS = 15_000;

/**
 * The writing end of one ring. Writes queue locally and go out as one pipelined round trip per batch (seed 003:
 * batching amortises the per-operation cost). A writer may run ahead of the reader by at most the ring's capacity in
 * entries and payload bytes; beyond that it waits for credit, so an absent reader holds the writer back instead of
 * growing Redis memory. The reader acknowledges by trimming what it consumed (ring-reader.ts), so what is still in
 * the ring is exactly what it has not: the writer reads XLEN in the same pipeline as every batch, and the oldest
 * `sent - XLEN` of the entries it remembers are acknowledged. Credit thus costs no extra round trip while the reader
 * keeps up, and a VM never writes to the control hash (its ACL has no HSET: vm-acl.ts). FIN and RST carry no payload
 * and are exempt from credit, so a full ring can still be closed or aborted (the bound is capacity plus those two).
 *
 * Aggregation (seed 003): datagrams written with `writeDatagram` that are queued together when a round trip leaves
 * are packed into as few entries as the fragment limit and the credit allow. Nothing waits to be packed: a write to
 * an idle writer leaves at once as a plain entry, and only what queued behind a round trip in flight shares entries.
 */
export class RingWriter {
  private readonly ringKey: string;
  private readonly queue: PendingEntry[] = [];
  /** Payload bytes of every entry written and not yet known to be taken, oldest first (-1: FIN or RST, exempt). */
  private readonly unacked: number[] = [];
  private unackedHead = 0;
  private sentEntries = 0;
  private sentBytes = 0;
  private ackedEntries = 0;
  private ackedBytes = 0;
  private flushing = false;
  private failure: Error | undefined;
  private creditWaits = 0;
  /** The trace fields of the last datagram queued and its record's traceparent: one context's sends share both. */
  private lastTrace: readonly string[] = NO_TRACE;
  private lastPackedTrace = '';

  constructor(
    private readonly redis: Redis,
    private readonly circuitId: string,
    direction: RingDirection,
    private readonly capacity: RingCapacity,
    /** Entries per round trip, 1 to MAX_BATCH_ENTRIES: a benchmark sets it to compare at a given batch size. */
    private readonly maxBatchEntries = MAX_BATCH_ENTRIES,
  ) {
    checkBatchLimit('maxBatchEntries', maxBatchEntries);
    this.ringKey = CIRCUIT_KEYS.ring(circuitId, direction);
  }

  /** Queues one entry; resolves once Redis holds it, rejects if the circuit failed first. */
  write(kind: EntryKind, payload: Buffer, trace: readonly string[] = NO_TRACE): Promise<void> {
    return this.enqueue(kind, payload, trace, undefined);
  }

  /**
   * Queues one whole datagram of at most MAX_ENTRY_BYTES, which may share a packed entry with the datagrams queued
   * next to it; resolves once Redis holds it.
   */
  writeDatagram(data: Buffer, trace: readonly string[] = NO_TRACE): Promise<void> {
    if (trace !== this.lastTrace) {
      this.lastTrace = trace;
      this.lastPackedTrace = packableTraceparent(traceparentOf(trace));
    }
    return this.enqueue(ENTRY_KINDS.data, data, trace, this.lastPackedTrace);
  }

  private enqueue(
    kind: EntryKind,
    payload: Buffer,
    trace: readonly string[],
    packedTrace: string | undefined,
  ): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ kind, payload, trace, packedTrace, resolve, reject });
      // The trace context travels inside each entry; a span per XADD on the hot path would cost more than the write.
      if (!this.flushing) void context.with(suppressTracing(context.active()), () => this.flush());
    });
  }

  /** Payload bytes written into the ring so far (a circuit's bytes out, for metrics). */
  bytesWritten(): number {
    return this.sentBytes;
  }

  /** Entries written and not yet acknowledged by the reader, as this writer last saw it. */
  inFlight(): { entries: number; bytes: number } {
    return { entries: this.sentEntries - this.ackedEntries, bytes: this.sentBytes - this.ackedBytes };
  }

  /**
   * Resolves once the reader has taken every entry written so far, FIN included: its acknowledgement trims what it
   * took, and it acknowledges a FIN before handing it over, so an empty ring means the peer holds everything. Also
   * resolves once the ring is gone or this writer failed, since then nothing more can reach the peer. A clean close
   * waits for this before the circuit may be torn down; tearing it down earlier deletes what the peer has not read.
   * Gives up after `timeoutMs`, so a peer that never reads cannot hold the close back.
   */
  async whenTaken(timeoutMs = TAKEN_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let polls = 0; !this.failure && Date.now() < deadline; polls++) {
      let length: number;
      try {
        length = await this.redis.xlen(this.ringKey);
      } catch {
        return; // NOPERM: the grant is gone, so is the circuit
      }
      if (length === 0) return;
      const delay = Math.min(2 ** polls, TAKEN_POLL_MAX_MS);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** Fails everything queued and every later write with `error` (the circuit was reset or closed). */
  fail(error: Error): void {
    this.failure ??= error;
    for (const entry of this.queue.splice(0)) entry.reject(this.failure);
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0 && !this.failure) {
        const batch = this.takeBatch();
        if (batch.length === 0) {
          await this.waitForCredit();
          continue;
        }
        this.creditWaits = 0;
        await this.send(batch);
      }
    } catch (error) {
      this.fail(toCircuitError(this.circuitId, error));
    } finally {
      this.flushing = false;
    }
  }

  /**
   * The entries for the longest prefix of the queue that fits the credit and the batch limits: each run of packable
   * datagrams packed into entries of at most MAX_ENTRY_BYTES, every other write an entry of its own.
   */
  private takeBatch(): OutgoingEntry[] {
    let entries = this.sentEntries - this.ackedEntries;
    let bytes = this.sentBytes - this.ackedBytes;
    let batchBytes = 0;
    let taken = 0;
    const batch: OutgoingEntry[] = [];
    const queue = this.queue;
    while (taken < queue.length && batch.length < this.maxBatchEntries) {
      const first = queue[taken];
      const exempt = first.kind === ENTRY_KINDS.fin || first.kind === ENTRY_KINDS.rst;
      const room = Math.min(this.capacity.bytes - bytes, MAX_BATCH_BYTES - batchBytes);
      if (batch.length > 0 && first.payload.length > MAX_BATCH_BYTES - batchBytes) break;
      if (!exempt && (entries + 1 > this.capacity.entries || first.payload.length > this.capacity.bytes - bytes)) {
        break;
      }
      let end = taken + 1;
      let packed = 0;
      if (first.packedTrace !== undefined) {
        packed = recordBytes(first);
        for (; end < queue.length && queue[end].packedTrace !== undefined; end++) {
          const next = packed + recordBytes(queue[end]);
          if (next > MAX_ENTRY_BYTES || next > room) break;
          packed = next;
        }
      }
      const entry = end - taken === 1 ? plainEntry(first) : packedEntry(queue.slice(taken, end), packed);
      batch.push(entry);
      taken = end;
      batchBytes += entry.payload.length;
      if (!exempt) {
        entries += 1;
        bytes += entry.payload.length;
      }
    }
    queue.splice(0, taken);
    return batch;
  }

  private async send(batch: OutgoingEntry[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const entry of batch) {
      // NOMKSTREAM: after teardown the ring must stay deleted, not reappear as an orphan key.
      pipeline.xadd(
        this.ringKey,
        'NOMKSTREAM',
        '*',
        ENTRY_FIELDS.kind,
        entry.kind,
        ENTRY_FIELDS.payload,
        entry.payload,
        ...entry.trace,
      );
    }
    pipeline.xlen(this.ringKey);
    let results: [Error | null, unknown][];
    try {
      results = (await pipeline.exec()) ?? [];
    } catch (error) {
      for (const entry of batch) settle(entry, toCircuitError(this.circuitId, error));
      throw error;
    }
    let error: Error | undefined;
    for (let i = 0; i < batch.length; i++) {
      const [commandError, id] = results[i] ?? [new Error('no reply')];
      error ??=
        commandError ??
        (id === null ? new CircuitTornDownError(this.circuitId, 'its ring no longer exists') : undefined);
      const entry = batch[i];
      if (error) {
        settle(entry, toCircuitError(this.circuitId, error));
        continue;
      }
      if (entry.kind !== ENTRY_KINDS.fin && entry.kind !== ENTRY_KINDS.rst) {
        this.sentEntries += 1;
        this.sentBytes += entry.payload.length;
        this.unacked.push(entry.payload.length);
      } else this.unacked.push(-1);
      settle(entry);
    }
    if (error) throw error;
    this.takeAcks(results[batch.length]);
  }

  private async waitForCredit(): Promise<void> {
    const delay = Math.min(2 ** this.creditWaits - 1, CREDIT_POLL_MAX_MS);
    this.creditWaits += 1;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    this.takeAcks([null, await this.redis.xlen(this.ringKey)]);
  }

  /**
   * The ring holds `length` entries: everything older that this writer wrote was taken. A ring that vanished reads
   * as empty; the next XADD (NOMKSTREAM) then reports the teardown.
   */
  private takeAcks(result: [Error | null, unknown] | undefined): void {
    const [error, length] = result ?? [new Error('no reply')];
    if (error) throw error;
    const remaining = Number(length);
    while (this.unacked.length - this.unackedHead > remaining) {
      const bytes = this.unacked[this.unackedHead++];
      if (bytes >= 0) {
        this.ackedEntries += 1;
        this.ackedBytes += bytes;
      }
    }
    if (this.unackedHead > 1024 && this.unackedHead * 2 > this.unacked.length) {
      this.unacked.splice(0, this.unackedHead);
      this.unackedHead = 0;
    }
  }
}

function plainEntry(write: PendingEntry): OutgoingEntry {
  return { kind: write.kind, payload: write.payload, trace: write.trace, writes: [write] };
}

/**
 * Datagrams packed into one entry of `bytes` (the sum of their recordBytes), written straight from the queue; each
 * record keeps its own traceparent, so the entry needs no trace fields.
 */
function packedEntry(writes: PendingEntry[], bytes: number): OutgoingEntry {
  const payload = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const write of writes) at = writeTracedRecord(payload, at, 4, write.payload, write.packedTrace ?? '');
  return { kind: ENTRY_KINDS.packed, payload, trace: NO_TRACE, writes };
}

/** The bytes a packable datagram takes as a packed record (packedRecordBytes, from what enqueue worked out). */
function recordBytes(write: PendingEntry): number {
  return PACKED_RECORD_HEADER_BYTES + (write.packedTrace?.length ?? 0) + write.payload.length;
}

function traceparentOf(trace: readonly string[]): string | undefined {
  for (let i = 0; i + 1 < trace.length; i += 2) if (trace[i] === TRACEPARENT_FIELD) return trace[i + 1];
  return undefined;
}

function settle(entry: OutgoingEntry, error?: Error): void {
  if (error) for (const write of entry.writes) write.reject(error);
  else for (const write of entry.writes) write.resolve();
}

/** Throws unless `value` is a whole number of entries from 1 to MAX_BATCH_ENTRIES. */
export function checkBatchLimit(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > MAX_BATCH_ENTRIES) {
    throw new RangeError(`${name} must be a whole number from 1 to ${MAX_BATCH_ENTRIES}, got ${value}`);
  }
}
