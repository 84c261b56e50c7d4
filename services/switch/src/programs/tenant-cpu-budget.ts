/** Nanoseconds since some fixed point; inject a fake one in tests. */
export type NanoClock = () => number;

/** performance.now() in ns: a double, so reading it allocates nothing (process.hrtime.bigint() would, per frame). */
export const monotonicClock: NanoClock = () => performance.now() * 1e6;

export interface CpuBudgetOptions {
  /** Processing time handed out per second of wall-clock time, over all tenants (1e9 = one core). */
  readonly nsPerSecond: number;
  /** Most time a tenant can bank while idle, in ns: how long a burst it may run at once. */
  readonly burstNs: number;
  readonly clock?: NanoClock;
}

/** One tenant's bucket; the pipeline keeps the handle so the per-frame path needs no lookup by name. */
export interface CpuBucket {
  weight: number;
  tokens: number;
  last: number;
  /** Processing time charged to the tenant since its bucket was made, in ns: what its programs used. */
  chargedNs: number;
  /** Set when a charge emptied the bucket: the tenant runs again once it holds `resumeNs` (see TenantCpuBudget). */
  resting: boolean;
}

/**
 * The most a tenant in debt must earn back before it runs again (half the burst when that is less): long enough a run
 * that the cold start of its first frame (measured at 20-50 µs on a loaded machine, against 1-3 µs per frame after
 * it) is a small part of what the run is charged.
 */
export const MAX_RESUME_NS = 100_000;

/**
 * Fair CPU sharing between tenant programs (seed 000, Oko; seed 002's token buckets): one token bucket of
 * processing time per tenant, refilled at `weight / sum(weights)` of `nsPerSecond`, holding at most `burstNs`.
 *
 * The cost of a frame is known only after its program ran, so the dataplane asks `admit` (is the bucket above 0?),
 * runs the program, and `charge`s what it measured; the bucket may go into debt, which a tenant pays off before it
 * runs again, so one expensive frame cannot escape accounting. A tenant whose bucket a charge emptied runs again
 * only once it holds `min(burstNs / 2, MAX_RESUME_NS)`, and then runs its waiting frames back to back: readmitted as
 * soon as the bucket crossed 0, it would run one frame per batch, each after the switch's I/O and other tenants'
 * work, so each would start with the program cold in the CPU's caches and be charged 10-30 times what a frame run
 * after another is (measured on this machine: 20-60 µs against 1-3 µs), and a throttled tenant would starve on time
 * its frames took only because the throttle ran them one at a time. Shares are
 * guaranteed, not work-conserving: time a tenant leaves unused is not lent to the others (it banks up to the burst).
 */
export class TenantCpuBudget {
  private readonly buckets = new Map<string, CpuBucket>();
  private totalWeight = 0;
  private readonly clock: NanoClock;
  /** What an emptied bucket must hold again before its tenant runs (see MAX_RESUME_NS). */
  private readonly resumeNs: number;

  constructor(private readonly options: CpuBudgetOptions) {
    if (!(options.nsPerSecond > 0) || !(options.burstNs > 0)) {
      throw new RangeError('a CPU budget needs a positive rate and burst');
    }
    this.clock = options.clock ?? monotonicClock;
    // Half the burst at most: a tenant waiting for its turn with more than it needs to resume still banks what it
    // earns meanwhile, up to the burst, instead of losing it to the cap.
    this.resumeNs = Math.min(options.burstNs / 2, MAX_RESUME_NS);
  }

  /** Adds a tenant with a full bucket, or changes its weight (shares of the others change with it). */
  setWeight(tenant: string, weight: number): void {
    if (!(weight > 0) || !Number.isFinite(weight)) throw new RangeError(`weight of ${tenant} must be positive`);
    this.refillAll();
    const bucket = this.buckets.get(tenant);
    if (bucket === undefined) {
      const fresh = { weight, tokens: this.options.burstNs, last: this.clock(), chargedNs: 0, resting: false };
      this.buckets.set(tenant, fresh);
    } else {
      this.totalWeight -= bucket.weight;
      bucket.weight = weight;
    }
    this.totalWeight += weight;
  }

  removeTenant(tenant: string): void {
    const bucket = this.buckets.get(tenant);
    if (bucket === undefined) return;
    this.refillAll();
    this.totalWeight -= bucket.weight;
    this.buckets.delete(tenant);
  }

  /** The tenant's bucket (undefined for a tenant without a weight); valid until the tenant is removed. */
  bucketOf(tenant: string): CpuBucket | undefined {
    return this.buckets.get(tenant);
  }

  /** The budget's clock, in ns: read it once per frame and pass it to `admit` and `charge`. */
  now(): number {
    return this.clock();
  }

  /**
   * Whether the bucket's tenant may run a frame at `now` (read from `now()`): while the bucket holds anything, or,
   * once a charge emptied it, when it holds `resumeNs` again.
   */
  admit(bucket: CpuBucket, now: number): boolean {
    const tokens = this.refillAt(bucket, now);
    if (!bucket.resting) return tokens > 0;
    if (tokens < this.resumeNs) return false;
    bucket.resting = false;
    return true;
  }

  /** Takes `costNs` from the bucket at `now`, into debt if need be (after running a frame `admit` allowed). */
  charge(bucket: CpuBucket, costNs: number, now: number): void {
    bucket.tokens = this.refillAt(bucket, now) - costNs;
    bucket.chargedNs += costNs;
    if (bucket.tokens <= 0) bucket.resting = true;
  }

  /** Time in the tenant's bucket now, in ns (negative while in debt). */
  tokens(tenant: string): number {
    const bucket = this.buckets.get(tenant);
    return bucket === undefined ? 0 : this.refill(bucket);
  }

  private refill(bucket: CpuBucket): number {
    return this.refillAt(bucket, this.clock());
  }

  private refillAt(bucket: CpuBucket, now: number): number {
    const elapsed = now - bucket.last;
    bucket.last = now;
    // Stryker disable next-line EqualityOperator: at elapsed = 0 the refill adds nothing, so > and >= agree
    if (elapsed > 0) {
      const rate = (this.options.nsPerSecond / 1e9) * (bucket.weight / this.totalWeight);
      bucket.tokens = Math.min(this.options.burstNs, bucket.tokens + elapsed * rate);
    }
    return bucket.tokens;
  }

  /** Before the weights change: what was earned so far is earned at the old shares. */
  private refillAll(): void {
    for (const bucket of this.buckets.values()) this.refill(bucket);
  }
}
