import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TenantCallBudget } from './tenant-call-budget';

describe('TenantCallBudget', () => {
  const limits = { perSecond: 10, burst: 5, inFlight: 3 };

  it('lets a tenant make its burst at once, then refuses until the rate has given it another call', () => {
    let now = 0;
    const budget = new TenantCallBudget(limits, () => now);
    for (let i = 0; i < 5; i++) {
      assert.equal(budget.take('tenant-a'), undefined, `call ${i}`);
      budget.done('tenant-a');
    }
    const refused = budget.take('tenant-a');
    assert.match(refused?.reason ?? '', /more than 10 calls a second \(5 at once after a quiet spell\)/);
    assert.equal(refused?.retryAfterSeconds, 1);
    now += 99;
    assert.notEqual(budget.take('tenant-a'), undefined, 'less than a call earned in 99 ms');
    now += 1;
    assert.equal(budget.take('tenant-a'), undefined, 'one call earned in 100 ms');
  });

  it('says whether a call would be refused without taking one', () => {
    const now = 0;
    const budget = new TenantCallBudget({ perSecond: 10, burst: 2, inFlight: 3 }, () => now);
    for (let i = 0; i < 5; i++) assert.equal(budget.refusalFor('tenant-a'), undefined, `asked ${i} times`);
    assert.equal(budget.take('tenant-a'), undefined);
    assert.equal(budget.take('tenant-a'), undefined, 'asking took nothing: the burst of 2 is all there');
    assert.match(budget.refusalFor('tenant-a')?.reason ?? '', /more than 10 calls a second/);
    assert.deepEqual(budget.refusalFor('tenant-a'), budget.take('tenant-a'), 'the same refusal take gives');
  });

  it('saves up at most the burst, however long the tenant was quiet', () => {
    let now = 0;
    const budget = new TenantCallBudget(limits, () => now);
    budget.take('tenant-a');
    budget.done('tenant-a');
    now += 3_600_000;
    let taken = 0;
    while (budget.take('tenant-a') === undefined) {
      budget.done('tenant-a');
      taken++;
    }
    assert.equal(taken, 5);
  });

  it('refuses a call past the in-flight cap until one being answered is done', () => {
    const budget = new TenantCallBudget(limits, () => 0);
    for (let i = 0; i < 3; i++) assert.equal(budget.take('tenant-a'), undefined);
    assert.match(budget.take('tenant-a')?.reason ?? '', /3 of its calls are being answered \(at most 3\)/);
    budget.done('tenant-a');
    assert.equal(budget.take('tenant-a'), undefined);
  });

  it("keeps each tenant's budget apart: one tenant spending all of its own leaves another's whole", () => {
    const budget = new TenantCallBudget(limits, () => 0);
    while (budget.take('tenant-a') === undefined) budget.done('tenant-a');
    for (let i = 0; i < 3; i++) assert.equal(budget.take('tenant-b'), undefined);
  });
});
