import type { PortImpairments, ShapeHooks } from '../impairments/port-impairments';
import { SwitchCounters } from '../pipeline/switch-counters';
import type { ProcessOptions, SwitchPipeline } from '../pipeline/switch-pipeline';
import type { SwitchPort } from '../pipeline/switch-port';
import type { PortEntry, PortWriter, TxEntry } from '../ports/port-io';
import type { PortQuarantine } from '../ports/port-quarantine';
import type { TenantUsage } from '../ports/read-scheduler';
import type { StoreLedger } from '../ports/store-ledger';
import type { PacketTraceSink, SampledFrame } from '../traces/packet-trace.sink';
import { CpuWaitQueues } from './cpu-wait-queues';
import { AckList, DeliveryPlan } from './delivery-plan';
import { SwitchStageTimings } from './switch-stages';
import { UncommittedCounts } from './uncommitted-counts';

/** A batch's state while its frames run (one object per batch: nothing per frame). */
interface BatchInProgress {
  counts: SwitchCounters;
  plan: DeliveryPlan;
  /** The frames that ran (or were refused unread), in order. */
  run: PortEntry[];
  /** The entries whose frames ran through the pipeline, charged to their tenants' budgets. */
  ran: AckList;
  /** Read by `process` at once and never kept, so one serves every frame. */
  options: ProcessOptions;
  /** The entry of the frame before, and its tenant's usage this round. */
  entry: TxEntry | undefined;
  usage: TenantUsage | undefined;
}

/** What a batch needs of the data path around it. */
export interface ForwardHooks {
  /** The tenant's usage this round, for the read scheduler. */
  usageOf(tenant: string): TenantUsage;
  /** Charges this round's usage to the scheduler (planned while the commit is in flight). */
  charge(): void;
  /** Whether to trace this frame of `tenant`. */
  sampled(tenant: string): boolean;
  quarantine(port: SwitchPort, reason: string): void;
}

/**
 * One batch of the data path: decide every frame, then deliver and acknowledge them all in one MULTI. A tx entry may
 * hold many frames (issue 11): each is decided and counted on its own, and the entry is acknowledged once, in the
 * commit that delivers its frames. A batch's decide-time counts (rx, the pipeline's drops, `cpu-budget`,
 * `port-quarantined`, `rx-full`, a packed entry's frames refused unsplit) go to counters of its own, merged into the
 * switch's totals when its commit answers; a commit without a reply leaves them to UncommittedCounts, so an entry
 * read again after a failed commit is counted once. Frames of a tenant whose programs are over their CPU share wait,
 * a tx entry at a time, up to `waitFrames` (see CpuWaitQueues).
 */
export class BatchForwarder {
  /** Per tenant, frames read but not yet run because its programs were over their CPU share (seed 000). */
  readonly waiting: CpuWaitQueues;
  readonly uncommitted: UncommittedCounts;

  constructor(
    private readonly pipeline: SwitchPipeline,
    private readonly writer: Pick<PortWriter, 'hasRoom' | 'commit'>,
    private readonly quarantine: Pick<PortQuarantine, 'has'>,
    private readonly impairments: PortImpairments,
    private readonly shapeHooks: ShapeHooks,
    private readonly ledger: StoreLedger,
    private readonly traceSink: Pick<PacketTraceSink, 'decided' | 'droppedUndecided'>,
    waitFrames: number,
    private readonly hooks: ForwardHooks,
    /** Where a frame's time goes in the switch (issue 11). */
    private readonly stages = new SwitchStageTimings(),
  ) {
    this.waiting = new CpuWaitQueues(pipeline, waitFrames);
    this.uncommitted = new UncommittedCounts(pipeline.counters);
  }

  /** Per tenant, frames that had to wait for CPU, each counted once: when it first joined its tenant's wait queue. */
  get cpuWaits(): ReadonlyMap<string, number> {
    return this.waiting.waits;
  }

  /**
   * What a read round found, looked at once the commit before it has answered: entries of a failed batch read again
   * (it did not apply) and ports whose pending entries ran out (a failed batch's entries not among them were
   * acknowledged: it applied).
   */
  reread(entries: readonly PortEntry[], pendingDone: readonly SwitchPort[]): void {
    for (const port of pendingDone) this.waiting.pendingReadDone(port);
    if (!this.uncommitted.watching) return;
    let last: TxEntry | undefined;
    const ran = new Map<SwitchPort, Set<string>>();
    for (const frame of entries) {
      if (frame.entry === last) continue; // a packed entry's frames share its id
      last = frame.entry;
      if (!this.uncommitted.returned(frame.port, frame.id)) continue;
      // Run by a batch that did not apply: charged then, not again; what impairments held of it is taken back.
      frame.entry.charged = true;
      const ids = ran.get(frame.port);
      if (ids) ids.add(frame.id);
      else ran.set(frame.port, new Set([frame.id]));
    }
    if (ran.size > 0) this.impairments.returned(ran);
    for (const port of pendingDone) this.uncommitted.pendingReadDone(port);
  }

