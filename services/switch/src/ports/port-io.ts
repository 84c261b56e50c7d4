import { PORT_CAPACITY_FRAMES, PORT_ENTRY_FIELDS, PORT_KEYS, SWITCH_CONSUMER_GROUP } from '@tenantlab/shared';
import type { ChainableCommander, Redis } from 'ioredis';
import type { SwitchPort } from '../pipeline/switch-port';
import { MAX_TX_ENTRY_BYTES, TX_READ_SCRIPT, TX_READ_SHA } from './tx-read.script';

/** One frame read from a port's tx stream: its stream id (for XACK), bytes, and the sender's trace context. */
export interface PortEntry {
  port: SwitchPort;
  id: string;
  frame: Buffer;
  /** Flat `otel.*` fields of the entry, carried on to the destination so its trace continues. */
  trace: string[];
}

/** How many frames to read from one port this round; 0 only enforces its tx bound. */
export interface PortRead {
  port: SwitchPort;
  count: number;
}

/** What one port's read found besides its entries. */
export interface PortReadOutcome {
  port: SwitchPort;
  /** Entries read this time. */
  read: number;
  /** Entries still in the tx stream after the read, those just read included (they go at the commit). */
  length: number;
  /** Entries beyond the tx bound (and their bytes), deleted unread. */
  overBound: number;
  overBoundBytes: number;
  /** Entries over MAX_TX_ENTRY_BYTES (and their bytes), deleted without leaving Redis. */
  oversized: number;
  oversizedBytes: number;
  /** Why the port could not be read (a key of another type, a command error), when it could not. */
  fault?: string;
  /** The stream or its group is gone (Redis restarted empty, the stream was deleted): the group must be made again. */
  noGroup?: boolean;
  /** This read found the port's pending entries (read before, never acknowledged) run out: it reads new ones next. */
  pendingDone?: boolean;
}

export interface ReadRound {
  entries: PortEntry[];
  outcomes: PortReadOutcome[];
}

/**
 * `pending`, a command sent on the data path's connection, or a rejection as soon as that connection closes. The data
 * path's connection does not resend what it had sent when it dropped (`autoResendUnfulfilledCommands: false`, set by
 * the data path): a commit's MULTI that Redis ran, its reply lost, would run again and deliver its frames twice. ioredis
 * then never settles those commands, so the close does: the outcome is unknown, and the caller treats it so.
 */
export function untilClosed<T>(redis: Redis, pending: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const closed = (): void => reject(new Error('the connection to Redis closed before the reply came'));
    redis.once('close', closed);
    pending.then(resolve, reject).finally(() => redis.off('close', closed));
  });
}

const FRAME_FIELD = Buffer.from(PORT_ENTRY_FIELDS.frame);
const TRACE_PREFIX = 'otel.';
/** The reply's header before the entries: status, length, over-bound count and bytes, oversized count and bytes, vanished. */
const HEADER = 7;

/**
 * Reads the ports' tx streams, one TX_READ_SCRIPT call per port, all in one round trip (a batch per port per round
 * trip, seed 003), on a connection of its own. One call per port keeps every call on one key (Redis Cluster-ready)
 * and each port's error in its own reply. After a restart each port's pending entries (read by this consumer, never
 * acknowledged) are read again first, so a frame accepted into a tx stream is never lost between read and delivery.
 */
export class PortReader {
  /** Ports whose pending entries have been read again since this reader started. */
  private readonly recovered = new Set<number>();

  constructor(
    private readonly redis: Redis,
    private readonly consumer: string,
    /** The most entries a port's tx stream may hold; what a VM writes beyond it is dropped. */
    private readonly bound = PORT_CAPACITY_FRAMES,
  ) {}

