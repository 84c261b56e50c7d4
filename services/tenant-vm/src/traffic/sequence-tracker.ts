/** How far back a late frame can still be told apart from a duplicate. */
export const REORDER_WINDOW = 1024;

export interface SequenceCounts {
  received: number;
  /** Arrived after a later sequence number, filling a gap. */
  outOfOrder: number;
  /** A sequence number already seen (or one too far behind to tell: see REORDER_WINDOW). */
  duplicates: number;
  /** Sequence numbers skipped and not (yet) arrived: lost, or still to come out of order. */
  gaps: number;
}

/**
 * The arrival order of one flow's sequence numbers. Which of the last REORDER_WINDOW numbers arrived is kept as a
 * bitmap (the anti-replay window of IPsec, RFC 4303), so a late frame fills its gap and a repeated one is a
 * duplicate. The first number seen is the baseline: a receiver reset mid-run does not count what came before as lost.
 */
export class SequenceTracker implements SequenceCounts {
  received = 0;
  outOfOrder = 0;
  duplicates = 0;
  gaps = 0;
  private highest = -1;
  /** The first number seen: one below it fills no counted gap. */
  private baseline = -1;
  private readonly seen = new Uint32Array(REORDER_WINDOW / 32);

  record(seq: number): void {
    this.received += 1;
    if (this.highest < 0) {
      this.highest = seq;
      this.baseline = seq;
      this.mark(seq);
      return;
    }
    if (seq > this.highest) {
      this.gaps += seq - this.highest - 1;
      // Slots that now stand for numbers after the old highest start unseen.
      const cleared = Math.min(seq - this.highest, REORDER_WINDOW);
      for (let s = seq - cleared + 1; s <= seq; s++) this.unmark(s);
      this.highest = seq;
      this.mark(seq);
      return;
    }
    if (this.highest - seq >= REORDER_WINDOW || this.isMarked(seq)) {
      this.duplicates += 1;
      return;
    }
    this.mark(seq);
    this.outOfOrder += 1;
    if (seq > this.baseline) this.gaps -= 1;
  }

  counts(): SequenceCounts {
    return { received: this.received, outOfOrder: this.outOfOrder, duplicates: this.duplicates, gaps: this.gaps };
  }

  private mark(seq: number): void {
    const slot = seq % REORDER_WINDOW;
    this.seen[slot >>> 5] |= 1 << (slot & 31);
  }

  private unmark(seq: number): void {
    const slot = seq % REORDER_WINDOW;
    this.seen[slot >>> 5] &= ~(1 << (slot & 31));
  }

  private isMarked(seq: number): boolean {
    const slot = seq % REORDER_WINDOW;
    return (this.seen[slot >>> 5] & (1 << (slot & 31))) !== 0;
  }
}
