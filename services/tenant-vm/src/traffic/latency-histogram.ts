/** Values below this are counted exactly (1 µs buckets); above, in 64 buckets per power of two (1.6% apart). */
const EXACT_LIMIT = 1024;
const SUB_BUCKET_BITS = 6;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS;
const EXACT_BITS = 10;
/** Enough buckets for any uint32. */
const BUCKETS = EXACT_LIMIT + (32 - EXACT_BITS) * SUB_BUCKETS;

/**
 * Latency samples in µs as a log-linear histogram (the HdrHistogram idea): constant memory however many frames
 * arrive, percentiles within 1.6%, exact below 1 ms.
 */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;

  record(micros: number): void {
    this.counts[bucketOf(Math.max(0, Math.floor(micros)))] += 1;
    this.count += 1;
  }

  /** The value at quantile `q` (0-1): the lower bound of its bucket; null without samples. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket];
      if (seen >= rank) return lowerBound(bucket);
    }
    return lowerBound(BUCKETS - 1);
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
  }
}

function bucketOf(value: number): number {
  if (value < EXACT_LIMIT) return value;
  const clamped = Math.min(value, 0xffffffff);
  const power = 31 - Math.clz32(clamped);
  const sub = (clamped >>> (power - SUB_BUCKET_BITS)) & (SUB_BUCKETS - 1);
  return EXACT_LIMIT + (power - EXACT_BITS) * SUB_BUCKETS + sub;
}

function lowerBound(bucket: number): number {
  if (bucket < EXACT_LIMIT) return bucket;
  const power = EXACT_BITS + Math.floor((bucket - EXACT_LIMIT) / SUB_BUCKETS);
  const sub = (bucket - EXACT_LIMIT) % SUB_BUCKETS;
  return (SUB_BUCKETS + sub) * 2 ** (power - SUB_BUCKET_BITS);
}
