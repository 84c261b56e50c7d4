import { PORT_CAPACITY_FRAMES, PORT_ENTRY_FIELDS, PORT_KEYS, SWITCH_CONSUMER_GROUP } from '@tenantlab/shared';
import type { Redis } from 'ioredis';
import type { SwitchPort } from '../pipeline/switch-port';

/** One frame read from a port's tx stream: its stream id (for XACK), bytes, and the sender's trace context. */
export interface PortEntry {
  port: SwitchPort;
  id: string;
  frame: Buffer;
  /** Flat `otel.*` fields of the entry, carried on to the destination so its trace continues. */
  trace: string[];
}

type XReadGroupReply = [Buffer, [Buffer, Buffer[]][]][] | null;

const FRAME_FIELD = Buffer.from(PORT_ENTRY_FIELDS.frame);
const TRACE_PREFIX = 'otel.';

/**
 * Reads every port's tx stream in one XREADGROUP (a batch per port per round trip, seed 003), on a connection of its
 * own since it blocks. After a restart each port's pending entries (read by this consumer, never acknowledged) are
 * read again first, so a frame accepted into a tx stream is never lost between read and delivery.
 */
export class PortReader {
  /** Ports whose pending entries have been read again since this reader started. */
  private readonly recovered = new Set<number>();

  constructor(
    private readonly redis: Redis,
    private readonly consumer: string,
    private readonly batchPerPort: number,
    private readonly blockMs: number,
  ) {}

  /** One batch from every port; blocks up to `blockMs` (default: the reader's) when nothing is there yet. */
  async read(ports: readonly SwitchPort[], blockMs = this.blockMs): Promise<PortEntry[]> {
    if (ports.length === 0) return [];
    const keys = ports.map((port) => PORT_KEYS.tx(port.vm));
    const ids = ports.map((port) => (this.recovered.has(port.no) ? '>' : '0'));
    const recovering = ids.includes('0');
    const args: (string | number)[] = ['GROUP', SWITCH_CONSUMER_GROUP, this.consumer, 'COUNT', this.batchPerPort];
    // Reading pending history never blocks; only block when every port is on new entries.
    if (!recovering) args.push('BLOCK', blockMs);
    // callBuffer: frames are binary, and ioredis has no Buffer variant of XREADGROUP.
    const reply = (await this.redis.callBuffer('XREADGROUP', ...args, 'STREAMS', ...keys, ...ids)) as XReadGroupReply;
    const streams = reply ?? [];
    const byKey = new Map(streams.map(([key, entries]) => [key.toString(), entries]));
    const entries: PortEntry[] = [];
    ports.forEach((port, i) => {
      const read = byKey.get(keys[i]) ?? [];
      if (ids[i] === '0' && read.length === 0) this.recovered.add(port.no);
      for (const [id, fields] of read) entries.push(decodeEntry(port, id.toString(), fields));
    });
    return entries;
  }

  /**
   * Reads every port's pending entries again before new ones: after a batch failed to commit, its entries are
   * pending (read, not acknowledged), and only reading them again brings them back.
   */
  rereadPending(): void {
    this.recovered.clear();
  }

  /** Forgets a detached port, so that if its number were reused it would be recovered again. */
  forget(port: SwitchPort): void {
    this.recovered.delete(port.no);
  }
}

function decodeEntry(port: SwitchPort, id: string, fields: Buffer[]): PortEntry {
  let frame: Buffer | undefined;
  const trace: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i];
    if (name.equals(FRAME_FIELD)) frame = fields[i + 1];
    else if (name.toString('latin1').startsWith(TRACE_PREFIX)) trace.push(name.toString(), fields[i + 1].toString());
  }
  // An entry without a frame field is delivered to the pipeline as an empty frame, which it rejects and counts.
  return { port, id, frame: frame ?? Buffer.alloc(0), trace };
}

/**
 * Writes one batch's deliveries and acknowledges its reads in a single MULTI: either every frame of the batch is in
 * its destination rx stream and the tx entries are gone, or nothing happened and the entries are read again. Each
 * destination's rx length comes back in the same round trip; a destination at PORT_CAPACITY_FRAMES gets no more.
 */
export class PortWriter {
  private readonly rxLength = new Map<string, number>();

  constructor(private readonly redis: Redis) {}

  /** True when `port`'s rx stream can take one more frame, counting those already planned for this batch. */
  hasRoom(port: SwitchPort, planned: number): boolean {
    return (this.rxLength.get(port.vm) ?? 0) + planned < PORT_CAPACITY_FRAMES;
  }

  async commit(
    deliveries: ReadonlyMap<SwitchPort, { frame: Buffer; trace: string[] }[]>,
    touched: ReadonlySet<SwitchPort>,
    acks: ReadonlyMap<SwitchPort, string[]>,
  ): Promise<void> {
    const multi = this.redis.multi();
    for (const [port, frames] of deliveries) {
      const rx = PORT_KEYS.rx(port.vm);
      for (const { frame, trace } of frames) multi.xadd(rx, '*', PORT_ENTRY_FIELDS.frame, frame, ...trace);
    }
    const lengthsOf = [...touched];
    for (const port of lengthsOf) multi.xlen(PORT_KEYS.rx(port.vm));
    for (const [port, ids] of acks) {
      const tx = PORT_KEYS.tx(port.vm);
      multi.xack(tx, SWITCH_CONSUMER_GROUP, ...ids);
      // Deleting what was handled keeps a tx stream's length equal to its backlog, which is what its VM waits on.
      multi.xdel(tx, ...ids);
    }
    const results = (await multi.exec()) ?? [];
    for (const [error] of results) if (error) throw error;
    const firstLength = results.length - lengthsOf.length - acks.size * 2;
    lengthsOf.forEach((port, i) => this.rxLength.set(port.vm, Number(results[firstLength + i]?.[1] ?? 0)));
  }

  forget(port: SwitchPort): void {
    this.rxLength.delete(port.vm);
  }
}
