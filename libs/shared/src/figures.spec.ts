import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goalMet, nearestRank } from './figures';

describe('figures', () => {
  it('takes the nearest-rank quantile, whatever the order, and none of an empty list', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.equal(nearestRank(values, 0.05), 5);
    assert.equal(nearestRank(values, 0.5), 50);
    assert.equal(nearestRank(values, 0.99), 99);
    assert.equal(nearestRank(values, 1), 100);
    assert.equal(nearestRank([7], 0.05), 7);
    assert.equal(nearestRank([], 0.5), null);
  });

  it('meets a goal within its bounds, bounds included', () => {
    assert.equal(goalMet(1.1, { atMost: 1.1 }), true);
    assert.equal(goalMet(1.11, { atMost: 1.1 }), false);
    assert.equal(goalMet(0.5, { atLeast: 0.5, atMost: 1 }), true);
    assert.equal(goalMet(0.49, { atLeast: 0.5 }), false);
    assert.equal(goalMet(1.01, { atLeast: 0.5, atMost: 1 }), false);
  });
});
