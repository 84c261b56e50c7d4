import type { ImpairmentSpec } from '@tenantlab/shared';
import { type Held, HeldQueue } from './held-queue';
import { SeededRandom } from './seeded-random';

/** How much one port's impairment may hold: beyond it a frame is dropped as `impaired-queue-full`. */
export interface ImpairmentQueueLimits {
  frames: number;
  bytes: number;
}

/**
 * Per port: 65 536 frames (the longest delay, 10 s, at 6.5 kframes/s) or 64 MiB, whichever fills first. Bounded so a
 * slow rate or a long delay under a flood costs counted drops, not the switch's memory.
 */
export const IMPAIRMENT_QUEUE_LIMITS: ImpairmentQueueLimits = { frames: 65_536, bytes: 64 * 1024 * 1024 };

/** A frame drawn to be reordered waits this long past its due time for a frame to swap with; then it leaves alone. */
export const REORDER_WAIT_MS = 10;

/** The seed when the spec gives none: fixed, so an unseeded impairment still repeats run after run. */
export const DEFAULT_IMPAIRMENT_SEED = 1;

/** What became of an offered frame: held (to leave when due) or dropped, under the reason the switch counts. */
export type ImpairmentFate = 'held' | 'impaired-loss' | 'impaired-queue-full';

export interface ImpairmentCounts {
  offered: number;
  lost: number;
  queueFull: number;
  reordered: number;
  released: number;
}

/**
 * One port's impairment, as an element of the packet path (Click's spirit, seed 002): frames bound for the port go in
 * with the time they were read, and leave when due. Per frame, in this order: loss (a draw), jitter (a draw), then
 * reordering (a draw). Due times never decrease, so frames keep their order (as netem's with a rate or a FIFO child)
 * unless drawn for reordering, which swaps a frame with the one after it; a rate spaces departures 1/rate apart. Every
 * draw comes from the spec's seed: the same seed, frames and times give the same fates. Time is the caller's
 * (milliseconds, monotonic), so the element runs under test without a clock.
 */
export class PortImpairment<T> {
  readonly counts: ImpairmentCounts = { offered: 0, lost: 0, queueFull: 0, reordered: 0, released: 0 };
  private readonly random: SeededRandom;
  private readonly queue = new HeldQueue<T>();
  /** A frame drawn for reordering, waiting to go after the next frame. */
  private swapped: Held<T> | undefined;
  private readonly spacingMs: number;
  private lastDue = -Infinity;

  constructor(
    readonly spec: ImpairmentSpec,
    private readonly limits: ImpairmentQueueLimits = IMPAIRMENT_QUEUE_LIMITS,
  ) {
    this.random = new SeededRandom(spec.seed ?? DEFAULT_IMPAIRMENT_SEED);
    this.spacingMs = spec.rateFramesPerSecond ? 1000 / spec.rateFramesPerSecond : 0;
  }

  /** Frames and bytes held now. */
  held(): { frames: number; bytes: number } {
    return {
      frames: this.queue.length + (this.swapped ? 1 : 0),
      bytes: this.queue.bytes + (this.swapped?.bytes ?? 0),
    };
  }

  offer(item: T, bytes: number, now: number): ImpairmentFate {
    this.counts.offered += 1;
    const { lossRate, jitterMs, reorderRate, delayMs } = this.spec;
    if (lossRate && this.random.next() < lossRate) {
      this.counts.lost += 1;
      return 'impaired-loss';
    }
    const { frames, bytes: heldBytes } = this.held();
    if (frames + 1 > this.limits.frames || heldBytes + bytes > this.limits.bytes) {
      this.counts.queueFull += 1;
      return 'impaired-queue-full';
    }
    let due = now + (delayMs ?? 0);
    if (jitterMs) due = Math.max(now, due + (this.random.next() * 2 - 1) * jitterMs);
    const held: Held<T> = { item, bytes, due };
    const swapped = this.swapped;
    if (swapped) {
      // The frame drawn before this one leaves right after it.
      this.swapped = undefined;
      this.place(held);
      this.place(swapped);
    } else if (reorderRate && this.random.next() < reorderRate) {
      this.counts.reordered += 1;
      this.swapped = held;
    } else {
      this.place(held);
    }
    return 'held';
  }

  /**
   * Appends to `out`, in order, every frame due by `until`. Returns how many, and the sum of their lateness at `now`
   * (ms, negative for a frame due after `now`: `until` may run ahead of the clock, see PortImpairments' release lead),
   * each frame's clipped to ±`clipMs`.
   */
  release(until: number, out: T[], now = until, clipMs = Infinity): { released: number; latenessMs: number } {
    if (this.swapped && until >= this.swapped.due + REORDER_WAIT_MS) {
      this.place(this.swapped);
      this.swapped = undefined;
    }
    let released = 0;
    let latenessMs = 0;
    for (let head = this.queue.peek(); head !== undefined && head.due <= until; head = this.queue.peek()) {
      out.push(head.item);
      latenessMs += Math.max(-clipMs, Math.min(clipMs, now - head.due));
      this.queue.shift();
      released += 1;
    }
    this.counts.released += released;
    return { released, latenessMs };
  }

  /** When the next frame falls due (ms), or undefined when nothing is held. */
  nextDue(): number | undefined {
    const head = this.queue.peek()?.due;
    const swapped = this.swapped ? this.swapped.due + REORDER_WAIT_MS : undefined;
    if (head === undefined) return swapped;
    return swapped === undefined ? head : Math.min(head, swapped);
  }

  /** Takes every held frame, in the order they would have left, with their due times (the element is then empty). */
  takeAll(): Held<T>[] {
    if (this.swapped) {
      this.place(this.swapped);
      this.swapped = undefined;
    }
    const all: Held<T>[] = [];
    for (let held = this.queue.shift(); held !== undefined; held = this.queue.shift()) all.push(held);
    return all;
  }

  /**
   * Takes back the held frames `drop` picks, as if never offered (their entry is read and decided again); returns
   * how many. Rare (after a commit that did not apply), so a pass over what is held.
   */
  remove(drop: (item: T) => boolean): number {
    let removed = this.queue.remove(drop);
    if (this.swapped && drop(this.swapped.item)) {
      this.swapped = undefined;
      removed += 1;
    }
    this.counts.offered -= removed;
    return removed;
  }

  /** Holds frames another element held (a spec replaced), keeping their order and due times. */
  adopt(held: readonly Held<T>[]): void {
    for (const frame of held) {
      this.queue.push(frame);
      this.lastDue = Math.max(this.lastDue, frame.due);
    }
  }

  /** Queues a frame no earlier than the one before it, and a rate's spacing after it. */
  private place(held: Held<T>): void {
    held.due = Math.max(held.due, this.lastDue + this.spacingMs);
    this.lastDue = held.due;
    this.queue.push(held);
  }
}
