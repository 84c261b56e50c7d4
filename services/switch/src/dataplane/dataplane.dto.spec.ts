import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createValidationPipe, ValidationError } from '@tenantlab/shared';
import { CpuWeightDto, SamplingDto } from './dataplane.controller';

/** Runs a body through the same pipe as the HTTP API and returns the problems it names. */
async function problems(metatype: typeof CpuWeightDto | typeof SamplingDto, body: unknown): Promise<string[]> {
  try {
    await createValidationPipe().transform(body, { type: 'body', metatype });
    return [];
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    return error.details;
  }
}

describe("the switch's tenant controls name their rule in words", () => {
  it('refuses a CPU weight of 0, below 0, above 1000 or not a number with the range 0 < weight ≤ 1000', async () => {
    for (const weight of [0, -1, 1001, 'heavy', Number.MIN_VALUE / 2]) {
      const found = await problems(CpuWeightDto, { weight });
      assert.ok(found.length > 0, `weight ${String(weight)} refused`);
      for (const problem of found) {
        assert.equal(problem, 'weight: must be a number above 0 and at most 1000 (0 < weight ≤ 1000)');
      }
    }
    assert.deepEqual(await problems(CpuWeightDto, { weight: 0.001 }), []);
    assert.deepEqual(await problems(CpuWeightDto, { weight: 1000 }), []);
  });

  it('refuses a sampling rate outside 0..1 with the range', async () => {
    for (const rate of [-0.1, 1.5, 'all']) {
      const found = await problems(SamplingDto, { rate });
      assert.ok(found.length > 0, `rate ${String(rate)} refused`);
      for (const problem of found) assert.equal(problem, 'rate: must be a number from 0 to 1');
    }
    assert.deepEqual(await problems(SamplingDto, { rate: 0 }), []);
  });
});
