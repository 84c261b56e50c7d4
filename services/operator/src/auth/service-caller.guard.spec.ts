import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExecutionContext } from '@nestjs/common';
import { DomainError } from '@tenantlab/shared';
import { ServiceCallerGuard } from './service-caller.guard';

const TELEMETRY = 't'.repeat(64);
const ADMIN = 'a'.repeat(64);

function callWith(authorization?: string): ExecutionContext {
  const request = { headers: authorization === undefined ? {} : { authorization } };
  return { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
}

function refusal(guard: ServiceCallerGuard, context: ExecutionContext): string {
  try {
    guard.canActivate(context);
  } catch (error) {
    assert.ok(error instanceof DomainError, String(error));
    return error.code;
  }
  return assert.fail('the guard let the call through');
}

describe("ServiceCallerGuard (the operator's routes for trusted services)", () => {
  const guard = new ServiceCallerGuard({
    CALLER_TOKENS: [
      { caller: 'telemetry', token: TELEMETRY },
      { caller: 'admin', token: ADMIN },
    ],
  });

  it("lets each caller's token through; 401 without a token, 403 with any other", () => {
    assert.equal(guard.canActivate(callWith(`Bearer ${TELEMETRY}`)), true);
    assert.equal(guard.canActivate(callWith(`Bearer ${ADMIN}`)), true);
    assert.equal(refusal(guard, callWith()), 'UNAUTHENTICATED');
    assert.equal(refusal(guard, callWith(`Bearer ${'b'.repeat(64)}`)), 'FORBIDDEN');
    assert.equal(refusal(guard, callWith(`Bearer ${TELEMETRY.slice(1)}`)), 'FORBIDDEN');
  });

  it('refuses every token when the operator has no CALLER_TOKENS', () => {
    const closed = new ServiceCallerGuard({ CALLER_TOKENS: undefined });
    assert.equal(refusal(closed, callWith(`Bearer ${TELEMETRY}`)), 'FORBIDDEN');
  });
});
