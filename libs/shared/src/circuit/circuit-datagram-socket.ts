import { EventEmitter } from 'node:events';
import { type CircuitDescriptor, MAX_ENTRY_BYTES, maxDatagramBytes } from './circuit-descriptor';
import { CircuitClosedError, CircuitProtocolError, CircuitResetError, DatagramTooLargeError } from './circuit.errors';
import {
  activeTraceFields,
  type CircuitBatchLimits,
  type CircuitConnections,
  type CircuitRings,
  type CircuitTraffic,
  openCircuitRings,
  trafficOf,
} from './circuit-connections';
import { forEachPackedDatagram, packedDatagramsViolation } from './datagram-packing';
import { ENTRY_KINDS, type RingEntry } from './ring-entry';

export interface DatagramInfo {
  /** W3C `traceparent` of the `send()` that produced the datagram, when it had one. */
  traceparent?: string;
}

/** The info of every datagram sent without a trace context (shared: frozen, so no listener can change it). */
const UNTRACED: DatagramInfo = Object.freeze({});

export interface CircuitDatagramSocketEvents {
  message: [data: Buffer, info: DatagramInfo];
  /** The peer closed its side (FIN): no more messages will arrive. */
  end: [];
  error: [error: Error];
  /** Both sides are done, or the socket failed; its connection is released. */
  close: [];
}

/**
 * Datagram mode: message boundaries kept, delivered reliably and in order. A datagram larger than one entry is
 * split into fragments and rejoined before delivery; the largest one is `maxDatagramSize`. Datagrams sent while the
 * ring's last round trip is in flight share entries (ring-writer.ts), unpacked here. `send()` resolves once
 * the datagram is in the ring and waits while the ring is out of credit, so awaiting it is the backpressure.
 * `pause()` stops taking datagrams from the ring (the peer's sends then wait for credit); `resume()` continues.
 */
export class CircuitDatagramSocket extends EventEmitter<CircuitDatagramSocketEvents> {
  readonly circuit: CircuitDescriptor;
  readonly maxDatagramSize: number;
  private readonly rings: CircuitRings;

  /** Payload bytes this end wrote and read so far. */
  traffic(): CircuitTraffic {
    return trafficOf(this.rings);
  }
  private fragments: Buffer[] = [];
  /** Bytes in `fragments`: an unfinished datagram never holds more than maxDatagramSize. */
  private fragmentBytes = 0;
  private paused = false;
  private finSent = false;
  private finReceived = false;
  private closed = false;
  /** Why the socket failed, if it did: later sends reject with it, not with a bare "closed". */
  private failure: Error | undefined;

  /** `limits` bounds the entries per round trip below the default; only benchmarks set it. */
  constructor(descriptor: CircuitDescriptor, connections: CircuitConnections, limits?: CircuitBatchLimits) {
    super();
    this.circuit = descriptor;
    this.maxDatagramSize = maxDatagramBytes(descriptor.capacity);
    this.rings = openCircuitRings(
      descriptor,
      connections,
      { onEntries: (entries) => this.receive(entries), onError: (error) => this.fail(error) },
      limits,
    );
    // Deliver nothing before the caller had a chance to attach its 'message' listener.
    queueMicrotask(() => this.rings.reader.start());
  }

