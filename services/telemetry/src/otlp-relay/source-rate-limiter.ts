export interface RateLimit {
  /** Sustained bytes per second each source may send (its share when the relay is not at its global cap). */
  bytesPerSecond: number;
  /** What a source that was idle may send at once. At least the largest body the relay accepts. */
  burstBytes: number;
  /** What one request costs beside its body, so a flood of tiny exports is limited too. */
  requestCostBytes: number;
  /** Sources remembered at most (memory bound). */
  maxSources: number;
  /** Sustained bytes per second the relay forwards for all sources together (what Jaeger is given at most). */
  globalBytesPerSecond: number;
  /** What all sources together may send at once after a quiet time. At least the largest body the relay accepts. */
  globalBurstBytes: number;
}

interface Bucket {
  tokens: number;
  at: number;
  /** When the source last asked to export (taken or refused): it counts as active for ACTIVE_WINDOW_MS after. */
  lastSeen: number;
  /** Bytes taken lately, decaying with time constant RECENT_MS: over that time (or since `since`), its rate. */
  recent: number;
  since: number;
}

/** A source that exported within this long shares the global cap; one quiet for longer leaves its share to others. */
export const ACTIVE_WINDOW_MS = 1000;
/**
 * How far back the global bucket looks to tell a source under its fair share (it may use the reserve) from one over
 * it: long enough that a VM exporting every few seconds still counts, so a VM flat out cannot drain what it leaves.
 */
export const RECENT_MS = 10_000;

/**
 * A token bucket per source (a VM's name, or its address when unknown), so one VM exporting flat out cannot take the
 * relay's or Jaeger's capacity from the others, and one bucket for all of them together (`globalBytesPerSecond`), so
 * many VMs each within their share cannot together give Jaeger more than it takes beside the services' own spans.
 *
 * The global rate is shared fairly: each source's bucket refills at its fair share, the smaller of its own rate and
 * the global rate divided among the sources active in the last ACTIVE_WINDOW_MS (those that asked to export, taken
 * or refused: a source refused for want of room still has its share kept for it). A source
 * sending more than its fair share runs its own bucket dry and is refused, while a source under it still has tokens;
 * a source that goes quiet stops counting after the window, and its share goes to the others. The shares add up to
 * the global rate at most, so the global bucket only binds when bursts meet; it is the hard bound: over any time T the
 * relay forwards at most `globalBurstBytes + globalBytesPerSecond * T`. Where it binds, a source that took more than
 * an equal share of the global rate over the last RECENT_MS may not take its last half (the reserve): a VM exporting
 * now and then, under its share, is never refused because a VM flat out got to the global tokens first.
 *
 * Memory is bounded by `maxSources`: a full bucket is the same as no bucket, so those go first; past that the fullest
 * is forgotten (a drained source is never reset by eviction while a fuller one is held). Counting the active sources
 * is a pass over at most `maxSources` buckets per export (the lab's VMs: tens), cheap next to the export itself.
 */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly global: { tokens: number; at: number };

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.global = { tokens: limit.globalBurstBytes, at: this.now() };
  }

  /** Takes the cost of a `bodyBytes` request from `source`'s bucket: 0 if allowed, else the seconds to wait. */
  take(source: string, bodyBytes: number): number {
    const now = this.now();
    const share = this.shareOf(source, now);
    const bucket = this.refill(source, now, share);
    this.buckets.set(source, bucket);
    bucket.lastSeen = now;
    const global = this.global;
    global.tokens = Math.min(
      this.limit.globalBurstBytes,
      global.tokens + ((now - global.at) / 1000) * this.limit.globalBytesPerSecond,
    );
    global.at = now;
    const cost = bodyBytes + this.limit.requestCostBytes;
    // A source over its fair share of the last RECENT_MS leaves the reserve to the others.
    const floor = this.overShare(source, bucket, now) ? this.limit.globalBurstBytes / 2 : 0;
    if (bucket.tokens >= cost && global.tokens - cost >= floor) {
      bucket.tokens -= cost;
      bucket.recent += cost;
      global.tokens -= cost;
      return 0;
    }
    const ownWait = (cost - bucket.tokens) / share;
    const globalWait = (cost + floor - global.tokens) / this.limit.globalBytesPerSecond;
    return Math.max(1, Math.ceil(Math.max(ownWait, globalWait)));
  }

  get size(): number {
    return this.buckets.size;
  }

  /** `source`'s fair share now, in bytes per second: its own rate, or less when the global rate is divided. */
  private shareOf(source: string, now: number): number {
    let active = 1; // `source` itself, exporting now
    for (const [other, bucket] of this.buckets) {
      if (other !== source && now - bucket.lastSeen < ACTIVE_WINDOW_MS) active += 1;
    }
    return Math.min(this.limit.bytesPerSecond, this.limit.globalBytesPerSecond / active);
  }

  /** True when `source` took more than an equal share of the global rate among the sources seen in RECENT_MS. */
  private overShare(source: string, bucket: Bucket, now: number): boolean {
    let seen = 1;
    for (const [other, { lastSeen }] of this.buckets) if (other !== source && now - lastSeen < RECENT_MS) seen += 1;
    // A source seen for less than RECENT_MS has its rate taken over the time it has been seen (at least a second).
    const overMs = Math.max(1000, Math.min(RECENT_MS, now - bucket.since));
    return (bucket.recent / overMs) * 1000 > this.limit.globalBytesPerSecond / seen;
  }

  private refill(source: string, now: number, share: number): Bucket {
    const bucket = this.buckets.get(source);
    if (bucket) {
      bucket.recent *= Math.exp(-(now - bucket.at) / RECENT_MS);
      bucket.tokens = Math.min(this.limit.burstBytes, bucket.tokens + ((now - bucket.at) / 1000) * share);
      bucket.at = now;
      return bucket;
    }
    if (this.buckets.size >= this.limit.maxSources) this.evict(now);
    return { tokens: this.limit.burstBytes, at: now, lastSeen: now, recent: 0, since: now };
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
