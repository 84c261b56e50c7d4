import { SATISFIED_UTILITY } from '@tenantlab/shared';

/** One tenant as the run-time allocator sees it after a window: what it held, and the utility that gave. */
export interface TenantUtilityReport {
  readonly tenant: string;
  /** Slots (entries of the register being traded) the tenant held during the window. */
  readonly slots: number;
  /** Its utility over the window, 0 to 1 (for a flow table: the memory hit ratio). */
  readonly utility: number;
}

export interface UtilityPolicyOptions {
  /** Slots there are to hand out, over all tenants. */
  readonly capacity: number;
  /** A tenant is satisfied in a window when its utility is above this (seed 004: 0.9). */
  readonly target: number;
  /** Nobody gets fewer slots than this, however little it seems to need. */
  readonly minSlots: number;
  /** At most this many times the slots it had, in one window: one bad window cannot take everything. */
  readonly maxGrowth: number;
  /** At least its slots divided by this: shares shrink slowly, since traffic that fell may come back. */
  readonly maxShrink: number;
  /** Slots above the estimate, since next window's traffic is not this one's. */
  readonly margin: number;
  /**
   * The least miss rate an estimate assumes: a window with no misses says the table was big enough, not how much
   * smaller it could be (the few misses of a small tenant are mostly noise).
   */
  readonly missRateFloor: number;
}

export const DEFAULT_UTILITY_POLICY: Omit<UtilityPolicyOptions, 'capacity'> = {
  target: SATISFIED_UTILITY,
  minSlots: 16,
  maxGrowth: 4,
  maxShrink: 1.25,
  margin: 1.5,
  missRateFloor: 0.02,
};

/**
 * Seed 004's run-time reallocation: from each tenant's utility in the last window, the slots it gets for the next,
 * so that as many tenants as possible stay satisfied (utility above the target) within the capacity.
 *
 * Estimate: a one-way table's misses grow with how full it is, so the miss rate scales about as 1 / slots; a tenant
 * with miss rate m on s slots needs about s * m / (1 - target) to get down to the target (times a margin; growing at
 * most `maxGrowth` times and shrinking at most `maxShrink` times a window, so one odd window cannot swing it far). Then, if everything fits, every tenant gets its
 * estimate and the spare slots are shared in proportion; if not, tenants are served cheapest first (that satisfies
 * the most of them), and those left over share what remains evenly. Everyone keeps at least `minSlots`.
 */
export function reallocateByUtility(
  reports: readonly TenantUtilityReport[],
  options: UtilityPolicyOptions,
): Map<string, number> {
  const { capacity, target, minSlots, maxGrowth, maxShrink, margin, missRateFloor } = options;
  if (reports.length * minSlots > capacity) {
    throw new RangeError(
      `${reports.length} tenants need ${reports.length * minSlots} slots at least; there are ${capacity}`,
    );
  }
  const needs = reports.map(({ tenant, slots, utility }) => {
    const missRate = Math.min(1, Math.max(missRateFloor, 1 - utility));
    const estimate = (slots * missRate * margin) / (1 - target);
    const bounded = Math.min(slots * maxGrowth, Math.max(slots / maxShrink, estimate));
    // The epsilon keeps float noise (250.00000000000003) from costing a whole slot.
    return { tenant, need: Math.max(minSlots, Math.ceil(bounded - 1e-9)) };
  });
  const total = needs.reduce((sum, n) => sum + n.need, 0);
  const shares = new Map<string, number>();
  // Stryker disable next-line EqualityOperator: at total = capacity both branches give every tenant its need exactly
  if (total <= capacity) {
    // Everything fits: the spare goes out in proportion, so the next window has headroom where traffic grows.
    for (const { tenant, need } of needs) shares.set(tenant, Math.floor((need * capacity) / total));
    return shares;
  }
  let left = capacity - reports.length * minSlots;
  const byCost = [...needs].sort((a, b) => a.need - b.need);
  const unserved: string[] = [];
  for (const { tenant, need } of byCost) {
    const extra = need - minSlots;
    if (extra <= left) {
      shares.set(tenant, need);
      left -= extra;
    } else unserved.push(tenant);
  }
  // Stryker disable next-line ConditionalExpression: with nobody unserved, `each` is never used
  const each = unserved.length === 0 ? 0 : Math.floor(left / unserved.length);
  for (const tenant of unserved) shares.set(tenant, minSlots + each);
  return shares;
}
