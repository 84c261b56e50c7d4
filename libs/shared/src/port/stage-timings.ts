import { performance } from 'node:perf_hooks';

/**
 * Where a frame's time goes on the packet path (issue 11), as one histogram per stage: fixed log buckets (bucket i
 * counts durations up to 2^i µs, the last one everything longer), a count and an exact sum, so recording is a few
 * integer operations and a mean is exact. Readers of several processes' snapshots subtract an earlier snapshot of
 * the same histograms to get one run's figures.
 */

/** Buckets: up to 1 µs, 2 µs, 4 µs, ... 2^22 µs (about 4 s), and a last one for longer. */
export const STAGE_BUCKETS = 24;

/** One stage's histogram as `GET /dataplane` and `GET /vnic` show it. */
export interface StageSnapshot {
  count: number;
  /** Sum of the durations, µs. */
  sumUs: number;
  meanUs: number;
  /** Upper bounds of the buckets the median and the 99th percentile fall in, µs. */
  p50Us: number;
  p99Us: number;
  /** Counts per bucket; bucket i holds durations up to 2^i µs, the last one everything longer. */
  buckets: number[];
}

/** Now, as µs since the epoch, comparable between processes on one machine (stamped into stream entries). */
export function epochMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

class StageHistogram {
  count = 0;
  sumUs = 0;
  readonly buckets = new Array<number>(STAGE_BUCKETS).fill(0);

  record(us: number, times: number): void {
    const value = us > 0 ? us : 0;
    this.count += times;
    this.sumUs += value * times;
    const bucket = value <= 1 ? 0 : Math.min(STAGE_BUCKETS - 1, Math.ceil(Math.log2(value)));
    this.buckets[bucket] += times;
  }

  snapshot(): StageSnapshot {
    return {
      count: this.count,
      sumUs: Math.round(this.sumUs),
      meanUs: this.count === 0 ? 0 : Math.round((this.sumUs / this.count) * 10) / 10,
      p50Us: this.quantile(0.5),
      p99Us: this.quantile(0.99),
      buckets: [...this.buckets],
    };
  }

  private quantile(q: number): number {
    if (this.count === 0) return 0;
    let seen = 0;
    for (let i = 0; i < STAGE_BUCKETS; i++) {
      seen += this.buckets[i];
      if (seen >= q * this.count) return 2 ** i;
    }
    return 2 ** (STAGE_BUCKETS - 1);
  }
}

/** The histograms of a fixed set of stages. */
export class StageTimings<S extends string> {
  private readonly stages = new Map<S, StageHistogram>();

  constructor(names: readonly S[]) {
    for (const name of names) this.stages.set(name, new StageHistogram());
  }

  /** Records `us` for `times` frames at once (a batch's frames share a duration). */
  record(stage: S, us: number, times = 1): void {
    if (times > 0 && Number.isFinite(us)) this.stages.get(stage)?.record(us, times);
  }

  snapshot(): Record<S, StageSnapshot> {
    return Object.fromEntries([...this.stages].map(([name, h]) => [name, h.snapshot()])) as Record<S, StageSnapshot>;
  }
}
