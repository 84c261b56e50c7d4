import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallsWaitingError, PartyAdmission, type Release } from './party-admission';

/** Lets every promise callback that is ready run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('PartyAdmission', () => {
  it('admits up to inFlight calls of a party at once, the next one when one of those is released', async () => {
    const admission = new PartyAdmission({ inFlight: 2, waiting: 8 });
    const admitted: string[] = [];
    const releases: Release[] = [];
    for (const call of ['a1', 'a2', 'a3', 'a4']) {
      void admission.admit('tenant a').then((release) => {
        admitted.push(call);
        releases.push(release);
      });
    }
    await settle();
    assert.deepEqual(admitted, ['a1', 'a2']);
    assert.deepEqual(admission.snapshot(), { 'tenant a': { running: 2, waiting: 2 } });
    releases[0]?.();
    await settle();
    assert.deepEqual(admitted, ['a1', 'a2', 'a3'], 'the first waiting call, in arrival order');
    releases[1]?.();
    releases[1]?.();
    await settle();
    assert.deepEqual(admitted, ['a1', 'a2', 'a3', 'a4'], 'a release given twice frees one place only');
    assert.deepEqual(admission.snapshot(), { 'tenant a': { running: 2, waiting: 0 } });
    for (const release of releases) release();
    assert.deepEqual(admission.snapshot(), {}, 'a party with nothing running or waiting is forgotten');
  });

  it("never makes one party's call wait for another's", async () => {
    const admission = new PartyAdmission({ inFlight: 1, waiting: 100 });
    for (let i = 0; i < 50; i++) void admission.admit('tenant flood');
    const release = await admission.admit('tenant quiet');
    assert.deepEqual(admission.snapshot()['tenant quiet'], { running: 1, waiting: 0 });
    assert.deepEqual(admission.snapshot()['tenant flood'], { running: 1, waiting: 49 });
    release();
  });

  it('refuses at once, retriable and naming the settings, a call past the waiting cap; the party goes on', async () => {
    const admission = new PartyAdmission({ inFlight: 1, waiting: 2 });
    const first = await admission.admit('tenant a');
    const waiting = [admission.admit('tenant a'), admission.admit('tenant a')];
    const refused = await admission.admit('tenant a').then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(refused instanceof CallsWaitingError);
    assert.equal(refused.code, 'QUOTA_EXCEEDED');
    assert.equal(refused.retriable, true);
    assert.match(refused.message, /tenant a has 1 calls being answered .* and 2 more waiting/);
    assert.match(refused.message, /TENANT_OPERATOR_CALLS_IN_FLIGHT, TENANT_OPERATOR_CALLS_WAITING/);
    first();
    (await waiting[0])();
    (await waiting[1])();
    assert.deepEqual(admission.snapshot(), {});
  });

  it('with no waiting allowed, admits inFlight calls and refuses the rest', async () => {
    const admission = new PartyAdmission({ inFlight: 1, waiting: 0 });
    const release = await admission.admit('address 127.0.0.1');
    await assert.rejects(admission.admit('address 127.0.0.1'), CallsWaitingError);
    release();
    (await admission.admit('address 127.0.0.1'))();
  });
});
