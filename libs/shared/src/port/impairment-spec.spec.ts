import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../errors';
import { parseImpairmentSpec } from './impairment-spec';

describe('parseImpairmentSpec', () => {
  it('takes every field, each optional, and answers only the given ones', () => {
    const spec = { delayMs: 5, jitterMs: 1, lossRate: 0.01, reorderRate: 0.1, rateFramesPerSecond: 1000, seed: 4 };
    assert.deepEqual(parseImpairmentSpec(spec), spec);
    assert.deepEqual(parseImpairmentSpec({}), {});
    assert.deepEqual(parseImpairmentSpec({ lossRate: 1 }), { lossRate: 1 });
  });

  it('refuses out-of-range values and unknown fields, naming each as path.field', () => {
    const problems = (value: unknown): string[] => {
      try {
        parseImpairmentSpec(value, 'timeline[2].impairment');
      } catch (error) {
        assert.ok(error instanceof ValidationError);
        return error.details;
      }
      return [];
    };
    assert.match(
      problems({ lossRate: 1.5 }).join(),
      /timeline\[2\]\.impairment\.lossRate: must be a number from 0 to 1/,
    );
    assert.match(problems({ delayMs: 10_001 }).join(), /delayMs: must be a number of milliseconds from 0 to 10000/);
    assert.match(problems({ jitterMs: -1 }).join(), /jitterMs/);
    assert.match(problems({ rateFramesPerSecond: 0 }).join(), /rateFramesPerSecond: must be a number of frames/);
    assert.match(problems({ seed: 1.5 }).join(), /seed: must be an integer/);
    assert.match(problems({ delay: 5 }).join(), /delay: property delay should not exist/);
    assert.match(problems({ lossRate: '0.1' }).join(), /lossRate/);
    assert.match(problems([]).join(), /expected an object/);
  });
});
