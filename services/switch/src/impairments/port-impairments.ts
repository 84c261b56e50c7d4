import { type ImpairmentSpec, type ImpairmentView, normalImpairmentSpec } from '@tenantlab/shared';
import type { ChainableCommander } from 'ioredis';
import type { DropReason, SwitchPort } from '../pipeline/switch-port';
import type { Delivery } from '../ports/port-io';
import { HeldTally } from './held-tally';
import { IMPAIRMENT_QUEUE_LIMITS, type ImpairmentQueueLimits, PortImpairment } from './port-impairment';

/** What shaping needs of the data path: the rx room check it applies to every write, and its drop counters. */
export interface ShapeHooks {
  /** Whether `port`'s rx takes one more frame of `bytes` after the frames and bytes already planned for it. */
  hasRoom(port: SwitchPort, planned: { frames: number; bytes: number }, bytes: number): boolean;
  dropped(from: SwitchPort, reason: DropReason): void;
}

/**
 * The data path reaches a due frame late: its wait's timer fires on a millisecond tick, and it reads a round (and, on
 * a busy machine, waits its turn for a core) before it shapes; a frame falling due during a round waits for the next.
 * So it releases frames up to `lead` ms before they are due, and tunes `lead` from what it sees: each frame released
 * moves it by `gain` times that frame's lateness, counted up to `clipMs` either way, so it settles where the clipped
 * lateness averages 0 (a Huber estimate, between the mean and the median of the lateness). Not the median: on a
 * loaded machine the lateness has a long late tail (the machine stalls the switch now and then), which a median
 * ignores, and frames released together share one lateness, so at the receiver the tail moved the p50 latency by
 * 0.2-0.4 ms more than the delay while the median release was on time; a plain mean over-corrected by 0.1-0.2 ms
 * (five loaded runs each of the impairments e2e). Up to `maxMs`: a bound so that a stall (a paused Redis) cannot push
 * the lead without end; it comes back down after.
 */
export const RELEASE_LEAD = { gain: 0.02, clipMs: 0.5, maxMs: 20 } as const;

interface Impaired {
  element: PortImpairment<Delivery>;
  /** The port its frames go to, known once a frame has been offered. */
  port?: SwitchPort;
  /**
   * How early its frames may be released (see RELEASE_LEAD): per port, so one tenant's frames (a burst of them, late
   * together) move only its own port's lead, never another tenant's impairment.
   */
  lead: number;
}

/**
 * The impairments of the switch's ports, by VM, and the one step of the data path they take part in: `shape`, run
 * on a batch's deliveries just before they are written. A port without an impairment is not looked at beyond one map
 * lookup per destination, and with no impairment anywhere `shape` returns at once: the baseline path is untouched.
 * Frames held here were acknowledged at their tx with the batch that read them, so the switch owes them: per sender,
 * how many it holds is kept in memory and (see HeldTally) written with every commit that changes it.
 */
export class PortImpairments {
  private readonly byVm = new Map<string, Impaired>();
  /** Frames of ports whose impairment was removed, to be written, in order, ahead of the port's next frames. */
  private readonly flushing = new Map<string, { port: SwitchPort; frames: Delivery[] }>();
  /** Per sender VM, frames held here (acknowledged at its tx, not yet written to their destination's rx). */
  private readonly heldBySender = new Map<string, number>();
  private readonly changedSenders = new Set<string>();
  /** Senders whose held count was last written as above 0. */
  private readonly tallied = new Set<string>();

  constructor(
    private readonly tally = new HeldTally(),
    private readonly limits: ImpairmentQueueLimits = IMPAIRMENT_QUEUE_LIMITS,
  ) {}

  /** True when some port is impaired or has frames to flush: the data path then shapes its batches. */
  active(): boolean {
    return this.byVm.size > 0 || this.flushing.size > 0;
  }

  has(vm: string): boolean {
    return this.byVm.has(vm);
  }

