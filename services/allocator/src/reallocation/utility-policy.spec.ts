import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reallocateByUtility, type TenantUtilityReport } from './utility-policy';

/** The arithmetic in the cases below uses these: margin 1.25 and no miss-rate floor keep the numbers round. */
const options = {
  capacity: 4096,
  target: 0.9,
  minSlots: 16,
  maxGrowth: 4,
  maxShrink: 4,
  margin: 1.25,
  missRateFloor: 0,
};
const sum = (shares: Map<string, number>): number => [...shares.values()].reduce((a, b) => a + b, 0);

describe('reallocateByUtility', () => {
  it('moves slots from tenants well above the target to those below it, within the capacity', () => {
    const reports: TenantUtilityReport[] = [
      { tenant: 'starved', slots: 1024, utility: 0.7 },
      { tenant: 'comfortable', slots: 1024, utility: 0.995 },
      { tenant: 'just-right', slots: 1024, utility: 0.92 },
      { tenant: 'idle', slots: 1024, utility: 1 },
    ];
    const shares = reallocateByUtility(reports, options);
    assert.ok(shares.get('starved')! > 1024, `starved gets more: ${shares.get('starved')}`);
    assert.ok(shares.get('comfortable')! < 1024, `comfortable gives some back: ${shares.get('comfortable')}`);
    assert.ok(shares.get('idle')! >= 16 && shares.get('idle')! < 1024);
    assert.ok(sum(shares) <= options.capacity);
  });

  it('when not everyone fits, satisfies the cheapest first and splits the rest evenly', () => {
    const reports: TenantUtilityReport[] = [
      { tenant: 'small', slots: 100, utility: 0.8 }, // needs ~250
      { tenant: 'medium', slots: 500, utility: 0.8 }, // needs ~1250
      { tenant: 'huge-1', slots: 1000, utility: 0.5 }, // needs 4000 (the step bound)
      { tenant: 'huge-2', slots: 1000, utility: 0.5 },
    ];
    const shares = reallocateByUtility(reports, options);
    assert.equal(shares.get('small'), 250);
    assert.equal(shares.get('medium'), 1250);
    assert.equal(shares.get('huge-1'), shares.get('huge-2'), 'the unserved share evenly');
    assert.ok(sum(shares) <= options.capacity && sum(shares) > options.capacity - 4);
  });

  it('moves a share by at most maxGrowth / maxShrink a window, never below minSlots, refuses an impossible floor', () => {
    const reports: TenantUtilityReport[] = [
      { tenant: 'worst', slots: 64, utility: 0 }, // would need 800: bounded to 4 x 64
      { tenant: 'best', slots: 2048, utility: 1 }, // would need none: bounded to 2048 / 4
      { tenant: 'tiny', slots: 16, utility: 1 }, // would need none: kept at the floor
    ];
    const shares = reallocateByUtility(reports, { ...options, capacity: 256 + 512 + 16 });
    assert.deepEqual(Object.fromEntries(shares), { worst: 256, best: 512, tiny: 16 });
    assert.throws(
      () => reallocateByUtility([{ tenant: 'a', slots: 10, utility: 1 }], { ...options, capacity: 8 }),
      /need 16 slots at least; there are 8/,
    );
  });

  it('assumes at least the miss-rate floor, so a window without misses shrinks a share only slowly', () => {
    const shares = reallocateByUtility([{ tenant: 'perfect', slots: 1000, utility: 1 }], {
      ...options,
      capacity: 1000,
      maxShrink: 1.25,
      missRateFloor: 0.02,
      margin: 1.5,
    });
    // 1000 x 0.02 x 1.5 / 0.1 = 300 wanted, but at most 1.25x less a window: 800; all of the capacity fits it.
    assert.equal(shares.get('perfect'), 1000);
    const two = reallocateByUtility(
      [
        { tenant: 'perfect', slots: 1000, utility: 1 },
        { tenant: 'starved', slots: 1000, utility: 0.5 },
      ],
      { ...options, capacity: 2000, maxShrink: 1.25, missRateFloor: 0.02, margin: 1.5 },
    );
    assert.equal(two.get('perfect'), 800, 'shrunk by 1.25x, not to the 300 the estimate asked');
    assert.equal(two.get('starved'), 1200, 'the rest, split evenly among the unserved (here: one)');
  });
});
