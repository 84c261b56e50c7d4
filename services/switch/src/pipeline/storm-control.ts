/** Milliseconds since some fixed point; tests pass a fake one. */
export type MillisecondClock = () => number;

export interface StormControlOptions {
  /** Flood copies each tenant may make per second. */
  readonly copiesPerSecond: number;
  /** Most copies a tenant banks while it floods less: the burst it may flood at once. */
  readonly burstCopies: number;
  readonly clock?: MillisecondClock;
}

interface FloodBucket {
  tokens: number;
  last: number;
}

/**
 * Storm control (a switch's broadcast, multicast and unknown-unicast suppression), per tenant: a token bucket of
 * flood copies, refilled at `copiesPerSecond` up to `burstCopies`. The pipeline asks it before a flood is fanned out,
 * so a suppressed flood costs one clock read and no copy.
 *
 * Charged per copy, not per frame: every copy is one write into the shared Redis and one delivery in the switch's
 * commit, which is what a storm takes from the other tenants. Per frame, a tenant's VM count would set how much of
 * the shared switch its floods may take (the same broadcast costs 15 copies in a 16-VM tenant, 1 in a 2-VM one),
 * which is what the read scheduler's deficit round robin over tenants exists to prevent.
 *
 * A flood is admitted while the bucket holds anything and then charged in full, into debt if need be (as the program
 * CPU budget does): a tenant whose fan-out exceeds the burst still floods at its rate, and over time a tenant floods
 * `copiesPerSecond` copies whatever its fan-out. Buckets are made on a tenant's first flood; tenants are declared and
 * capped by the VLAN ids (4094), so the map stays bounded.
 */
export class StormControl {
  private readonly buckets = new Map<string, FloodBucket>();
  private readonly clock: MillisecondClock;
  private readonly copiesPerMs: number;

  constructor(private readonly options: StormControlOptions) {
    if (!(options.copiesPerSecond > 0) || !(options.burstCopies > 0)) {
      throw new RangeError('storm control needs a positive rate and burst');
    }
    this.clock = options.clock ?? (() => performance.now());
    this.copiesPerMs = options.copiesPerSecond / 1000;
  }

  /** Whether `tenant` may flood a frame to `copies` ports now; if so, the copies are taken from its bucket. */
  admit(tenant: string, copies: number): boolean {
    const now = this.clock();
    let bucket = this.buckets.get(tenant);
    if (bucket === undefined) this.buckets.set(tenant, (bucket = { tokens: this.options.burstCopies, last: now }));
    const elapsed = now - bucket.last;
    bucket.last = now;
    if (elapsed > 0) bucket.tokens = Math.min(this.options.burstCopies, bucket.tokens + elapsed * this.copiesPerMs);
    if (bucket.tokens <= 0) return false;
    bucket.tokens -= copies;
    return true;
  }
}
