/** The newest `capacity` items, oldest first when read: a ring, so keeping one more never copies the rest. */
export class BoundedLog<T> {
  private readonly items: T[] = [];
  /** Where the oldest item is, once the ring is full. */
  private next = 0;

  constructor(private readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError('a log keeps at least one item');
  }

  add(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else {
      this.items[this.next] = item;
      this.next = (this.next + 1) % this.capacity;
    }
  }

  get size(): number {
    return this.items.length;
  }

  /** Every kept item, oldest first. */
  all(): T[] {
    return [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }

  /** The newest `count` items, oldest first. */
  latest(count: number): T[] {
    const all = this.all();
    return all.slice(Math.max(0, all.length - count));
  }
}
