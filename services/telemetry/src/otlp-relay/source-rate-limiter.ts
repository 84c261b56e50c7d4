import type { VmIdentity } from './vm-sources';

export interface RateLimit {
  /** Sustained bytes per second one VM may send at most, however large its tenant's share. */
  bytesPerSecond: number;
  /** What a VM that was idle may send at once. At least the largest body the relay accepts. */
  burstBytes: number;
  /** What one request costs beside its body, so a flood of tiny exports is limited too. */
  requestCostBytes: number;
  /** VMs remembered at most, and tenants at most (memory bound). */
  maxSources: number;
  /** Sustained bytes per second the relay forwards for all VMs together (what Jaeger is given at most). */
  globalBytesPerSecond: number;
  /** What all VMs together may send at once after a quiet time. At least the largest body the relay accepts. */
  globalBurstBytes: number;
}

interface VmBucket {
  tenant: string;
  tokens: number;
  at: number;
  /** When the VM last asked to export (taken or refused): it counts as active for ACTIVE_WINDOW_MS after. */
  lastSeen: number;
}

/**
 * How far a tenant is ahead of an equal share of the global rate: what its VMs took, paid off at that share, and
 * held to RECENT_MS of it. A tenant may take the reserve only while it owes nothing.
 */
interface TenantMeter {
  debt: number;
  at: number;
  /** When one of its VMs last asked to export: the tenant counts among those sharing the reserve for RECENT_MS after. */
  lastSeen: number;
}

/** A VM that exported within this long shares its tenant's share; one quiet for longer leaves its part to others. */
export const ACTIVE_WINDOW_MS = 1000;
/**
 * How long a tenant is remembered among those the reserve is kept for after its last export (long enough that a VM
 * exporting every few seconds still counts), and how far back its excess over an equal share keeps it off the
 * reserve.
 */
export const RECENT_MS = 10_000;

