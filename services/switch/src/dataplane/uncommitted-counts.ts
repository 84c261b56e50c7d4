import { SwitchCounters } from '../pipeline/switch-counters';
import type { SwitchPort } from '../pipeline/switch-port';
import type { Delivery } from '../ports/port-io';

/** One batch whose commit got no reply: what it decided, counted apart, until the switch knows whether it applied. */
interface FailedBatch {
  /** The batch's decide-time counts (rx, drops), per sender port. */
  counts: SwitchCounters;
  /** Per sender port not settled yet, the tx entry ids the batch decided (and its commit would have acknowledged). */
  ids: Map<SwitchPort, Set<string>>;
  /** The rx writes of its commit: delivered if the commit applied. */
  deliveries: ReadonlyMap<SwitchPort, readonly Delivery[]>;
  /** False once an entry of the batch was read again: its commit did not apply. Undefined while unknown. */
  applied?: false;
}

/**
 * Counts each tx entry's rx and its drops once, whatever the commit that acknowledges it does (issue 10). The data
 * path counts a batch's decisions apart and merges them into the totals when its commit answers. A commit with no
 * reply (EXECABORT, a connection that drops mid-reply, Redis unreachable) leaves two cases, told apart by reading the
 * ports' pending entries again, which the data path does after every failed commit:
 *
 * - it did not apply: the batch's entries are still pending and come back (`returned`); they are decided again, by
 *   a later batch, and this batch's counts of them are dropped;
 * - it applied, its reply lost: the entries were acknowledged, so a port's pending entries run out (`pendingReadDone`)
 *   without them; the batch's counts are merged, its rx writes counted as delivered.
 *
 * The commit is one MULTI, which Redis applies whole or not at all, so the first sign settles the whole batch as
 * applied; a batch known not to have applied settles port by port, as each port's entries come back. A port that goes
 * (detached) or a store that is lost before its sign has its counts merged: those entries will not be decided again;
 * their rx writes stay uncounted in tx here (the store ledger counts them in doubt at their destination). Until then
 * the counts wait here, shown as `awaitingCommitOutcome` in `GET /dataplane`, and are in none of the totals.
 */
export class UncommittedCounts {
  private readonly batches = new Set<FailedBatch>();
  /**
   * Per sender port, the entries failed batches ran, until each comes back or cannot any more: their frames were
   * charged to their tenants' CPU budget and storm control then, and are not charged again when decided anew (issue
   * 10). Kept apart from `batches`, which settle a port at its first entry back.
   */
  private readonly charged = new Map<SwitchPort, Set<string>>();

  constructor(private readonly totals: SwitchCounters) {}

  /** Batches whose outcome is not known yet (shown as `awaitingCommitOutcome`). */
  get size(): number {
    return this.batches.size;
  }

  /** Whether entries read may be ones a failed batch decided: when not, the data path skips looking at them. */
  get watching(): boolean {
    return this.batches.size > 0 || this.charged.size > 0;
  }

  /**
   * A batch's commit got no reply; `acks` are the entries it decided, per port, and `ran` those of them whose frames
   * ran through the pipeline (charged to their tenants' budgets).
   */
  failed(
    counts: SwitchCounters,
    acks: ReadonlyMap<SwitchPort, readonly string[]>,
    deliveries: ReadonlyMap<SwitchPort, readonly Delivery[]>,
    ran: ReadonlyMap<SwitchPort, readonly string[]> = new Map(),
  ): void {
    for (const [port, list] of ran) {
      const charged = this.charged.get(port);
      if (charged) for (const id of list) charged.add(id);
      else this.charged.set(port, new Set(list));
    }
    if (acks.size === 0) return; // it decided nothing (it only wrote what impairments released): nothing to count
    const ids = new Map([...acks].map(([port, list]) => [port, new Set(list)]));
    this.batches.add({ counts, ids, deliveries });
  }

  /**
   * `port`'s entry `id` was read again: the commit that acknowledged it did not apply. True when a failed batch ran
   * it (it is not charged to its tenant's budgets again).
   */
  returned(port: SwitchPort, id: string): boolean {
    const ids = this.charged.get(port);
    const charged = ids?.delete(id) === true;
    if (ids?.size === 0) this.charged.delete(port);
    for (const batch of this.batches) {
      if (!batch.ids.get(port)?.has(id)) continue;
      batch.applied = false;
      // Decided again by the batch that read it now: counted there (each of the port's entries is, as it comes back).
      this.settle(batch, port, false);
    }
    return charged;
  }

  /** `port`'s pending entries ran out: entries of a failed batch not read again by now were acknowledged. */
  pendingReadDone(port: SwitchPort): void {
    this.charged.delete(port);
    for (const batch of this.batches) {
      if (!batch.ids.has(port)) continue;
      if (batch.applied === false) {
        // Known not applied, yet gone from the pending list (deleted by someone else): never decided again.
        this.settle(batch, port, true);
        continue;
      }
      for (const [sender] of batch.ids) this.totals.merge(batch.counts, sender);
      for (const [destination, frames] of batch.deliveries) {
        for (const { frame } of frames) this.totals.delivered(destination, frame.length);
      }
      this.batches.delete(batch);
    }
  }

  /** `port` was detached: its entries will not be read again, so what the batches decided of them stands. */
  portGone(port: SwitchPort): void {
    this.charged.delete(port);
    for (const batch of this.batches) if (batch.ids.has(port)) this.settle(batch, port, true);
  }

  /** The store restarted empty: no entry comes back, so every decision stands (the store ledger settled them). */
  storeLost(): void {
    this.charged.clear();
    for (const batch of this.batches) for (const [port] of batch.ids) this.totals.merge(batch.counts, port);
    this.batches.clear();
  }

  /** Per VM, the entries whose counts wait for their commit's outcome (for `GET /dataplane`). */
  snapshot(): Record<string, number> {
    const waiting: Record<string, number> = {};
    for (const batch of this.batches) {
      for (const [port, ids] of batch.ids) waiting[port.vm] = (waiting[port.vm] ?? 0) + ids.size;
    }
    return waiting;
  }

  private settle(batch: FailedBatch, port: SwitchPort, merge: boolean): void {
    if (merge) this.totals.merge(batch.counts, port);
    batch.ids.delete(port);
    if (batch.ids.size === 0) this.batches.delete(batch);
  }
}