  /** Reads each port of `plan` as it says; never blocks. */
  async read(plan: readonly PortRead[]): Promise<ReadRound> {
    if (plan.length === 0) return { entries: [], outcomes: [] };
    let replies = await this.send(plan);
    if (replies.some(([error]) => error?.message.startsWith('NOSCRIPT'))) {
      await untilClosed(this.redis, this.redis.script('LOAD', TX_READ_SCRIPT));
      replies = await this.send(plan);
    }
    const entries: PortEntry[] = [];
    const outcomes = plan.map((read, i) => this.decode(read, replies[i] ?? [null, null], entries));
    return { entries, outcomes };
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

  private async send(plan: readonly PortRead[]): Promise<[Error | null, unknown][]> {
    const pipeline = this.redis.pipeline();
    for (const { port, count } of plan) {
      const start = this.recovered.has(port.no) ? '>' : '0';
      // callBuffer: frames are binary, and ioredis has no Buffer variant of EVALSHA.
      pipeline.callBuffer(
        'EVALSHA',
        TX_READ_SHA,
        1,
        PORT_KEYS.tx(port.vm),
        SWITCH_CONSUMER_GROUP,
        this.consumer,
        count,
        start,
        MAX_TX_ENTRY_BYTES,
        this.bound,
      );
    }
    return (await untilClosed(this.redis, pipeline.exec())) ?? [];
  }

  private decode(
    { port, count }: PortRead,
    [error, reply]: [Error | null, unknown],
    entries: PortEntry[],
  ): PortReadOutcome {
    const outcome: PortReadOutcome = {
      port,
      read: 0,
      length: 0,
      overBound: 0,
      overBoundBytes: 0,
      oversized: 0,
      oversizedBytes: 0,
    };
    if (error) {
      if (error.message.startsWith('NOGROUP')) return { ...outcome, noGroup: true };
      return { ...outcome, fault: error.message };
    }
    const parts = reply as (Buffer | number | Buffer[])[];
    const status = String(parts[0]);
    if (status === 'nogroup') return { ...outcome, noGroup: true };
    if (status !== 'ok') return { ...outcome, fault: `its tx stream is a ${String(parts[1])}, not a stream` };
    outcome.length = Number(parts[1]);
    outcome.overBound = Number(parts[2]);
    outcome.overBoundBytes = Number(parts[3]);
    outcome.oversized = Number(parts[4]);
    outcome.oversizedBytes = Number(parts[5]);
    const pending = this.recovered.has(port.no) === false;
    for (let i = HEADER; i + 1 < parts.length; i += 2) {
      entries.push(decodeEntry(port, String(parts[i]), parts[i + 1] as Buffer[]));
      outcome.read += 1;
    }
    // Vanished entries (parts[6]) were pending ones: read again, now gone, and acknowledged by the script.
    if (pending && count > 0 && outcome.read + Number(parts[6]) === 0) {
      this.recovered.add(port.no);
      outcome.pendingDone = true;
    }
    return outcome;
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

/** One frame for one destination port, and the port it came in on (whose counters a failed write is charged to). */
export interface Delivery {
  from: SwitchPort;
  frame: Buffer;
  trace: string[];
}

/** What Redis applied of a commit: per destination the deliveries it took, and the ports whose commands failed. */
export interface CommitResult {
  applied: [SwitchPort, Delivery][];
  refused: [SwitchPort, Delivery][];
  /** Ports whose rx (as destination) or tx (acknowledging) a command failed on, with the error. */
  faults: Map<SwitchPort, string>;
}

/**
 * Writes one batch's deliveries and acknowledges its reads in a single MULTI, in one round trip. Redis runs every
 * command of an EXEC even when one of them fails (a VM's rx replaced by a key of another type): each reply is looked
 * at on its own, so one port's failure costs that port's frames only, and a delivery counts once its XADD replied
 * with an id. When Redis refuses the whole EXEC (EXECABORT: nothing ran) or the connection drops, commit throws and
 * the batch's entries, still pending, are read again. Each destination's rx length comes back in the same round trip;
 * a destination at PORT_CAPACITY_FRAMES gets no more.
 */
export class PortWriter {
  private readonly rxLength = new Map<string, number>();

  constructor(private readonly redis: Redis) {}

  /** True when `port`'s rx stream can take one more frame, counting those already planned for this batch. */
  hasRoom(port: SwitchPort, planned: number): boolean {
    return (this.rxLength.get(port.vm) ?? 0) + planned < PORT_CAPACITY_FRAMES;
  }

  async commit(
    deliveries: ReadonlyMap<SwitchPort, Delivery[]>,
    touched: ReadonlySet<SwitchPort>,
    acks: ReadonlyMap<SwitchPort, string[]>,
    /** Queues more commands to run in the same MULTI, after the batch's (their replies are not looked at). */
    extra?: (multi: ChainableCommander) => number,
  ): Promise<CommitResult> {
    const multi = this.redis.multi();
    const writes: [SwitchPort, Delivery][] = [];
    for (const [port, frames] of deliveries) {
      const rx = PORT_KEYS.rx(port.vm);
      for (const delivery of frames) {
        multi.xadd(rx, '*', PORT_ENTRY_FIELDS.frame, delivery.frame, ...delivery.trace);
        writes.push([port, delivery]);
      }
    }
    const lengthsOf = [...touched];
    for (const port of lengthsOf) multi.xlen(PORT_KEYS.rx(port.vm));
    const acked = [...acks];
    for (const [port, ids] of acked) {
      const tx = PORT_KEYS.tx(port.vm);
      multi.xack(tx, SWITCH_CONSUMER_GROUP, ...ids);
      // Deleting what was handled keeps a tx stream's length equal to its backlog, which is what its VM waits on.
      multi.xdel(tx, ...ids);
    }
    const commands = writes.length + lengthsOf.length + acked.length * 2 + (extra?.(multi) ?? 0);
    const results = (await untilClosed(this.redis, multi.exec())) ?? [];
    if (results.length !== commands) {
      throw new Error(`the commit's EXEC answered ${results.length} replies for ${commands} commands`);
    }
    const result: CommitResult = { applied: [], refused: [], faults: new Map() };
    writes.forEach((write, i) => {
      const [error] = results[i];
      if (error) result.faults.set(write[0], error.message);
      (error ? result.refused : result.applied).push(write);
    });
    lengthsOf.forEach((port, i) => {
      const [error, length] = results[writes.length + i];
      if (error) result.faults.set(port, error.message);
      else this.rxLength.set(port.vm, Number(length));
    });
    acked.forEach(([port], i) => {
      const first = writes.length + lengthsOf.length + i * 2;
      const error = results[first][0] ?? results[first + 1][0];
      if (error) result.faults.set(port, error.message);
    });
    return result;
  }

  forget(port: SwitchPort): void {
    this.rxLength.delete(port.vm);
  }
}
