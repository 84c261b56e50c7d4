import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_UTILITY_POLICY, reallocateByUtility } from './utility-policy';

/** Margin 1.25 and target 0.9: a tenant at utility 0.92 on s slots needs s x 0.08 x 12.5 = s slots. */
const options = {
  target: 0.9,
  minSlots: 16,
  maxGrowth: 4,
  maxShrink: 4,
  margin: 1.25,
  missRateFloor: 0,
};
const steady = (tenant: string, slots: number) => ({ tenant, slots, utility: 0.92 });

describe('reallocateByUtility when slots are scarce', () => {
  it('serves the cheapest tenants first whatever order the reports come in', () => {
    // Left over the floors: 1100 - 3 x 16 = 1052. The expensive tenant alone (extra 984) would fit, but serving
    // it first would leave the two cheap ones (extra 84 each) unserved.
    const reports = [steady('expensive', 1000), steady('cheap-1', 100), steady('cheap-2', 100)];
    const shares = reallocateByUtility(reports, { ...options, capacity: 1100 });
    assert.deepEqual(Object.fromEntries(shares), { 'cheap-1': 100, 'cheap-2': 100, expensive: 16 + 1052 - 168 });
  });

  it('serves a tenant whose extra slots are exactly what is left', () => {
    const reports = [steady('cheap', 100), steady('expensive', 1000)];
    const shares = reallocateByUtility(reports, { ...options, capacity: 2 * 16 + 84 });
    assert.deepEqual(Object.fromEntries(shares), { cheap: 100, expensive: 16 });
  });

  it('accepts a capacity of exactly the floors, giving everyone the floor', () => {
    const shares = reallocateByUtility([steady('a', 100), steady('b', 100)], { ...options, capacity: 32 });
    assert.deepEqual(Object.fromEntries(shares), { a: 16, b: 16 });
  });

  it('by default grows a starved share at most 4x and shrinks an idle one at most 1.25x a window', () => {
    const shares = reallocateByUtility(
      [
        { tenant: 'idle', slots: 1000, utility: 1 },
        { tenant: 'starved', slots: 1000, utility: 0.5 },
      ],
      { ...DEFAULT_UTILITY_POLICY, capacity: 4800 },
    );
    assert.deepEqual(Object.fromEntries(shares), { idle: 800, starved: 4000 });
  });
});
