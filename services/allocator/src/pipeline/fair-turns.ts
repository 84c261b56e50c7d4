import { DomainError } from '@tenantlab/shared';

/**
 * At most this many changes of one party wait for their turn. A tenant has one program, so a change that waits
 * behind several of its own is already stale when its turn comes: past this it can only be a flood.
 */
export const MAX_WAITING_CHANGES_PER_PARTY = 4;

/** A party asked for more changes than may wait: 429, retriable. */
export class ChangesWaitingError extends DomainError {
  constructor(party: string, waiting: number) {
    super(
      'QUOTA_EXCEEDED',
      `${party} already has ${waiting} pipeline changes waiting for their turn (every tenant's changes take turns ` +
        "with the other tenants'); try again once one is done",
      { retriable: true },
    );
  }
}

/**
 * Runs the pipeline's changes one at a time, taking turns among the parties that ask for them (each tenant, and
 * the allocator's own re-links): round robin over the parties waiting, first come first served within one.
 *
 * Why: changes commit optimistically (a change that loses the race plans again from the winner, a bounded number of
 * times), and that alone let one tenant keeping dozens of submissions in flight make every other tenant's change
 * lose each race and fail, or wait behind its whole flood. Taking turns, another party's change waits for at most
 * the change running and one change of each party ahead of it, and a party cannot queue more than
 * MAX_WAITING_CHANGES_PER_PARTY. The optimistic commit stays for changes of another allocator process.
 */
export class FairTurns {
  /** Waiting changes per party; the Map's order is the order of the parties' next turns. */
  private readonly waiting = new Map<string, (() => void)[]>();
  /** The party whose change runs now, if one does. */
  private running: string | undefined;

  constructor(private readonly maxWaitingPerParty = MAX_WAITING_CHANGES_PER_PARTY) {}

  /** Runs `change` in `party`'s next turn; rejects at once with ChangesWaitingError when too many of its wait. */
  async run<T>(party: string, change: () => Promise<T>): Promise<T> {
    await this.turnOf(party);
    try {
      return await change();
    } finally {
      this.next();
    }
  }

  /** Changes waiting now, per party (for status and tests). */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.waiting].map(([party, queue]) => [party, queue.length]));
  }

  private turnOf(party: string): Promise<void> {
    if (this.running === undefined) {
      this.running = party;
      return Promise.resolve();
    }
    const queue = this.waiting.get(party) ?? [];
    if (queue.length >= this.maxWaitingPerParty) return Promise.reject(new ChangesWaitingError(party, queue.length));
    this.waiting.set(party, queue);
    return new Promise((resolve) => queue.push(resolve));
  }

  /** Hands the turn to the first party waiting other than the one that just ran (it goes last), if any. */
  private next(): void {
    const finished = this.running;
    const finishedQueue = finished === undefined ? undefined : this.waiting.get(finished);
    if (finished !== undefined && finishedQueue !== undefined) {
      this.waiting.delete(finished);
      this.waiting.set(finished, finishedQueue);
    }
    const first = this.waiting.entries().next();
    if (first.done) {
      this.running = undefined;
      return;
    }
    const [party, queue] = first.value;
    const resolve = queue.shift();
    this.waiting.delete(party);
    if (queue.length > 0) this.waiting.set(party, queue);
    this.running = party;
    resolve?.();
  }
}
