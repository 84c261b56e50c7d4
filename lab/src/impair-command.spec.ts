import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { impairmentFromFlags } from './impair-command';

describe('lab impair', () => {
  it('turns its flags into the API spec, checked by the same rules', () => {
    assert.deepEqual(impairmentFromFlags({ delay: '5', loss: '0.01', seed: '3' }), {
      delayMs: 5,
      lossRate: 0.01,
      seed: 3,
    });
    assert.deepEqual(impairmentFromFlags({ jitter: '1', reorder: '0.1', rate: '1000' }), {
      jitterMs: 1,
      reorderRate: 0.1,
      rateFramesPerSecond: 1000,
    });
    assert.throws(() => impairmentFromFlags({ delay: 'soon' }), /--delay must be a number/);
    assert.throws(() => impairmentFromFlags({ loss: '2' }), /impair\.lossRate: must be a number from 0 to 1/);
  });
});