  /** The promise settles when Redis has answered the batch's commit; it rejects when no reply came. */
  forward(entries: PortEntry[]): Promise<void> {
    const counts = new SwitchCounters();
    const plan = new DeliveryPlan(this.writer);
    const acks = new AckList();
    const batch: BatchInProgress = {
      counts,
      plan,
      run: [],
      ran: new AckList(),
      options: { admitted: true, charged: false, timing: undefined },
      entry: undefined,
      usage: undefined,
    };
    // Each entry is admitted as its first frame is reached, after the frames before it were run and charged.
    this.waiting.admit(entries, {
      acknowledge: (frame) => acks.add(frame),
      dropped: (frame, reason) => {
        this.pipeline.drop(frame, reason, counts);
        if (this.hooks.sampled(frame.port.tenant)) this.traceSink.droppedUndecided(frame, reason);
      },
      run: (frame) => this.runFrame(frame, batch),
    });
    const { run, ran } = batch;
    for (const tenant of this.waiting.tenants()) this.hooks.usageOf(tenant).backlogged = true;
    // Charged now, not once the commit answers: the next round is planned while the commit is in flight.
    this.hooks.charge();
    // Impairments count what they lose or hold as they shape: this batch's frames they lose with the batch (merged at
    // its commit, as its decisions are: read again, they are offered again), released frames of earlier batches at once.
    const { deliveries, touched } = plan;
    const shapeHooks: ShapeHooks = {
      hasRoom: (port, planned, bytes) => this.shapeHooks.hasRoom(port, planned, bytes),
      dropped: (from, reason) =>
        reason === 'impaired-loss' || reason === 'impaired-queue-full'
          ? counts.dropped(from, reason)
          : this.shapeHooks.dropped(from, reason),
    };
    const heldCounts = this.impairments.shape(deliveries, touched, performance.now(), shapeHooks);
    const sentAtUs = this.stages.committing(run);
    return this.writer.commit(deliveries, touched, acks.ids, heldCounts, sentAtUs).then(
      ({ applied, refused, faults }) => {
        this.stages.committed(sentAtUs, applied.length);
        const totals = this.pipeline.counters;
        totals.merge(counts);
        for (const [port, ids] of acks.ids) this.ledger.settled(port.vm, ids);
        // Counted from the commit's replies, once Redis holds them: a port whose write failed costs only its own frames.
        for (const [port, carried] of applied) {
          this.ledger.delivered(port.vm, carried.length);
          for (const { frame } of carried) totals.delivered(port, frame.length);
        }
        for (const [, carried] of refused) for (const { port: from } of carried) totals.dropped(from, 'port-fault');
        for (const [port, reason] of faults) this.hooks.quarantine(port, reason);
      },
      (error: unknown) => {
        // No reply: each rx write may or may not be in rx, so its destination counts it in doubt. The batch's tx
        // entries are settled with it (a drop is counted once its commit's outcome is known, a delivery is in doubt
        // at its destination): left unsettled, a frame lost with the store would be counted at its sender too.
        for (const [port, frames] of deliveries) this.ledger.inDoubt(port.vm, frames.length);
        for (const [port, ids] of acks.ids) this.ledger.settled(port.vm, ids);
        if (heldCounts) this.impairments.heldChangesInDoubt();
        this.uncommitted.failed(counts, acks.ids, deliveries, ran.ids);
        throw error;
      },
    );
  }

  /** One admitted frame: decided by the pipeline, its copies planned, its cost charged to its tenant's usage. */
  private runFrame(frame: PortEntry, batch: BatchInProgress): void {
    const { counts, options } = batch;
    batch.run.push(frame);
    const tenant = frame.port.tenant;
    let usage = batch.usage;
    // An entry's frames come from one port, so one tenant: its usage is looked up once per entry.
    if (frame.entry !== batch.entry || usage === undefined) {
      batch.usage = usage = this.hooks.usageOf(tenant);
      usage.entries = (usage.entries ?? 0) + 1;
      if (!frame.refused) batch.ran.add(frame);
    }
    batch.entry = frame.entry;
    if (frame.refused) {
      const { reason, frames } = frame.refused;
      counts.droppedUnread(frame.port, reason, frames, frame.frame.length);
      usage.cost += frames;
      return;
    }
    usage.frames += 1;
    usage.cost += 1;
    let traced: SampledFrame | undefined;
    const timing = this.stages.sample();
    options.charged = frame.entry.charged;
    options.timing = timing;
    const verdict = this.pipeline.process(
      frame,
      this.hooks.sampled(tenant)
        ? (_, view, decided) => (traced = this.traceSink.decided(frame, view, decided))
        : undefined,
      counts,
      options,
    );
    if (timing) this.stages.sampled(timing);
    if (verdict.kind === 'forward') {
      usage.cost += batch.plan.deliver(frame, verdict.outPorts, traced, this.quarantine, counts);
    }
    traced?.finish();
  }
}
