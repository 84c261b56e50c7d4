import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TenantCpuBudget } from './tenant-cpu-budget';

/** A clock the test moves by hand, in ns. */
function manualClock(): { now: number; clock: () => number } {
  const state = { now: 0, clock: () => state.now };
  return state;
}

/** A budget with tenants at the given weights, each of whose buckets the test empties first. */
function emptied(weights: Record<string, number>, nsPerSecond = 1e9) {
  const time = manualClock();
  const budget = new TenantCpuBudget({ nsPerSecond, burstNs: 1_000_000, clock: time.clock });
  for (const [tenant, weight] of Object.entries(weights)) budget.setWeight(tenant, weight);
  for (const tenant of Object.keys(weights)) budget.charge(budget.bucketOf(tenant)!, 1_000_000, time.now);
  return { time, budget };
}

describe('TenantCpuBudget weights and tenants changing', () => {
  it('refuses a budget without a positive rate and burst, and weights that are not positive and finite', () => {
    assert.throws(() => new TenantCpuBudget({ nsPerSecond: 0, burstNs: 1 }), /needs a positive rate and burst/);
    assert.throws(() => new TenantCpuBudget({ nsPerSecond: 1, burstNs: 0 }), RangeError);
    assert.throws(() => new TenantCpuBudget({ nsPerSecond: Number.NaN, burstNs: 1 }), RangeError);
    const budget = new TenantCpuBudget({ nsPerSecond: 1e9, burstNs: 1 });
    for (const weight of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => budget.setWeight('t', weight), /weight of t must be positive/, String(weight));
    }
    assert.equal(budget.bucketOf('t'), undefined, 'a refused weight adds no tenant');
    assert.equal(budget.tokens('t'), 0);
  });

  it('hands out the configured rate, not one core, over all tenants', () => {
    const { time, budget } = emptied({ a: 1 }, 5e8);
    time.now += 40_000;
    assert.equal(budget.tokens('a'), 20_000, 'half a core: 20 µs of 40 µs');
  });

  it('earns at the old shares until a weight changes, and at the new ones after', () => {
    const { time, budget } = emptied({ a: 1, b: 1 });
    time.now += 40_000;
    budget.setWeight('a', 3);
    time.now += 40_000;
    // 40 µs at 1/2, then 40 µs at 3/4; b: 40 µs at 1/2, then at 1/4.
    assert.equal(budget.tokens('a'), 20_000 + 30_000);
    assert.equal(budget.tokens('b'), 20_000 + 10_000);
  });

  it("gives a removed tenant's share to those left, from the moment it leaves", () => {
    const { time, budget } = emptied({ a: 1, b: 1 });
    time.now += 40_000;
    budget.removeTenant('b');
    budget.removeTenant('nobody');
    time.now += 40_000;
    assert.equal(budget.tokens('a'), 20_000 + 40_000);
    assert.equal(budget.bucketOf('b'), undefined);
    assert.equal(budget.tokens('b'), 0);
  });

  it('takes nothing from a bucket when asked about a moment before its last refill', () => {
    const { time, budget } = emptied({ a: 1 });
    const a = budget.bucketOf('a')!;
    time.now = 100_000;
    assert.equal(budget.admit(a, time.now), true);
    assert.equal(budget.admit(a, 0), true, 'a frame stamped earlier is still admitted');
    assert.ok(budget.tokens('a') >= 100_000, 'the bucket kept what it had');
  });

  it('measures time in ns on the default clock', () => {
    const budget = new TenantCpuBudget({ nsPerSecond: 1e9, burstNs: 1e9 });
    budget.setWeight('a', 1);
    const a = budget.bucketOf('a')!;
    budget.charge(a, 1e9, budget.now());
    const start = performance.now();
    // Spin until 5 ms have passed on the wall clock (a deadline, not a sleep: the condition is the time itself).
    while (performance.now() - start < 5);
    const earned = budget.tokens('a');
    assert.ok(earned >= 4e6 && earned < 1e9, `5 ms alone on one core earns about 5e6 ns, not ${earned}`);
  });
});
