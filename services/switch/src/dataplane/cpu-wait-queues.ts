import type { SwitchPipeline } from '../pipeline/switch-pipeline';
import type { DropReason } from '../pipeline/switch-port';
import type { PortEntry, TxEntry } from '../ports/port-io';

/** What the admission does with a tx entry's frames besides handing them on: acknowledge the entry, or drop a frame. */
export interface AdmissionSink {
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
export class CpuWaitQueues {
  private readonly waiting = new Map<string, PortEntry[]>();
  /** Per tenant, frames that had to wait, each counted once: when it first joined its tenant's wait queue. */
  readonly waits = new Map<string, number>();

  constructor(
    private readonly pipeline: SwitchPipeline,
    private readonly maxFramesPerTenant: number,
  ) {}

  /**
   * The frames to run this round, in order: the waiting ones first (a tenant's frames keep their order), then `read`.
   * Lazily: each entry's fate is decided when the caller asks for its first frame, so the frames run before it have
   * been charged to their tenant's budget by then (decided all at once, a tenant with any credit left would run its
   * whole queue in one batch, far past its share). The caller runs each frame before it asks for the next, and takes
   * them all: any it leaves wait again.
   */
  *admit(read: readonly PortEntry[], sink: AdmissionSink): Generator<PortEntry, void, undefined> {
    const candidates: PortEntry[] = [];
    for (const queue of this.waiting.values()) candidates.push(...queue);
    this.waiting.clear();
    // The first `carried` candidates waited before this round: they were counted in `waits` when they began to.
    const carried = candidates.length;
    candidates.push(...read);
    let entry: TxEntry | undefined;
    let fate: 'run' | 'wait' | 'drop' = 'run';
    let next = 0;
    try {
      for (; next < candidates.length; next++) {
        const frame = candidates[next];
        if (frame.entry !== entry) {
          entry = frame.entry;
          fate = this.fateOf(frame);
          if (fate !== 'wait') sink.acknowledge(frame);
        }
        if (fate === 'run') yield frame;
        else if (fate === 'drop') sink.dropped(frame, 'cpu-budget');
        else {
          this.hold(frame);
          if (next >= carried) this.waits.set(frame.port.tenant, (this.waits.get(frame.port.tenant) ?? 0) + 1);
        }
      }
    } finally {
      // Left by a caller that stopped early (it threw, so its batch is not committed): the entries not yet decided
      // wait again instead of being forgotten; the one it was running stays pending in Redis with its batch.
      for (next++; next < candidates.length; next++) {
        if (candidates[next].entry !== entry) this.hold(candidates[next]);
      }
    }
  }

  /** Tenants with frames waiting. */
  tenants(): IterableIterator<string> {
    return this.waiting.keys();
  }

  get size(): number {
    return this.waiting.size;
  }

  clear(): void {
    this.waiting.clear();
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.waiting].map(([tenant, queue]) => [tenant, queue.length]));
  }

  private hold(frame: PortEntry): void {
    const queue = this.waiting.get(frame.port.tenant);
    if (queue) queue.push(frame);
    else this.waiting.set(frame.port.tenant, [frame]);
  }

  private fateOf(first: PortEntry): 'run' | 'wait' | 'drop' {
    const queue = this.waiting.get(first.port.tenant);
    // A refused stand-in costs no program time: it is counted at once, whatever the budget.
    if (!queue && (first.refused !== undefined || !this.pipeline.mustWait(first.port))) return 'run';
    if ((queue?.length ?? 0) + first.entry.frames <= this.maxFramesPerTenant) return 'wait';
    return 'drop';
  }
}
