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
}

/**
 * Fair CPU sharing between tenant programs (seed 000, Oko; seed 002's token buckets): one token bucket of
 * processing time per tenant, refilled at `weight / sum(weights)` of `nsPerSecond`, holding at most `burstNs`.
 *
 * The cost of a frame is known only after its program ran, so the dataplane asks `admit` (is the bucket above 0?),
 * runs the program, and `charge`s what it measured; the bucket may go into debt, which a tenant pays off before it
 * runs again, so one expensive frame cannot escape accounting. `tryCharge` is for costs known up front. Shares are
 * guaranteed, not work-conserving: time a tenant leaves unused is not lent to the others (it banks up to the burst).
 */
export class TenantCpuBudget {
  private readonly buckets = new Map<string, CpuBucket>();
  private totalWeight = 0;
  private readonly clock: NanoClock;

  constructor(private readonly options: CpuBudgetOptions) {
    if (!(options.nsPerSecond > 0) || !(options.burstNs > 0)) {
      throw new RangeError('a CPU budget needs a positive rate and burst');
    }
    this.clock = options.clock ?? monotonicClock;
  }

  /** Adds a tenant with a full bucket, or changes its weight (shares of the others change with it). */
  setWeight(tenant: string, weight: number): void {
    if (!(weight > 0) || !Number.isFinite(weight)) throw new RangeError(`weight of ${tenant} must be positive`);
    this.refillAll();
    const bucket = this.buckets.get(tenant);
    if (bucket === undefined) {
      this.buckets.set(tenant, { weight, tokens: this.options.burstNs, last: this.clock() });
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

  /** The budget's clock, in ns: read it once per frame and pass it to `admitAt` and `chargeAt`. */
  now(): number {
    return this.clock();
  }

  /** `admit` for a bucket handle at a time already read from `now()`. */
  admitAt(bucket: CpuBucket, now: number): boolean {
    return this.refillAt(bucket, now) > 0;
  }

  /** `charge` for a bucket handle at a time already read from `now()`. */
  chargeAt(bucket: CpuBucket, costNs: number, now: number): void {
    bucket.tokens = this.refillAt(bucket, now) - costNs;
  }

  /** Whether the tenant may run a frame now. Unknown tenants may not. */
  admit(tenant: string): boolean {
    const bucket = this.buckets.get(tenant);
    return bucket !== undefined && this.refill(bucket) > 0;
  }

  /** Takes `costNs` from the tenant's bucket, into debt if need be (after running a frame `admit` allowed). */
  charge(tenant: string, costNs: number): void {
    const bucket = this.buckets.get(tenant);
    if (bucket !== undefined) bucket.tokens = this.refill(bucket) - costNs;
  }

  /** Takes `costNs` only when the bucket holds it; false (and nothing taken) otherwise. */
  tryCharge(tenant: string, costNs: number): boolean {
    const bucket = this.buckets.get(tenant);
    if (bucket === undefined || this.refill(bucket) < costNs) return false;
    bucket.tokens -= costNs;
    return true;
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

export interface TenantQueueCounters {
  /** Frames that waited in the queue for budget. */
  queued: number;
  /** Frames refused because the tenant was over budget and its queue was full. */
  droppedOverBudget: number;
  /** Frames that ran (at once or from the queue). */
  processed: number;
}

/**
 * Frames of tenants that are over their CPU budget wait here, up to `capacity` per tenant, and are dropped beyond
 * it, so a greedy tenant fills only its own queue. `submit` runs a frame at once when the tenant has budget and
 * nothing waiting (order is kept), `drain` runs waiting frames as budget comes back.
 */
export class TenantFrameQueue<T> {
  private readonly queues = new Map<string, T[]>();
  private readonly counters = new Map<string, TenantQueueCounters>();

  constructor(
    private readonly budget: TenantCpuBudget,
    private readonly capacity: number,
    /** Runs one frame's program; returns what it cost, in ns. */
    private readonly run: (tenant: string, frame: T) => number,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) throw new RangeError('queue capacity must be 0 or more');
  }

  /** 'ran', 'queued' or 'dropped'. */
  submit(tenant: string, frame: T): 'ran' | 'queued' | 'dropped' {
    const queue = this.queueOf(tenant);
    const counters = this.countersOf(tenant);
    if (queue.length === 0 && this.budget.admit(tenant)) {
      this.budget.charge(tenant, this.run(tenant, frame));
      counters.processed++;
      return 'ran';
    }
    if (queue.length >= this.capacity) {
      counters.droppedOverBudget++;
      return 'dropped';
    }
    queue.push(frame);
    counters.queued++;
    return 'queued';
  }

  /** Runs waiting frames, one per tenant in turn, while their budgets allow; returns how many ran. */
  drain(): number {
    let ran = 0;
    let progress = true;
    while (progress) {
      progress = false;
      for (const [tenant, queue] of this.queues) {
        if (queue.length === 0 || !this.budget.admit(tenant)) continue;
        const frame = queue.shift() as T;
        this.budget.charge(tenant, this.run(tenant, frame));
        this.countersOf(tenant).processed++;
        ran++;
        progress = true;
      }
    }
    return ran;
  }

  waiting(tenant: string): number {
    return this.queues.get(tenant)?.length ?? 0;
  }

  stats(tenant: string): Readonly<TenantQueueCounters> {
    return { ...this.countersOf(tenant) };
  }

  private queueOf(tenant: string): T[] {
    let queue = this.queues.get(tenant);
    if (queue === undefined) this.queues.set(tenant, (queue = []));
    return queue;
  }

  private countersOf(tenant: string): TenantQueueCounters {
    let counters = this.counters.get(tenant);
    if (counters === undefined)
      this.counters.set(tenant, (counters = { queued: 0, droppedOverBudget: 0, processed: 0 }));
    return counters;
  }
}
