import { PORT_KEYS, PORT_LEDGER_FIELD, type PortLedger } from '@tenantlab/shared';
import type { Redis } from 'ioredis';

/** One VM's port in the current store generation, as the switch counted it. */
interface Generation {
  /** Ended generations so far. */
  ended: number;
  /** Frames of distinct tx entries read (an entry read again after a failed commit counts once), and the highest id read. */
  consumed: number;
  highestId: string;
  /** Of those, frames of entries acknowledged by a commit (forwarded or dropped), each entry once. */
  settled: number;
  /**
   * Entries read and not settled yet, with their frames. A commit without a reply settles its batch, and the entries
   * it did not apply are read again and settled by their retry: counted from this map, an entry settles once.
   */
  outstanding: Map<string, number>;
  /** rx writes confirmed, and rx writes whose commit got no reply. */
  delivered: number;
  inDoubt: number;
  /** The store loss ended the generation, and its tx group has not been made anew by the switch since. */
  endedByLoss?: boolean;
  /** The tx side of the generation that ended, waiting for its ledger entry to be written (with the rx side). */
  due?: { consumed: number; settled: number; highestId: string; outstanding: Map<string, number> };
  /**
   * The entry waits for the VM's port to be attached again in the new store: the operator deletes and re-creates a
   * VM's keys (rx included) when it registers again, so an entry written before would be wiped unread.
   */
  held?: boolean;
  last?: PortLedger;
}

/**
 * What the switch knows, in its own memory, about frames it took from and gave to the store, per VM port and store
 * generation (issue 10: a Redis that restarts empty loses every frame it held, uncounted, unless both ends keep
 * counts). A port's generation ends when the switch has to make its tx stream's group again (`txRecreated`, from
 * the port directory): the tx counts are closed there, since every entry read before came from the lost stream. The
 * rx counts are closed when the ledger entry is written (`flush`, called by the data path between batches, when no
 * commit is in flight), so "delivered before the entry" means before it in the rx stream, which is how the VM reads.
 * A switch that restarts finds the groups still there and ends no generation: its exactly-once path is unchanged.
 */
export class StoreLedger {
  private readonly byVm = new Map<string, Generation>();
  /** VMs whose port the switch served when the store was lost, and not yet made again, with when it was lost. */
  private awaiting = new Set<string>();
  private lostAt = 0;
  /** Counts store losses: a port scan that began before the latest loss says nothing of the new store. */
  private losses = 0;

  /**
   * The store was lost (Redis answers as another server): until each of `vms` has its port made again and its ledger
   * entry written, the switch has not converged. A VM that does not come back within `giveUpMs` stops counting (it
   * may have been deleted meanwhile).
   */
  storeLost(vms: readonly string[], now = Date.now()): void {
    this.awaiting = new Set(vms);
    this.lostAt = now;
    this.losses += 1;
    // Every tx stream went with the store. Its group is not always made anew by the switch (the operator makes it
    // when a VM registers), so the loss itself ends each port's generation.
    for (const generation of this.byVm.values()) {
      endTx(generation);
      generation.endedByLoss = true;
      generation.held = true;
    }
  }

  /** Pass to `attached`: which store the port scan about to begin sees. */
  scanEpoch(): number {
    return this.losses;
  }

  /**
   * A port scan begun at `epoch` found these VMs registered with their keys in place (tx group and rx made by the
   * operator at registration), so their ports are attached again in the current store and their entries may be
   * written. A scan begun before the latest loss is ignored.
   */
  attached(vms: readonly string[], epoch = this.losses): void {
    if (epoch !== this.losses) return;
    for (const vm of vms) {
      this.awaiting.delete(vm);
      const generation = this.byVm.get(vm);
      if (generation) generation.held = false;
    }
  }

  /** VMs whose entry waits for their port to be attached again. */
  held(): string[] {
    return [...this.byVm].filter(([, g]) => g.due && g.held).map(([vm]) => vm);
  }

  /** Why the switch has not converged after a store loss; empty when it has. */
  degradedReasons(giveUpMs: number, now = Date.now()): string[] {
    if (this.awaiting.size > 0 && now - this.lostAt > giveUpMs) this.awaiting.clear();
    // A VM not back by then may be gone: its held entry is dropped (writing it would make a key nobody owns).
    if (now - this.lostAt > giveUpMs) {
      for (const generation of this.byVm.values()) {
        if (generation.due && generation.held) {
          generation.due = undefined;
          generation.held = false;
        }
      }
    }
    const reasons: string[] = [];
    if (this.awaiting.size > 0) {
      reasons.push(`Redis restarted empty; ports not attached again yet: ${[...this.awaiting].sort().join(', ')}`);
    }
    const due = [...this.byVm].filter(([, g]) => g.due).map(([vm]) => vm);
    if (due.length > 0) reasons.push(`store ledger entries not yet written for: ${due.sort().join(', ')}`);
    return reasons;
  }

