import type { SwitchPipeline } from '../pipeline/switch-pipeline';
import type { DropReason, SwitchPort } from '../pipeline/switch-port';
import type { PortEntry, TxEntry } from '../ports/port-io';

/** What the admission does with a tx entry's frames: run one, acknowledge the entry, or drop a frame. */
export interface AdmissionSink {
  /** A frame to run now; the next entry's fate is decided only once this returns (its cost charged). */
  run(frame: PortEntry): void;
  /** Once per tx entry whose frames are all decided this round (run now, or dropped): its id goes in the commit. */
  acknowledge(frame: PortEntry): void;
  dropped(frame: PortEntry, reason: DropReason): void;
}

/**
 * Per tenant, frames read but not yet run because its programs were over their CPU share (seed 000), in order and
 * unacknowledged (a restarted switch reads them again), up to `maxFramesPerTenant`; beyond that they are dropped and
 * counted as `cpu-budget`. The decision is per tx entry (issue 11): an entry's frames all run in the same batch, or
 * all wait, or are all dropped, since the entry is acknowledged, with the batch's deliveries, in one commit: a frame
 * run in one commit and its entry acknowledged in a later one would be delivered twice after a crash between them.
 */
/** One tenant's waiting frames: an array with a moving head, so taking from the front costs nothing per frame left. */
interface WaitQueue {
  frames: PortEntry[];
  head: number;
}

export class CpuWaitQueues {
  private readonly waiting = new Map<string, WaitQueue>();
  /** Per tenant, frames that had to wait, each counted once: when it first joined its tenant's wait queue. */
  readonly waits = new Map<string, number>();
  /**
   * Per port, entries counted in `waits` when the queues were cleared (their batch failed, they are read again): not
   * counted again if they wait again. Until each is read again, or the port's pending entries run out.
   */
  private readonly counted = new Map<SwitchPort, Set<string>>();

  constructor(
    private readonly pipeline: SwitchPipeline,
    private readonly maxFramesPerTenant: number,
  ) {}

  /**
   * Runs this round's frames (`sink.run`), in order: the waiting ones first (a tenant's frames keep their order), then
   * `read`. Each entry's fate is decided when its first frame is reached, so the frames run before it have been
   * charged to their tenant's budget by then (decided all at once, a tenant with any credit left would run its
   * whole queue in one batch, far past its share). A tenant still over its share is passed over at its queue's head:
   * its waiting frames are not looked at again until it may run, so a full queue costs a round nothing. If `sink.run`
   * throws (its batch is not committed), the frames not reached stay where they were, and read entries not reached
   * join their tenant's queue. A callback, not a generator: a generator allocates a result per frame.
   */
  admit(read: readonly PortEntry[], sink: AdmissionSink): void {
    for (const [tenant, queue] of this.waiting) {
      let running: TxEntry | undefined;
      try {
        while (queue.head < queue.frames.length) {
          const first = queue.frames[queue.head];
          if (!first.entry.charged && this.pipeline.mustWait(first.port, first.entry.frames)) break;
          sink.acknowledge(first);
          for (running = first.entry; queue.frames[queue.head]?.entry === running;) {
            sink.run(queue.frames[queue.head++]);
          }
        }
      } finally {
        // A run that threw inside an entry leaves it pending in Redis with its batch: none of it waits here.
        while (running !== undefined && queue.frames[queue.head]?.entry === running) queue.head++;
        if (queue.head === queue.frames.length) this.waiting.delete(tenant);
        else if (queue.head > 1024 && queue.head * 2 > queue.frames.length) {
          queue.frames = queue.frames.slice(queue.head);
          queue.head = 0;
        }
      }
    }
    let next = 0;
    try {
      while (next < read.length) {
        const first = read[next];
        const fate = this.fateOf(first);
        const countedBefore = this.takeCounted(first);
        if (fate !== 'wait') sink.acknowledge(first);
        for (const entry = first.entry; read[next]?.entry === entry; next++) {
          const frame = read[next];
          if (fate === 'run') sink.run(frame);
          else if (fate === 'drop') sink.dropped(frame, 'cpu-budget');
          else {
            this.hold(frame);
            if (!countedBefore) this.waits.set(frame.port.tenant, (this.waits.get(frame.port.tenant) ?? 0) + 1);
          }
        }
      }
    } finally {
      // Left by a run that threw: the entry it was in stays pending in Redis with its batch; the entries after it wait.
      const stoppedIn = read[next]?.entry;
      for (; next < read.length; next++) if (read[next].entry !== stoppedIn) this.hold(read[next]);
    }
  }

  /** Tenants with frames waiting. */
  tenants(): IterableIterator<string> {
    return this.waiting.keys();
  }

  get size(): number {
    return this.waiting.size;
  }

  /** Drops every waiting frame (left pending in Redis, to be read again), remembering they were counted as waiting. */
  clear(): void {
    for (const { frames, head } of this.waiting.values()) {
      for (let i = head; i < frames.length; i++) {
        const { port, id } = frames[i];
        const ids = this.counted.get(port);
        if (ids) ids.add(id);
        else this.counted.set(port, new Set([id]));
      }
    }
    this.waiting.clear();
  }

  /** `port`'s pending entries have all been read again: those not back by now will not be. */
  pendingReadDone(port: SwitchPort): void {
    this.counted.delete(port);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.waiting].map(([tenant, queue]) => [tenant, queue.frames.length - queue.head]));
  }

  /** Whether `first`'s entry was counted as waiting before the queues were cleared; forgets it. */
  private takeCounted({ port, id }: PortEntry): boolean {
    const ids = this.counted.get(port);
    if (ids === undefined || !ids.delete(id)) return false;
    if (ids.size === 0) this.counted.delete(port);
    return true;
  }

  private hold(frame: PortEntry): void {
    const queue = this.waiting.get(frame.port.tenant);
    if (queue) queue.frames.push(frame);
    else this.waiting.set(frame.port.tenant, { frames: [frame], head: 0 });
  }

  private fateOf(first: PortEntry): 'run' | 'wait' | 'drop' {
    const queue = this.waiting.get(first.port.tenant);
    // A refused stand-in costs no program time: it is counted at once, whatever the budget. An entry charged by a
    // batch whose commit did not apply was admitted then: it runs again, uncharged (see ProcessOptions.charged).
    if (first.entry.charged) return 'run';
    if (!queue && (first.refused !== undefined || !this.pipeline.mustWait(first.port, first.entry.frames))) {
      return 'run';
    }
    const queued = queue ? queue.frames.length - queue.head : 0;
    if (queued + first.entry.frames <= this.maxFramesPerTenant) return 'wait';
    return 'drop';
  }
}
