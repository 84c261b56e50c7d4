/** One frame waiting in a port's impairment queue, and the time (ms, performance.now()) it may leave. */
export interface Held<T> {
  item: T;
  bytes: number;
  due: number;
}

/**
 * A FIFO of held frames whose due times never decrease (the element keeps them so), so the head is always the next to
 * leave: a sorted queue at O(1) per frame, with no timer per frame. An array with a moving head, compacted when the
 * consumed part is the larger half.
 */
export class HeldQueue<T> {
  private items: Held<T>[] = [];
  private head = 0;
  bytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(held: Held<T>): void {
    this.items.push(held);
    this.bytes += held.bytes;
  }

  peek(): Held<T> | undefined {
    return this.items[this.head];
  }

  /** The due time of the last frame queued (the floor for the next one's). */
  lastDue(): number | undefined {
    return this.length > 0 ? this.items[this.items.length - 1].due : undefined;
  }

  /** Removes the frames `drop` picks, keeping the others' order; returns how many it removed. */
  remove(drop: (item: T) => boolean): number {
    const kept = this.items.slice(this.head).filter((held) => !drop(held.item));
    const removed = this.length - kept.length;
    this.items = kept;
    this.head = 0;
    this.bytes = kept.reduce((sum, held) => sum + held.bytes, 0);
    return removed;
  }

  shift(): Held<T> | undefined {
    const held = this.items[this.head];
    if (held === undefined) return undefined;
    this.head += 1;
    this.bytes -= held.bytes;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return held;
  }
}