  /** `vm`'s tx group had to be made: a new stream, so the store lost the old one (or the port is new). */
  txRecreated(vm: string): void {
    const generation = this.byVm.get(vm);
    if (!generation) {
      this.byVm.set(vm, fresh());
      return;
    }
    // The store loss already ended this generation, and nothing of the new stream was read since: the same end.
    const sameLoss = generation.endedByLoss && generation.consumed === 0;
    generation.endedByLoss = false;
    if (!sameLoss) endTx(generation);
  }

  /**
   * Counts the `frames` of an entry read from `vm`'s tx (the ledger counts frames, an entry may carry many). Ids only
   * grow in a stream, so an id at or below the highest is a re-read.
   */
  read(vm: string, id: string, frames = 1): void {
    const generation = this.generationOf(vm);
    if (compareStreamIds(id, generation.highestId) <= 0) return;
    generation.highestId = id;
    generation.consumed += frames;
    generation.outstanding.set(id, frames);
  }

  /**
   * Entries of `vm`'s tx acknowledged by a commit (confirmed, or without a reply), each settling the frames it was read
   * with; one settled before is not again.
   */
  settled(vm: string, ids: readonly string[]): void {
    const generation = this.generationOf(vm);
    for (const id of ids) {
      // A commit that replied after the generation ended settles entries of the ended one.
      const due = generation.due?.outstanding.get(id);
      if (due !== undefined && generation.due) {
        generation.due.outstanding.delete(id);
        generation.due.settled += due;
        continue;
      }
      const current = generation.outstanding.get(id);
      if (current === undefined) continue;
      generation.outstanding.delete(id);
      generation.settled += current;
    }
  }

  delivered(vm: string, frames: number): void {
    this.generationOf(vm).delivered += frames;
  }

  /** rx writes of a commit that got no reply: Redis may or may not hold them. */
  inDoubt(vm: string, frames: number): void {
    this.generationOf(vm).inDoubt += frames;
  }

  /** True when some port's ledger entry can be written (its port is attached again). */
  pending(): boolean {
    for (const generation of this.byVm.values()) if (generation.due && !generation.held) return true;
    return false;
  }

  /**
   * Writes every ledger entry whose port is attached again to its rx; throws (keeping them waiting) when Redis does
   * not take them. Held entries stay waiting.
   */
  async flush(redis: Redis): Promise<void> {
    for (const [vm, generation] of this.byVm) {
      const { due } = generation;
      if (!due || generation.held) continue;
      const ledger: PortLedger = {
        generation: generation.ended + 1,
        consumed: due.consumed,
        unsettled: Math.max(0, due.consumed - due.settled),
        delivered: generation.delivered,
        inDoubt: generation.inDoubt,
      };
      await redis.xadd(PORT_KEYS.rx(vm), '*', PORT_LEDGER_FIELD, JSON.stringify(ledger));
      // No commit runs during a flush, so nothing was delivered between reading the counts and the entry.
      generation.ended += 1;
      generation.delivered = 0;
      generation.inDoubt = 0;
      generation.due = undefined;
      generation.last = ledger;
    }
  }

  /** Per VM: the current generation's counts and the last ledger entry written, for `GET /dataplane`. */
  snapshot(): Record<string, unknown> {
    return Object.fromEntries(
      [...this.byVm].map(([vm, g]) => [
        vm,
        {
          generation: g.ended + 1,
          consumed: g.consumed,
          settled: g.settled,
          delivered: g.delivered,
          inDoubt: g.inDoubt,
          ...(g.due ? { ledgerDue: true } : {}),
          ...(g.due && g.held ? { ledgerHeld: true } : {}),
          ...(g.last ? { lastLedger: g.last } : {}),
        },
      ]),
    );
  }

  private generationOf(vm: string): Generation {
    let generation = this.byVm.get(vm);
    if (!generation) this.byVm.set(vm, (generation = fresh()));
    return generation;
  }
}

/** Closes the tx counts of `generation`'s current store generation; its ledger entry is due. */
function endTx(generation: Generation): void {
  const { consumed, settled, highestId, outstanding, due } = generation;
  // Lost twice before the entry could be written: one entry accounts for both.
  generation.due = due
    ? {
        consumed: due.consumed + consumed,
        settled: due.settled + settled,
        highestId: compareStreamIds(highestId, due.highestId) > 0 ? highestId : due.highestId,
        outstanding: new Map([...due.outstanding, ...outstanding]),
      }
    : { consumed, settled, highestId, outstanding };
  generation.consumed = 0;
  generation.settled = 0;
  generation.highestId = '0-0';
  generation.outstanding = new Map();
}

function fresh(): Generation {
  return { ended: 0, consumed: 0, highestId: '0-0', settled: 0, outstanding: new Map(), delivered: 0, inDoubt: 0 };
}

/** Orders two stream ids (`ms-seq`) numerically. */
export function compareStreamIds(a: string, b: string): number {
  // Numbers, not BigInts: this runs per frame read, and milliseconds and sequences stay far below 2^53 here.
  const aDash = a.indexOf('-');
  const bDash = b.indexOf('-');
  const byMs = Number(a.slice(0, aDash)) - Number(b.slice(0, bDash));
  return byMs !== 0 ? Math.sign(byMs) : Math.sign(Number(a.slice(aDash + 1)) - Number(b.slice(bDash + 1)));
}
