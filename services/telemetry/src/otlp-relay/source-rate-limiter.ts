export interface RateLimit {
  /** Sustained bytes per second each source may send. */
  bytesPerSecond: number;
  /** What a source that was idle may send at once. At least the largest body the relay accepts. */
  burstBytes: number;
  /** What one request costs beside its body, so a flood of tiny exports is limited too. */
  requestCostBytes: number;
  /** Sources remembered at most (memory bound). */
  maxSources: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per source (a VM's name, or its address when unknown), so one VM exporting flat out cannot take the
 * relay's or Jaeger's capacity from the others. Memory is bounded by `maxSources`: a full bucket is the same as no
 * bucket, so those go first; past that the fullest is forgotten (a drained source is never reset by eviction while a
 * fuller one is held).
 */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes the cost of a `bodyBytes` request from `source`'s bucket: 0 if allowed, else the seconds to wait. */
  take(source: string, bodyBytes: number): number {
    const now = this.now();
    const bucket = this.refill(source, now);
    const cost = bodyBytes + this.limit.requestCostBytes;
    this.buckets.set(source, bucket);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return 0;
    }
    return Math.max(1, Math.ceil((cost - bucket.tokens) / this.limit.bytesPerSecond));
  }

  get size(): number {
    return this.buckets.size;
  }

  private refill(source: string, now: number): Bucket {
    const bucket = this.buckets.get(source);
    if (bucket) {
      bucket.tokens = Math.min(
        this.limit.burstBytes,
        bucket.tokens + ((now - bucket.at) / 1000) * this.limit.bytesPerSecond,
      );
      bucket.at = now;
      return bucket;
    }
    if (this.buckets.size >= this.limit.maxSources) this.evict(now);
    return { tokens: this.limit.burstBytes, at: now };
  }

  private evict(now: number): void {
    let fullest: string | undefined;
    let most = Number.NEGATIVE_INFINITY;
    for (const [source, bucket] of this.buckets) {
      const tokens = bucket.tokens + ((now - bucket.at) / 1000) * this.limit.bytesPerSecond;
      if (tokens >= this.limit.burstBytes) this.buckets.delete(source);
      else if (tokens > most) [fullest, most] = [source, tokens];
    }
    // None idle: forget the one nearest to full, which a fresh bucket wrongs the least.
    if (this.buckets.size >= this.limit.maxSources && fullest !== undefined) this.buckets.delete(fullest);
  }
}