  /**
   * Gives `vm`'s port `spec` from the next frame on. Frames the previous spec held stay held, with their due times
   * and order; the counts start again.
   */
  set(vm: string, spec: ImpairmentSpec): ImpairmentSpec {
    const element = new PortImpairment<Delivery>(normalImpairmentSpec(spec), this.limits);
    const previous = this.byVm.get(vm);
    if (previous) element.adopt(previous.element.takeAll());
    this.byVm.set(vm, { element, port: previous?.port, lead: previous?.lead ?? 0 });
    return element.spec;
  }

  view(vm: string): ImpairmentView {
    const impaired = this.byVm.get(vm);
    return {
      vm,
      impairment: impaired ? impaired.element.spec : null,
      held: impaired ? impaired.element.held() : { frames: 0, bytes: 0 },
      counts: impaired
        ? { ...impaired.element.counts }
        : { offered: 0, lost: 0, queueFull: 0, reordered: 0, released: 0 },
    };
  }

  /**
   * Removes `vm`'s impairment: what it held is written to the port with the next batch, in order, before any frame
   * that comes after; later frames take the baseline path. Returns how many frames it held.
   */
  clear(vm: string): number {
    const impaired = this.byVm.get(vm);
    if (!impaired) return 0;
    this.byVm.delete(vm);
    const frames = impaired.element.takeAll().map((held) => held.item);
    if (frames.length > 0 && impaired.port) {
      const flushing = this.flushing.get(vm);
      if (flushing) flushing.frames.push(...frames);
      else this.flushing.set(vm, { port: impaired.port, frames });
    }
    return frames.length;
  }

  /**
   * The port was detached (its VM left, or the store restarted empty): frames held for it cannot be delivered and are
   * counted as dropped at their senders. The spec stays, for the VM's port when it is attached again.
   */
  detached(port: SwitchPort, hooks: Pick<ShapeHooks, 'dropped'>): void {
    const impaired = this.byVm.get(port.vm);
    const frames = [
      ...(impaired ? impaired.element.takeAll().map((held) => held.item) : []),
      ...(this.flushing.get(port.vm)?.frames ?? []),
    ];
    this.flushing.delete(port.vm);
    if (impaired) impaired.port = undefined;
    for (const frame of frames) {
      this.count(frame.port, -1);
      hooks.dropped(frame.port, 'impaired-port-detached');
    }
  }

  /**
   * The hook in the data path: takes this batch's frames for impaired ports out of `deliveries` into their
   * impairments (lost ones counted), and puts back what is due at `now` and what removed impairments left to flush,
   * each port's frames in order. Ports it writes to are added to `touched` (their rx lengths are read back). Returns
   * the commands that write the held counts that changed, to run in the batch's commit (undefined: none changed).
   */
  shape(
    deliveries: Map<SwitchPort, Delivery[]>,
    touched: Set<SwitchPort>,
    now: number,
    hooks: ShapeHooks,
  ): ((multi: ChainableCommander) => number) | undefined {
    if (!this.active() && this.changedSenders.size === 0) return undefined;
    for (const [port, frames] of deliveries) {
      const impaired = this.byVm.get(port.vm);
      if (!impaired) continue;
      impaired.port = port;
      deliveries.delete(port);
      for (const frame of frames) {
        const fate = impaired.element.offer(frame, frame.frame.length, now);
        if (fate === 'held') this.count(frame.port, 1);
        else hooks.dropped(frame.port, fate);
      }
    }
    for (const { port, frames } of this.flushing.values()) {
      // Held before this batch's frames, so written before them.
      const own = deliveries.get(port) ?? [];
      deliveries.delete(port);
      this.write(port, frames, deliveries, touched, hooks);
      deliveries.get(port)?.push(...own);
    }
    this.flushing.clear();
    const due: Delivery[] = [];
    for (const impaired of this.byVm.values()) {
      const head = impaired.element.nextDue();
      if (!impaired.port || head === undefined || head > now + impaired.lead) continue;
      const { released, latenessMs } = impaired.element.release(now + impaired.lead, due, now, RELEASE_LEAD.clipMs);
      if (released === 0) continue;
      // `released` steps at once, damped as if the lead had moved after each (1 - (1 - gain)^n, not n × gain), so that a
      // large release cannot overshoot.
      const lead = impaired.lead + (1 - (1 - RELEASE_LEAD.gain) ** released) * (latenessMs / released);
      impaired.lead = Math.min(RELEASE_LEAD.maxMs, Math.max(0, lead));
      this.write(impaired.port, due, deliveries, touched, hooks);
      due.length = 0;
    }
    const changes = this.takeHeldChanges();
    return changes.length > 0 ? (multi) => this.tally.append(multi, changes) : undefined;
  }

