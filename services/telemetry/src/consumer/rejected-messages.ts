export interface RejectedSummary {
  count: number;
  /** The most recent reasons, newest last, so garbage on a topic can be diagnosed. */
  recent: { at: string; partition: number; offset: string; reason: string }[];
}

const RECENT_REJECTIONS = 20;

/** Messages a consumer refused: how many, and the latest reasons. */
export class RejectedMessages {
  private readonly summary: RejectedSummary = { count: 0, recent: [] };

  add(partition: number, offset: string, reason: string): void {
    this.summary.count += 1;
    this.summary.recent.push({ at: new Date().toISOString(), partition, offset, reason });
    if (this.summary.recent.length > RECENT_REJECTIONS) this.summary.recent.shift();
  }

  snapshot(): RejectedSummary {
    return { count: this.summary.count, recent: [...this.summary.recent] };
  }
}
