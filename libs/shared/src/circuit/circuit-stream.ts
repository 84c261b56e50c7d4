import { Duplex } from 'node:stream';
import type { CircuitDescriptor } from './circuit-descriptor';
import { MAX_ENTRY_BYTES } from './circuit-descriptor';
import {
  CircuitClosedError,
  CircuitProtocolError,
  CircuitResetError,
  type CircuitTornDownError,
} from './circuit.errors';
import {
  activeTraceFields,
  type CircuitConnections,
  type CircuitRings,
  type CircuitTraffic,
  openCircuitRings,
  trafficOf,
} from './circuit-connections';
import { ENTRY_KINDS, type RingEntry } from './ring-entry';

/**
 * Stream mode: an ordered, reliable byte stream over a circuit, as a Node Duplex (seed 001 keeps the socket API).
 * Backpressure works both ways: `write()` returns false once the ring is out of credit and the local buffer is full,
 * and a consumer that stops reading stops the ring reader, so the peer's writes wait instead of piling up in Redis.
 * `end()` sends FIN (half-close: the peer can keep writing); `destroy()` before both FINs sends RST.
 */
export class CircuitStream extends Duplex {
  readonly circuit: CircuitDescriptor;
  private readonly rings: CircuitRings;

  /** Payload bytes this end wrote and read so far. */
  traffic(): CircuitTraffic {
    return trafficOf(this.rings);
  }
  private finSent = false;
  private finReceived = false;

  constructor(descriptor: CircuitDescriptor, connections: CircuitConnections) {
    super({ allowHalfOpen: true, writableHighWaterMark: MAX_ENTRY_BYTES, readableHighWaterMark: MAX_ENTRY_BYTES });
    this.circuit = descriptor;
    this.rings = openCircuitRings(descriptor, connections, {
      onEntries: (entries) => this.receive(entries),
      onError: (error) => this.destroy(error),
    });
    this.rings.reader.start();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send([chunk]).then(() => callback(), callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.send(chunks.map(({ chunk }) => chunk)).then(() => callback(), callback);
  }

  /**
   * Sends FIN and waits for the peer to take it: 'finish' means the peer holds everything this side wrote. Once both
   * sides have finished the stream closes, and whoever tears the circuit down then (the tenant VM asks the operator
   * on 'close') deletes nothing the peer has yet to read.
   */
  override _final(callback: (error?: Error | null) => void): void {
    this.finSent = true;
    this.rings.writer
      .write(ENTRY_KINDS.fin, Buffer.alloc(0))
      .then(() => this.rings.writer.whenTaken())
      .then(() => callback(), callback);
  }

  override _read(): void {
    this.rings.reader.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const clean = this.finSent && this.finReceived;
    this.rings.reader.close();
    if (clean || error instanceof CircuitResetError) {
      this.rings.writer.fail(error ?? new CircuitClosedError(this.circuit.id)); // ends a wait in _final
      callback(error);
      return;
    }
    // Aborted before both sides finished: tell the peer, best effort (the ring may already be gone).
    const reason = Buffer.from(error?.message ?? 'closed by the application before the stream ended');
    this.rings.writer
      .write(ENTRY_KINDS.rst, reason)
      .catch(() => undefined)
      .finally(() => {
        this.rings.writer.fail(error ?? new Error('circuit stream destroyed'));
        callback(error);
      });
  }

  /**
   * The operator tore the circuit down. After both FINs everything the peer sent is already here, and the stream is
   * left to end on its own: destroying it would discard what the application has not read yet. Before, it fails.
   */
  tornDown(error: CircuitTornDownError): void {
    if (this.finSent && this.finReceived) return;
    this.destroy(error);
  }

  /**
   * Coalesces small chunks and splits large ones into entries of at most MAX_ENTRY_BYTES, queued together so they
   * leave in one pipelined round trip. This is the stream's aggregation (seed 003): the Writable holds back whatever
   * is written while a send is in flight and hands it all to `_writev` next, so a busy stream fills its entries and
   * an idle one sends each write at once.
   */
  private send(chunks: Buffer[]): Promise<void> {
    const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    const trace = activeTraceFields();
    const writes: Promise<void>[] = [];
    for (let offset = 0; offset < data.length; offset += MAX_ENTRY_BYTES) {
      writes.push(this.rings.writer.write(ENTRY_KINDS.data, data.subarray(offset, offset + MAX_ENTRY_BYTES), trace));
    }
    return Promise.all(writes).then(() => undefined);
  }

  private receive(entries: RingEntry[]): boolean {
    let wantsMore = true;
    for (const entry of entries) {
      if (entry.kind === ENTRY_KINDS.data || entry.kind === ENTRY_KINDS.more) {
        wantsMore = this.push(entry.payload);
      } else if (entry.kind === ENTRY_KINDS.fin) {
        this.finReceived = true;
        this.push(null);
        return false;
      } else if (entry.kind === ENTRY_KINDS.packed) {
        // Datagrams have no place in a byte stream: an honest peer never packs on a stream circuit.
        const violation = `ring entry ${entry.id} packs datagrams on a stream circuit`;
        this.destroy(new CircuitProtocolError(this.circuit.id, violation));
        return false;
      } else {
        this.destroy(new CircuitResetError(this.circuit.id, entry.payload.toString('utf8') || 'peer aborted'));
        return false;
      }
    }
    return wantsMore;
  }
}
