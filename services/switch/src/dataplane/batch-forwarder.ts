import type { PortImpairments, ShapeHooks } from '../impairments/port-impairments';
import { SwitchCounters } from '../pipeline/switch-counters';
import type { SwitchPipeline } from '../pipeline/switch-pipeline';
import type { SwitchPort } from '../pipeline/switch-port';
import type { Delivery, PortEntry, PortWriter } from '../ports/port-io';
import type { PortQuarantine } from '../ports/port-quarantine';
import type { TenantUsage } from '../ports/read-scheduler';
import type { StoreLedger } from '../ports/store-ledger';
import type { PacketTraceSink, SampledFrame } from '../traces/packet-trace.sink';
import { UncommittedCounts } from './uncommitted-counts';

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

function acknowledge(acks: Map<SwitchPort, string[]>, entry: PortEntry): void {
  const ids = acks.get(entry.port);
  if (ids) ids.push(entry.id);
  else acks.set(entry.port, [entry.id]);
}

/**
 * One batch of the data path: decide every frame, then deliver and acknowledge them all in one MULTI. A batch's
 * decide-time counts (rx, the pipeline's drops, `cpu-budget`, `port-quarantined`, `rx-full`) go to counters of its
 * own, merged into the switch's totals when its commit answers; a commit without a reply leaves them to
 * UncommittedCounts, so an entry read again after a failed commit is counted once. Frames of a tenant whose programs
 * are over their CPU share wait here, in order and unacknowledged, up to `waitFrames`.
 */
export class BatchForwarder {
  /** Per tenant, frames read but not yet run because its programs were over their CPU share (seed 000). */
  readonly waiting = new Map<string, PortEntry[]>();
  /** Per tenant, frames that had to wait for CPU, each counted once: when it first joined its tenant's wait queue. */
  readonly cpuWaits = new Map<string, number>();
  readonly uncommitted: UncommittedCounts;

  constructor(
    private readonly pipeline: SwitchPipeline,
    private readonly writer: Pick<PortWriter, 'hasRoom' | 'commit'>,
    private readonly quarantine: Pick<PortQuarantine, 'has'>,
    private readonly impairments: PortImpairments,
    private readonly shapeHooks: ShapeHooks,
    private readonly ledger: StoreLedger,
    private readonly traceSink: Pick<PacketTraceSink, 'decided' | 'droppedUndecided'>,
    private readonly waitFrames: number,
    private readonly hooks: ForwardHooks,
  ) {
    this.uncommitted = new UncommittedCounts(pipeline.counters);
  }

  /**
   * What a read round found, looked at once the commit before it has answered: entries of a failed batch read again
   * (it did not apply) and ports whose pending entries ran out (a failed batch's entries not among them were
   * acknowledged: it applied).
   */
  reread(entries: readonly PortEntry[], pendingDone: readonly SwitchPort[]): void {
    if (this.uncommitted.size === 0) return;
    for (const entry of entries) this.uncommitted.returned(entry.port, entry.id);
    for (const port of pendingDone) this.uncommitted.pendingReadDone(port);
  }

  /** The promise settles when Redis has answered the batch's commit; it rejects when no reply came. */
  forward(entries: PortEntry[]): Promise<void> {
    const counts = new SwitchCounters();
    const deliveries = new Map<SwitchPort, Delivery[]>();
    const touched = new Set<SwitchPort>();
    const acks = new Map<SwitchPort, string[]>();
    const candidates: PortEntry[] = [];
    for (const queue of this.waiting.values()) candidates.push(...queue);
    this.waiting.clear();
    // The first `carried` candidates waited before this batch: they were counted in cpuWaits when they began to.
    const carried = candidates.length;
    candidates.push(...entries);
    let position = 0;
    for (const entry of candidates) {
      const tenant = entry.port.tenant;
      const queue = this.waiting.get(tenant);
      const waitedBefore = position++ < carried;
      if (queue || this.pipeline.mustWait(entry.port)) {
        if (!queue) this.waiting.set(tenant, [entry]);
        else if (queue.length < this.waitFrames) queue.push(entry);
        else {
          this.pipeline.drop(entry, 'cpu-budget', counts);
          if (this.hooks.sampled(tenant)) this.traceSink.droppedUndecided(entry, 'cpu-budget');
          acknowledge(acks, entry);
          continue;
        }
        if (!waitedBefore) this.cpuWaits.set(tenant, (this.cpuWaits.get(tenant) ?? 0) + 1);
        continue;
      }
      acknowledge(acks, entry);
      const usage = this.hooks.usageOf(tenant);
      usage.frames += 1;
      usage.cost += 1;
      let traced: SampledFrame | undefined;
      const verdict = this.pipeline.process(
        entry,
        this.hooks.sampled(tenant)
          ? (_, view, decided) => (traced = this.traceSink.decided(entry, view, decided))
          : undefined,
        counts,
      );
      if (verdict.kind !== 'forward') {
        traced?.finish();
        continue;
      }
      for (const out of verdict.outPorts) {
        if (this.quarantine.has(out)) {
          counts.dropped(entry.port, 'port-quarantined');
          traced?.droppedAt(out, 'port-quarantined');
          continue;
        }
        touched.add(out);
        const planned = deliveries.get(out);
        if (!this.writer.hasRoom(out, planned?.length ?? 0)) {
          counts.dropped(entry.port, 'rx-full');
          traced?.droppedAt(out, 'rx-full');
          continue;
        }
        usage.cost += 1;
        const delivery = { from: entry.port, frame: entry.frame, trace: entry.trace };
        if (planned) planned.push(delivery);
        else deliveries.set(out, [delivery]);
      }
      traced?.finish();
    }
    for (const tenant of this.waiting.keys()) this.hooks.usageOf(tenant).backlogged = true;
    // Charged now, not once the commit answers: the next round is planned while the commit is in flight.
    this.hooks.charge();
    // Impairments count what they lose or hold as they shape (not the batch's decisions: they stay as they are).
    const heldCounts = this.impairments.shape(deliveries, touched, performance.now(), this.shapeHooks);
    return this.writer.commit(deliveries, touched, acks, heldCounts).then(
      ({ applied, refused, faults }) => {
        const totals = this.pipeline.counters;
        totals.merge(counts);
        for (const [port, ids] of acks) this.ledger.settled(port.vm, ids);
        for (const [port] of applied) this.ledger.delivered(port.vm, 1);
        // Counted from the commit's replies, once Redis holds them: a port whose write failed costs only its own frames.
        for (const [port, { frame }] of applied) totals.delivered(port, frame.length);
        for (const [, { from }] of refused) totals.dropped(from, 'port-fault');
        for (const [port, reason] of faults) this.hooks.quarantine(port, reason);
      },
      (error: unknown) => {
        // No reply: each rx write may or may not be in rx, so its destination counts it in doubt. The batch's tx
        // entries are settled with it (a drop is counted once its commit's outcome is known, a delivery is in doubt
        // at its destination): left unsettled, a frame lost with the store would be counted at its sender too.
        for (const [port, frames] of deliveries) this.ledger.inDoubt(port.vm, frames.length);
        for (const [port, ids] of acks) this.ledger.settled(port.vm, ids);
        if (heldCounts) this.impairments.heldChangesInDoubt();
        this.uncommitted.failed(counts, acks, deliveries);
        throw error;
      },
    );
  }
}
