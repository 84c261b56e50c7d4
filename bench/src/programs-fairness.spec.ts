import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jainIndex, maxMinFairShares } from './programs-fairness';

describe('max-min fair shares', () => {
  it('gives everyone the weighted share when all ask for more', () => {
    assert.deepEqual(maxMinFairShares([100, 50, 40], [1, 1, 2], 40), [10, 10, 20]);
  });

  it('gives a tenant that asks for less its demand and shares what it leaves among the rest', () => {
    // Level 10 per tenant: tenant 1 wants 2, so 28 is left for the other two (14 each); tenant 2 wants 13 of it,
    // and tenant 0 gets the remaining 15.
    assert.deepEqual(maxMinFairShares([100, 2, 13], [1, 1, 1], 30), [15, 2, 13]);
    assert.deepEqual(maxMinFairShares([100, 2, 15], [1, 1, 1], 30), [14, 2, 14]);
    // Everyone satisfied: the shares are the demands, the rest of the capacity unused.
    assert.deepEqual(maxMinFairShares([1, 2, 3], [1, 1, 1], 30), [1, 2, 3]);
  });
});

describe("Jain's index", () => {
  it('is 1 for equal values and 1/n when one value has everything', () => {
    assert.equal(jainIndex([0.9, 0.9, 0.9, 0.9]), 1);
    assert.equal(jainIndex([4, 0, 0, 0]), 0.25);
    assert.ok(Math.abs(jainIndex([10, 2, 2, 2]) - 256 / (4 * 112)) < 1e-12);
  });
});
