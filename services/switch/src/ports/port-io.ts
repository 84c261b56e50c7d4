import {
  epochMicros,
  PORT_CAPACITY,
  PORT_CAPACITY_FRAMES,
  PORT_ENTRY_FIELDS,
  PORT_KEYS,
  PORT_TX_MEMORY_BYTES,
  type StreamCapacity,
  SWITCH_CONSUMER_GROUP,
  untilClosed,
} from '@tenantlab/shared';
import type { ChainableCommander, Pipeline, Redis } from 'ioredis';
import { EncodedCommand } from './encoded-xadd';
import type { SwitchPort } from '../pipeline/switch-port';
import { decodeTxEntry, type TxEntry } from './tx-entry';
import { RxOccupancy } from './rx-occupancy';
import { packRxEntries } from './rx-packing';
import { MAX_TX_ENTRY_BYTES, TX_READ_SCRIPT, TX_READ_SHA } from './tx-read.script';

export type { TxEntry } from './tx-entry';

/**
 * One frame read from a port's tx stream: the stream id of its entry (for XACK), bytes, and the sender's trace
 * context. A tx entry may hold many frames (issue 11): its frames come one after the other and share `entry`.
 */
export interface PortEntry {
  port: SwitchPort;
  id: string;
  frame: Buffer;
  /** Flat `otel.*` fields of the frame's send, carried on to the destination so its trace continues. */
  trace: string[];
  entry: TxEntry;
  /** Set on the stand-in for what a packed entry held that could not be split: dropped unparsed, per frame. */
  refused?: { reason: 'entry-malformed' | 'entry-over-frames'; detail: string; frames: number };
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
  /**
   * Frames of the entries beyond the tx bound, in entries or in memory (each frame of a packed entry), and their
   * bytes, deleted unread.
   */
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
 * The reply's header before the entries: status, length, over-bound count and bytes, oversized count and bytes,
 * vanished, still over the memory bound.
 */
const HEADER = 8;

/**
 * Rounds between two checks of a port's tx memory bound (TX_READ_SCRIPT walks the stream's nodes for it, one per
 * large entry): between two, a VM's tx grows by what it writes in that many rounds, a few MB at Redis's write rate.
 */
export const MEMORY_CHECK_EVERY = 8;

/**
 * Reads the ports' tx streams, one TX_READ_SCRIPT call per port, all in one round trip (a batch per port per round
 * trip, seed 003), on a connection of its own. One call per port keeps every call on one key (Redis Cluster-ready)
 * and each port's error in its own reply. After a restart each port's pending entries (read by this consumer, never
 * acknowledged) are read again first, so a frame accepted into a tx stream is never lost between read and delivery.
 */
export class PortReader {
  /** Ports whose pending entries have been read again since this reader started. */
  private readonly recovered = new Set<number>();
  /**
   * Ports whose tx was still over its memory bound at their last check, with entries left to trim: checked again
   * every round until the trim is done.
   */
  private readonly overMemory = new Set<number>();
  private rounds = 0;

  constructor(
    private readonly redis: Redis,
    private readonly consumer: string,
    /** The most entries a port's tx stream may hold; what a VM writes beyond it is dropped. */
    private readonly bound = PORT_CAPACITY_FRAMES,
    /**
     * The most Redis memory a port's tx stream may take; the newest entries beyond it are dropped. Per port: its
     * share of its tenant's budget (TenantPortShares).
     */
    private readonly memoryBoundOf: (port: SwitchPort) => number = () => PORT_TX_MEMORY_BYTES,
    /** How often (in rounds) each port's memory bound is checked. */
    private readonly memoryCheckEvery = MEMORY_CHECK_EVERY,
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
    this.overMemory.delete(port.no);
  }

