import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExecutionContext } from '@nestjs/common';
import { DomainError } from '@tenantlab/shared';
import { TokenTenants } from '../fairness/token-tenants';
import { TenantCallBudget } from './tenant-call-budget';
import { TenantCallBudgetGuard } from './tenant-call-budget.guard';
import { sha256Hex } from './vm-secrets';

/** A call with this bearer token (or none), and the headers its response was given. */
function call(token: string | undefined): { context: ExecutionContext; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  const request = { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } };
  const response = { setHeader: (name: string, value: string) => (headers[name] = value) };
  const context = {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
  } as unknown as ExecutionContext;
  return { context, headers };
}

function setUp(): { guard: TenantCallBudgetGuard; budget: TenantCallBudget } {
  const budget = new TenantCallBudget({ perSecond: 1, burst: 1, inFlight: 4 }, () => 0);
  const tokens = new TokenTenants();
  tokens.remember(sha256Hex('vm-token-a'), 'tenant-a');
  tokens.remember(sha256Hex('vm-token-b'), 'tenant-b');
  return { guard: new TenantCallBudgetGuard(budget, tokens), budget };
}

describe('TenantCallBudgetGuard', () => {
  it("refuses a known token's call when its tenant is over budget, with Retry-After, before authentication", () => {
    const { guard, budget } = setUp();
    assert.equal(budget.take('tenant-a'), undefined, 'tenant-a spends its burst of 1');
    const over = call('vm-token-a');
    assert.throws(
      () => guard.canActivate(over.context),
      (error: unknown) =>
        error instanceof DomainError &&
        error.code === 'QUOTA_EXCEEDED' &&
        /tenant tenant-a is over its budget of calls.*TENANT_CONTROL_CALLS_PER_SECOND/.test(error.message),
    );
    assert.equal(over.headers['retry-after'], '1');
    assert.equal(guard.canActivate(call('vm-token-b').context), true, "tenant-b's budget is its own");
  });

  it('lets through a tenant within its budget taking nothing, and any token it does not know', () => {
    const { guard, budget } = setUp();
    assert.equal(guard.canActivate(call('vm-token-a').context), true);
    assert.equal(guard.canActivate(call('vm-token-a').context), true);
    assert.equal(budget.take('tenant-a'), undefined, 'the guard took nothing: the burst of 1 is still there');
    assert.equal(guard.canActivate(call('made-up-token').context), true, 'VmAuthGuard refuses it, not this');
    assert.equal(guard.canActivate(call(undefined).context), true);
  });
});
