import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FREEZE_TRIES, freezeWithRetries } from './lab-control';

const notFrozen = new Error(
  'Error response from daemon: Cannot pause container f3be: OCI runtime pause failed: unable to freeze: unknown',
);

describe('freezeWithRetries (docker pause in a scenario)', () => {
  it('tries again when the kernel did not freeze every task in time, and says which try froze it', async () => {
    let calls = 0;
    const tries = await freezeWithRetries(async () => {
      calls++;
      if (calls < 3) throw notFrozen;
    });
    assert.equal(tries, 3);
    assert.equal(calls, 3);
  });

  it(`gives up after ${FREEZE_TRIES} tries with the last refusal`, async () => {
    let calls = 0;
    await assert.rejects(
      freezeWithRetries(async () => {
        calls++;
        throw notFrozen;
      }),
      /unable to freeze/,
    );
    assert.equal(calls, FREEZE_TRIES);
  });

  it('throws any other refusal at once', async () => {
    let calls = 0;
    await assert.rejects(
      freezeWithRetries(async () => {
        calls++;
        throw new Error('Error response from daemon: Container f3be is not running');
      }),
      /is not running/,
    );
    assert.equal(calls, 1);
  });
});