  private async send(plan: readonly PortRead[]): Promise<[Error | null, unknown][]> {
    const pipeline = this.redis.pipeline();
    this.rounds += 1;
    for (const { port, count } of plan) {
      const start = this.recovered.has(port.no) ? '>' : '0';
      // Staggered by port number, so the walks of a round's ports do not all fall in the same round.
      const due = this.overMemory.has(port.no) || (this.rounds + port.no) % this.memoryCheckEvery === 0;
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
        this.memoryBoundOf(port),
        due ? 1 : 0,
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
    if (Number(parts[7]) === 1) this.overMemory.add(port.no);
    else this.overMemory.delete(port.no);
    const pending = this.recovered.has(port.no) === false;
    const readAtUs = epochMicros();
    for (let i = HEADER; i + 1 < parts.length; i += 2) {
      decodeTxEntry(port, String(parts[i]), parts[i + 1] as Buffer[], readAtUs, entries);
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

/**
 * One frame for a destination port. Its fields are the PortEntry's it was read as, so the read frame itself is what a
 * batch delivers (no object per frame and destination on the way).
 */
export interface Delivery {
  /** The port it came in on (whose counters a failed write is charged to), not the destination. */
  port: SwitchPort;
  frame: Buffer;
  trace: string[];
  /** The id of the tx entry it came from, at `port` (a port impairment holding it takes it back if that comes back). */
  id?: string;
}

/**
 * What Redis applied of a commit: per rx entry written, its destination and the deliveries it carried (one group per
 * entry, not a pair per frame: at hundreds of thousands of frames a second the pairs were a tenth of what the switch
 * allocated), the same for the entries refused, and the ports whose commands failed.
 */
export interface CommitResult {
  applied: [SwitchPort, readonly Delivery[]][];
  refused: [SwitchPort, readonly Delivery[]][];
  /** Ports whose rx (as destination) or tx (acknowledging) a command failed on, with the error. */
  faults: Map<SwitchPort, string>;
}

/**
 * A destination's rx length and the id of its oldest entry ('' when empty), for RxOccupancy: the entries the switch
 * wrote that are older than it were read and trimmed by the VM (or deleted with the stream).
 */
const RX_LENGTH_SCRIPT = `
local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
return {redis.call('XLEN', KEYS[1]), oldest and oldest[1] or ''}
`;

/**
 * Writes one batch's deliveries and acknowledges its reads in a single MULTI, in one round trip. Redis runs every
 * command of an EXEC even when one of them fails (a VM's rx replaced by a key of another type): each reply is looked
 * at on its own, so one port's failure costs that port's frames only, and a delivery counts once its XADD replied
 * with an id. When Redis refuses the whole EXEC (EXECABORT: nothing ran) or the connection drops, commit throws and
 * the batch's entries, still pending, are read again. Each destination's rx length comes back in the same round trip;
 * a destination holding PORT_CAPACITY_FRAMES frames or PORT_CAPACITY_BYTES bytes gets no more (see RxOccupancy).
 */
export class PortWriter {
  /** Frames and bytes in each destination's rx, from its length as last read and the entries this writer wrote. */
  private readonly occupancy = new RxOccupancy();

  constructor(
    private readonly redis: Redis,
    /** What a destination's rx may hold: its share of its tenant's budget (TenantPortShares), at most PORT_CAPACITY. */
    private readonly rxCapacityOf: (port: SwitchPort) => StreamCapacity = () => PORT_CAPACITY,
  ) {}

  /**
   * True when `port`'s rx stream can take one more frame of `bytes`, counting the frames and bytes already planned for
   * this batch: rx holds at most its capacity's frames and bytes of frames (PORT_CAPACITY_FRAMES and
   * PORT_CAPACITY_BYTES, or less when its tenant's ports share a smaller budget).
   */
  hasRoom(port: SwitchPort, planned: { frames: number; bytes: number }, bytes: number): boolean {
    return this.occupancy.hasRoom(port.vm, planned.frames + 1, planned.bytes + bytes, this.rxCapacityOf(port));
  }

  async commit(
    deliveries: ReadonlyMap<SwitchPort, Delivery[]>,
    touched: ReadonlySet<SwitchPort>,
    acks: ReadonlyMap<SwitchPort, string[]>,
    /** Queues more commands to run in the same MULTI, after the batch's (their replies are not looked at). */
    extra?: (multi: ChainableCommander) => number,
    /** The `t` stamp of the rx entries: when the commit is sent, µs since the epoch. */
    sentAtUs = epochMicros(),
  ): Promise<CommitResult> {
    const multi = this.redis.multi();
    // One XADD per rx entry; an entry carries one destination's frames (many, packed, when many are planned).
    const writes: [SwitchPort, Delivery[]][] = [];
    const sentAt = String(sentAtUs);
    for (const [port, frames] of deliveries) {
      const rx = PORT_KEYS.rx(port.vm);
      for (const { fields, deliveries: carried, command } of packRxEntries(frames, { key: rx, sentAt })) {
        // A packed entry comes encoded (its frames packed straight into the command); `multi` is a Pipeline, whose
        // sendCommand ChainableCommander's type leaves out.
        if (command) (multi as unknown as Pipeline).sendCommand(new EncodedCommand('xadd', command));
        else multi.xadd(rx, '*', ...fields, PORT_ENTRY_FIELDS.sentAt, sentAt);
        writes.push([port, carried]);
      }
    }
    const lengthsOf = [...touched];
    for (const port of lengthsOf) multi.eval(RX_LENGTH_SCRIPT, 1, PORT_KEYS.rx(port.vm));
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
    writes.forEach(([port, carried], i) => {
      const [error, id] = results[i];
      if (error) result.faults.set(port, error.message);
      else this.occupancy.written(port.vm, String(id), carried);
      (error ? result.refused : result.applied).push([port, carried]);
    });
    lengthsOf.forEach((port, i) => {
      const [error, reply] = results[writes.length + i];
      if (error) result.faults.set(port, error.message);
      else {
        const [length, oldest] = reply as [number, string];
        this.occupancy.observe(port.vm, Number(length), String(oldest));
      }
    });
    acked.forEach(([port], i) => {
      const first = writes.length + lengthsOf.length + i * 2;
      const error = results[first][0] ?? results[first + 1][0];
      if (error) result.faults.set(port, error.message);
    });
    return result;
  }

  forget(port: SwitchPort): void {
    this.occupancy.forget(port.vm);
  }
}