  send(data: Buffer): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closed || this.finSent) return Promise.reject(new CircuitClosedError(this.circuit.id));
    if (data.length > this.maxDatagramSize) {
      return Promise.reject(new DatagramTooLargeError(data.length, this.maxDatagramSize));
    }
    const trace = activeTraceFields();
    // A datagram that fits one entry may share it with the others queued beside it (seed 003: aggregation).
    if (data.length <= MAX_ENTRY_BYTES) return this.rings.writer.writeDatagram(data, trace);
    const writes: Promise<void>[] = [];
    for (let offset = 0; offset < data.length; offset += MAX_ENTRY_BYTES) {
      const end = offset + MAX_ENTRY_BYTES;
      const kind = end >= data.length ? ENTRY_KINDS.data : ENTRY_KINDS.more;
      writes.push(this.rings.writer.write(kind, data.subarray(offset, end), trace));
    }
    return Promise.all(writes).then(() => undefined);
  }

  pause(): void {
    this.paused = true;
    this.rings.reader.pause();
  }

  resume(): void {
    this.paused = false;
    this.rings.reader.resume();
  }

  /**
   * Sends FIN: this side sends nothing more. Resolves once the peer can see it; messages may still arrive. After the
   * peer's FIN it resolves, and the socket closes, once the peer has taken everything: the tenant VM tears the
   * circuit down on 'close', and must not delete what the peer has yet to read.
   */
  async close(): Promise<void> {
    if (this.closed || this.finSent) return;
    this.finSent = true;
    await this.rings.writer.write(ENTRY_KINDS.fin, Buffer.alloc(0));
    if (this.finReceived) await this.releaseOnceTaken();
  }

  /** Aborts: the peer gets RST, and pending sends fail. */
  destroy(reason = 'closed by the application'): void {
    if (this.closed) return;
    if (!(this.finSent && this.finReceived))
      void this.rings.writer.write(ENTRY_KINDS.rst, Buffer.from(reason)).catch(() => undefined);
    this.rings.writer.fail(new CircuitClosedError(this.circuit.id));
    this.release();
  }

  private receive(entries: RingEntry[]): boolean {
    for (const entry of entries) {
      if (entry.kind === ENTRY_KINDS.more || entry.kind === ENTRY_KINDS.data) {
        // The peer is not trusted: a datagram (finished or not) over the maximum resets the circuit instead of being
        // buffered. Counting fragments too bounds a stream of empty ones; an honest writer fills each but the last.
        this.fragmentBytes += entry.payload.length;
        if (this.fragmentBytes > this.maxDatagramSize || this.fragments.length >= this.maxFragments()) {
          this.fail(
            new CircuitProtocolError(
              this.circuit.id,
              `a datagram of more than ${this.maxDatagramSize} bytes or ${this.maxFragments()} fragments (ring entry ${entry.id})`,
            ),
          );
          return false;
        }
      }
      if (entry.kind === ENTRY_KINDS.packed) {
        if (!this.deliverPacked(entry)) return false;
      } else if (entry.kind === ENTRY_KINDS.more) {
        this.fragments.push(entry.payload);
      } else if (entry.kind === ENTRY_KINDS.data) {
        const data = this.fragments.length === 0 ? entry.payload : Buffer.concat([...this.fragments, entry.payload]);
        this.fragments = [];
        this.fragmentBytes = 0;
        this.emit('message', data, { traceparent: entry.traceparent });
      } else if (entry.kind === ENTRY_KINDS.fin) {
        this.finReceived = true;
        this.emit('end');
        if (this.finSent) void this.releaseOnceTaken();
        return false;
      } else {
        this.fail(new CircuitResetError(this.circuit.id, entry.payload.toString('utf8') || 'peer aborted'));
        return false;
      }
      if (this.closed) return false;
    }
    return !this.paused;
  }

  /**
   * Delivers a packed entry's datagrams, or resets the circuit when the entry is not a well-formed one (the peer is
   * not trusted): bad framing, or a packed entry amid a fragmented datagram.
   * Nothing of a bad entry is delivered. False when the socket closed meanwhile.
   */
  private deliverPacked(entry: RingEntry): boolean {
    const violation = (detail: string): false => {
      this.fail(new CircuitProtocolError(this.circuit.id, `packed ring entry ${entry.id}: ${detail}`));
      return false;
    };
    if (this.fragments.length > 0) return violation('it arrived in the middle of a fragmented datagram');
    const reason = packedDatagramsViolation(entry.payload);
    if (reason !== undefined) return violation(reason);
    // No datagram here can be over maxDatagramSize: the reader already refused a payload over the fragment limit
    // (64 KiB, under MAX_DATAGRAM_BYTES) or over the ring's byte capacity (which bounds maxDatagramSize).
    forEachPackedDatagram(entry.payload, (data, traceparent) => {
      this.emit('message', data, traceparent === undefined ? UNTRACED : { traceparent });
      return !this.closed;
    });
    return !this.closed;
  }

  /** The most entries one datagram of maxDatagramSize takes when split as send() splits it. */
  private maxFragments(): number {
    return Math.max(1, Math.ceil(this.maxDatagramSize / MAX_ENTRY_BYTES));
  }

  /** Fails the socket with `error`: pending and later sends reject with it, and 'error' is emitted. */
  fail(error: Error): void {
    if (this.closed) return;
    this.failure = error;
    // A protocol violation is this side's reset: the peer is told why, best effort.
    if (error instanceof CircuitProtocolError) {
      void this.rings.writer.write(ENTRY_KINDS.rst, Buffer.from(error.message)).catch(() => undefined);
    }
    this.rings.writer.fail(error);
    this.emit('error', error);
    this.release();
  }

  /** Both FINs have passed: closes once the peer has taken this side's last entries (simultaneous closes race). */
  private async releaseOnceTaken(): Promise<void> {
    await this.rings.writer.whenTaken();
    this.release();
  }

  private release(): void {
    if (this.closed) return;
    this.closed = true;
    this.rings.reader.close();
    this.emit('close');
  }
}
