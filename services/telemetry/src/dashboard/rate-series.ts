/**
 * Per-second rates of cumulative counters over a sliding window, for the dashboard's charts: each sample gives the
 * counters' current totals, and the series keep (total - previous total) / seconds between the two samples. A counter
 * that went down (its service restarted) starts again from its new total, never a negative rate.
 */
export class RateSeries {
  private readonly times: number[] = [];
  private readonly series = new Map<string, number[]>();
  private previous: { at: number; totals: Map<string, number> } | undefined;

  /** Keeps the samples of the last `windowMs`. */
  constructor(private readonly windowMs: number) {}

  /** Adds one sample taken at `at` (epoch ms) of every counter's total. */
  sample(at: number, totals: Map<string, number>): void {
    const previous = this.previous;
    this.previous = { at, totals };
    if (previous === undefined || at <= previous.at) return;
    const seconds = (at - previous.at) / 1000;
    this.times.push(at);
    for (const key of totals.keys()) {
      if (!this.series.has(key)) this.series.set(key, new Array<number>(this.times.length - 1).fill(0));
    }
    for (const [key, values] of this.series) {
      const now = totals.get(key);
      const before = previous.totals.get(key) ?? 0;
      values.push(now === undefined || now < before ? 0 : (now - before) / seconds);
    }
    while (this.times.length > 0 && (this.times[0] ?? at) < at - this.windowMs) {
      this.times.shift();
      for (const values of this.series.values()) values.shift();
    }
    // A series whose counter is gone and that shows nothing but zeros any more is forgotten.
    for (const [key, values] of this.series) {
      if (!totals.has(key) && values.every((value) => value === 0)) this.series.delete(key);
    }
  }

  /** The window: sample times and, per counter, one rate per time. */
  view(): { t: number[]; values: Record<string, number[]> } {
    return {
      t: [...this.times],
      values: Object.fromEntries([...this.series].map(([key, values]) => [key, values.map(round)])),
    };
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