/**
 * A token bucket per VM and one for all of them together (`globalBytesPerSecond`), so one tenant exporting flat out
 * cannot take the relay's or Jaeger's capacity from the other tenants, and many VMs each within their share cannot
 * together give Jaeger more than it takes beside the services' own spans.
 *
 * The global rate is shared fairly among tenants, not VMs: a VM's bucket refills at the global rate divided among the
 * tenants with a VM active in the last ACTIVE_WINDOW_MS (one that asked to export, taken or refused: a VM refused for
 * want of room still has its share kept for it), divided again among its own tenant's active VMs, and never above
 * `bytesPerSecond`. A tenant with sixteen VMs gets the share of a tenant with one. A VM sending more than its share
 * runs its bucket dry and is refused, while a VM under it still has tokens; a VM that goes quiet stops counting after
 * the window, and its part goes to its tenant's other VMs, or to the other tenants. The shares add up to the global
 * rate at most, so the global bucket only binds when bursts meet; it is the hard bound: over any time T the relay
 * forwards at most `globalBurstBytes + globalBytesPerSecond * T`.
 *
 * Where the global bucket binds, its last half (the reserve) is kept for tenants under an equal share of the global
 * rate: the global rate divided among the tenants seen in the last RECENT_MS. Each tenant has a meter of that share
 * (TenantMeter): what the tenant's VMs take is its debt, paid off at that share and held to RECENT_MS of it, and a
 * tenant may take the reserve only while it owes nothing. A tenant whose exports come no faster than its share has
 * paid each off by the next; one exporting faster stays in debt, and out of the reserve, until RECENT_MS at most after
 * it slows down. The debt is the tenant's, not the VM's, and a new or quiet tenant owes nothing, like one exporting
 * now and then: neither turning to another of its VMs, nor pausing, nor being new gets a tenant more of the reserve
 * than one export, then one per export paid off. So a tenant exporting now and then under its share is not refused
 * because one exporting flat out got to the global tokens first.
 *
 * Memory is bounded by `maxSources` VMs and as many tenants: a full bucket or a paid-off meter is the same as none, so
 * those go first; past that the fullest bucket and the smallest debt are forgotten (a drained bucket or a large debt
 * is never reset by eviction while a fuller or smaller one is held). Counting the active VMs and seen tenants is a
 * pass over at most `maxSources` of each per export (the lab's VMs: tens), cheap next to the export itself.
 */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, VmBucket>();
  private readonly meters = new Map<string, TenantMeter>();
  private readonly global: { tokens: number; at: number };

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.global = { tokens: limit.globalBurstBytes, at: this.now() };
  }

  /**
   * Takes the cost of a `bodyBytes` export from `source`'s bucket: 0 if allowed, else the seconds to wait. `source`
   * is the VM as the relay knows it (by its address) with the tenant the lab gave it, never what the export claims.
   */
  take(source: VmIdentity, bodyBytes: number): number {
    const now = this.now();
    const share = this.shareOf(source, now);
    const bucket = this.refill(source, now, share);
    this.buckets.set(source.vm, bucket);
    bucket.lastSeen = now;
    const equalShare = this.equalShare(source.tenant, now);
    const meter = this.meter(source.tenant, now, equalShare);
    this.meters.set(source.tenant, meter);
    meter.lastSeen = now;
    const global = this.global;
    global.tokens = Math.min(
      this.limit.globalBurstBytes,
      global.tokens + ((now - global.at) / 1000) * this.limit.globalBytesPerSecond,
    );
    global.at = now;
    const cost = bodyBytes + this.limit.requestCostBytes;
    // A tenant over its equal share leaves the reserve to the others.
    const floor = meter.debt === 0 ? 0 : this.limit.globalBurstBytes / 2;
    if (bucket.tokens >= cost && global.tokens - cost >= floor) {
      bucket.tokens -= cost;
      meter.debt = Math.min(meter.debt + cost, (equalShare * RECENT_MS) / 1000);
      global.tokens -= cost;
      return 0;
    }
    const ownWait = (cost - bucket.tokens) / share;
    const globalWait = (cost + floor - global.tokens) / this.limit.globalBytesPerSecond;
    return Math.max(1, Math.ceil(Math.max(ownWait, globalWait)));
  }

  /** VMs remembered. */
  get size(): number {
    return this.buckets.size;
  }

  /** Tenants remembered. */
  get tenants(): number {
    return this.meters.size;
  }

  /**
   * `source`'s share now, in bytes per second: the global rate divided among the active tenants and again among its
   * tenant's active VMs (it counts as active, exporting now), at most its own rate.
   */
  private shareOf(source: VmIdentity, now: number): number {
    const tenants = new Set([source.tenant]);
    let ownVms = 1;
    for (const [vm, bucket] of this.buckets) {
      if (vm === source.vm || now - bucket.lastSeen >= ACTIVE_WINDOW_MS) continue;
      tenants.add(bucket.tenant);
      if (bucket.tenant === source.tenant) ownVms += 1;
    }
    return Math.min(this.limit.bytesPerSecond, this.limit.globalBytesPerSecond / tenants.size / ownVms);
  }

  /** An equal share of the global rate among the tenants seen in RECENT_MS, `tenant` among them. */
  private equalShare(tenant: string, now: number): number {
    let seen = 1;
    for (const [other, { lastSeen }] of this.meters) if (other !== tenant && now - lastSeen < RECENT_MS) seen += 1;
    return this.limit.globalBytesPerSecond / seen;
  }

  private meter(tenant: string, now: number, equalShare: number): TenantMeter {
    const meter = this.meters.get(tenant);
    if (meter) {
      meter.debt = Math.max(0, meter.debt - ((now - meter.at) / 1000) * equalShare);
      meter.at = now;
      return meter;
    }
    if (this.meters.size >= this.limit.maxSources) this.evictMeter(now);
    return { debt: 0, at: now, lastSeen: now };
  }

  private refill(source: VmIdentity, now: number, share: number): VmBucket {
    const bucket = this.buckets.get(source.vm);
    if (bucket) {
      bucket.tokens = Math.min(this.limit.burstBytes, bucket.tokens + ((now - bucket.at) / 1000) * share);
      bucket.at = now;
      return bucket;
    }
    if (this.buckets.size >= this.limit.maxSources) this.evict(now);
    return { tenant: source.tenant, tokens: this.limit.burstBytes, at: now, lastSeen: now };
  }

  private evict(now: number): void {
    let fullest: string | undefined;
    let most = Number.NEGATIVE_INFINITY;
    for (const [vm, bucket] of this.buckets) {
      const tokens = bucket.tokens + ((now - bucket.at) / 1000) * this.limit.bytesPerSecond;
      if (tokens >= this.limit.burstBytes) this.buckets.delete(vm);
      else if (tokens > most) [fullest, most] = [vm, tokens];
    }
    // None idle: forget the one nearest to full, which a fresh bucket wrongs the least.
    if (this.buckets.size >= this.limit.maxSources && fullest !== undefined) this.buckets.delete(fullest);
  }

  /** As `evict`, for meters: one surely paid off (the same as none) goes first, else the one owing least. */
  private evictMeter(now: number): void {
    // Paid off at the least an equal share can be: the global rate among `maxSources` tenants.
    const payoff = this.limit.globalBytesPerSecond / this.limit.maxSources;
    let least: string | undefined;
    let fewest = Number.POSITIVE_INFINITY;
    for (const [tenant, meter] of this.meters) {
      const debt = meter.debt - ((now - meter.at) / 1000) * payoff;
      if (debt <= 0) this.meters.delete(tenant);
      else if (debt < fewest) [least, fewest] = [tenant, debt];
    }
    if (this.meters.size >= this.limit.maxSources && least !== undefined) this.meters.delete(least);
  }
}
