import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TenantCpuBudget } from './tenant-cpu-budget';

/** A fake clock the simulation advances by the work it does (one core: time passes as frames run). */
function fakeClock(): { now: number; clock: () => number } {
  const state = { now: 0, clock: () => state.now };
  return state;
}

describe('TenantCpuBudget', () => {
  it('refills at weight / sum(weights) of the rate, up to the burst', () => {
    const time = fakeClock();
    const budget = new TenantCpuBudget({ nsPerSecond: 1e9, burstNs: 50_000, clock: time.clock });
    budget.setWeight('a', 1);
    budget.setWeight('b', 3);
    const a = budget.bucketOf('a')!;
    assert.equal(budget.tokens('a'), 50_000, 'a new tenant starts with a full bucket');
    assert.ok(budget.admit(a, time.now));
    budget.charge(a, 50_000, time.now);
    assert.equal(budget.admit(a, time.now), false, 'the whole burst spent: nothing left for the next frame');
    time.now += 40_000;
    assert.equal(budget.tokens('a'), 10_000, 'a quarter of 40 µs');
    time.now += 10_000_000;
    assert.equal(budget.tokens('a'), 50_000, 'capped at the burst');
    budget.charge(a, 80_000, time.now);
    assert.equal(budget.admit(a, time.now), false, 'in debt after an expensive frame');
    time.now += 124_000; // a quarter of it pays the 30 µs debt and then some
    assert.equal(budget.admit(a, time.now), true);
    assert.equal(a.chargedNs, 130_000, 'every charge is counted as used, debt included');
    assert.equal(budget.bucketOf('nobody'), undefined, 'a tenant without a weight has no bucket: nothing admits it');
  });

  it("a greedy tenant's share converges to its weight while the others get theirs", () => {
    const time = fakeClock();
    const budget = new TenantCpuBudget({ nsPerSecond: 1e9, burstNs: 20_000, clock: time.clock });
    const weights = { greedy: 1, steady: 1, big: 2 };
    for (const [tenant, weight] of Object.entries(weights)) budget.setWeight(tenant, weight);
    // Everyone always has frames; the greedy tenant's cost 5 µs, others' 1 µs. One core runs whoever is admitted.
    const costs: Record<string, number> = { greedy: 5_000, steady: 1_000, big: 1_000 };
    const used: Record<string, number> = { greedy: 0, steady: 0, big: 0 };
    const tenants = Object.keys(weights);
    let turn = 0;
    while (time.now < 1e9) {
      let ran = false;
      for (let k = 0; k < tenants.length && !ran; k++) {
        const tenant = tenants[(turn + k) % tenants.length];
        const bucket = budget.bucketOf(tenant)!;
        if (!budget.admit(bucket, time.now)) continue;
        budget.charge(bucket, costs[tenant], time.now);
        used[tenant] += costs[tenant];
        time.now += costs[tenant];
        ran = true;
      }
      turn++;
      if (!ran) time.now += 1_000;
    }
    const total = used.greedy + used.steady + used.big;
    assert.ok(Math.abs(used.greedy / 1e9 - 0.25) < 0.01, `greedy ${used.greedy / 1e9}`);
    assert.ok(Math.abs(used.steady / 1e9 - 0.25) < 0.01, `steady ${used.steady / 1e9}`);
    assert.ok(Math.abs(used.big / 1e9 - 0.5) < 0.01, `big ${used.big / 1e9}`);
    assert.ok(total / 1e9 > 0.97, 'the core stays busy');
  });
});
