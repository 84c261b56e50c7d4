import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '@tenantlab/shared';
import { limitParam } from './request-params';

describe('limitParam (`?limit=` of the traces and events reads)', () => {
  it('is 100 unless given, and takes any whole number from 1 to 10000', () => {
    assert.equal(limitParam(undefined), 100);
    assert.equal(limitParam('1'), 1);
    assert.equal(limitParam('10000'), 10_000);
  });

  it('refuses 0, 10001, fractions and words with a 400 naming the range', () => {
    for (const bad of ['0', '10001', '2.5', 'ten', '-1']) {
      assert.throws(
        () => limitParam(bad),
        (error: unknown) => error instanceof ValidationError && /from 1 to 10000/.test(error.message),
        bad,
      );
    }
  });
});