  /**
   * Per sender port, tx entries read again after a commit that did not apply: the frames of theirs that batch's
   * shaping held are taken back (the entries are decided again, and their frames offered again; held twice, they
   * would be delivered twice). Returns how many frames it took back.
   */
  returned(entries: ReadonlyMap<SwitchPort, ReadonlySet<string>>): number {
    let removed = 0;
    for (const { element } of this.byVm.values()) {
      removed += element.remove(({ port: from, id }) => {
        const gone = id !== undefined && entries.get(from)?.has(id) === true;
        if (gone) this.count(from, -1);
        return gone;
      });
    }
    return removed;
  }

  /** Milliseconds until the next held frame falls due (0: now), or undefined when nothing is held. */
  nextDueIn(now: number): number | undefined {
    if (this.flushing.size > 0) return 0;
    let next: number | undefined;
    for (const { element, port, lead } of this.byVm.values()) {
      const due = port ? element.nextDue() : undefined;
      if (due !== undefined && (next === undefined || due - lead < next)) next = due - lead;
    }
    return next === undefined ? undefined : Math.max(0, next - now);
  }

  /** Senders whose held count changed since the last call, with the count now (0: none held). */
  private takeHeldChanges(): [string, number][] {
    const changes = [...this.changedSenders].map((vm): [string, number] => [vm, this.heldBySender.get(vm) ?? 0]);
    this.changedSenders.clear();
    for (const [vm, held] of changes) {
      if (held > 0) this.tallied.add(vm);
      else this.tallied.delete(vm);
    }
    return changes;
  }

  /** A commit got no reply: whether its held counts were written is unknown, so the next one writes them all. */
  heldChangesInDoubt(): void {
    for (const vm of this.tallied) this.changedSenders.add(vm);
    for (const vm of this.heldBySender.keys()) this.changedSenders.add(vm);
  }

  /**
   * Per impaired VM: its spec, what it holds and its counts; and the largest of the ports' release leads now (for GET
   * /dataplane).
   */
  snapshot(): { releaseLeadMs: number; ports: Record<string, Omit<ImpairmentView, 'vm'>> } {
    const lead = Math.max(0, ...[...this.byVm.values()].map((impaired) => impaired.lead));
    return {
      releaseLeadMs: Math.round(lead * 1000) / 1000,
      ports: Object.fromEntries(
        [...this.byVm.keys()].map((vm) => {
          const { impairment, held, counts } = this.view(vm);
          return [vm, { impairment, held, counts }];
        }),
      ),
    };
  }

  /** Appends `frames` to `port`'s writes of this batch, each checked for rx room as every write is. */
  private write(
    port: SwitchPort,
    frames: readonly Delivery[],
    deliveries: Map<SwitchPort, Delivery[]>,
    touched: Set<SwitchPort>,
    hooks: ShapeHooks,
  ): void {
    let planned = deliveries.get(port);
    if (!planned) deliveries.set(port, (planned = []));
    touched.add(port);
    let bytes = planned.reduce((sum, delivery) => sum + delivery.frame.length, 0);
    for (const frame of frames) {
      this.count(frame.port, -1);
      if (hooks.hasRoom(port, { frames: planned.length, bytes }, frame.frame.length)) {
        planned.push(frame);
        bytes += frame.frame.length;
      } else hooks.dropped(frame.port, 'rx-full');
    }
  }

  private count(from: SwitchPort, delta: number): void {
    const held = (this.heldBySender.get(from.vm) ?? 0) + delta;
    if (held === 0) this.heldBySender.delete(from.vm);
    else this.heldBySender.set(from.vm, held);
    this.changedSenders.add(from.vm);
  }
}
