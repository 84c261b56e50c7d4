import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import type { ExecutionContext } from '@nestjs/common';
import { DomainError } from '@tenantlab/shared';
import { AdminTokenGuard } from './admin-token.guard';

const ADMIN_TOKEN = 'a'.repeat(64);

function callWith(authorization?: string): ExecutionContext {
  const request = { headers: authorization === undefined ? {} : { authorization } };
  return { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
}

function refusal(guard: AdminTokenGuard, context: ExecutionContext): DomainError {
  try {
    guard.canActivate(context);
  } catch (error) {
    assert.ok(error instanceof DomainError, String(error));
    return error;
  }
  return assert.fail('the admin API let the call through');
}

describe('AdminTokenGuard (the operator admin API)', () => {
  it('lets the admin token through; 401 without a token, 403 with another', () => {
    const guard = new AdminTokenGuard({ OPERATOR_ADMIN_TOKEN: ADMIN_TOKEN });
    assert.equal(guard.canActivate(callWith(`Bearer ${ADMIN_TOKEN}`)), true);
    assert.equal(refusal(guard, callWith()).code, 'UNAUTHENTICATED');
    assert.equal(refusal(guard, callWith(`Bearer ${'b'.repeat(64)}`)).code, 'FORBIDDEN');
  });

  it('refuses every call when the operator has no OPERATOR_ADMIN_TOKEN, naming it', () => {
    const guard = new AdminTokenGuard({ OPERATOR_ADMIN_TOKEN: undefined });
    for (const token of [ADMIN_TOKEN, 'anything', '']) {
      const error = refusal(guard, callWith(`Bearer ${token}`));
      assert.ok(['FORBIDDEN', 'UNAUTHENTICATED'].includes(error.code), error.code);
      if (token !== '') assert.match(error.message, /without OPERATOR_ADMIN_TOKEN/);
    }
  });

  it('compares the sha256 digests of the tokens in constant time', (t) => {
    const compare = t.mock.method(crypto, 'timingSafeEqual');
    const guard = new AdminTokenGuard({ OPERATOR_ADMIN_TOKEN: ADMIN_TOKEN });
    refusal(guard, callWith(`Bearer ${'c'.repeat(64)}`));
    assert.equal(compare.mock.callCount(), 1);
    assert.deepEqual(
      compare.mock.calls[0]?.arguments.map((digest) => (digest as Buffer).length),
      [32, 32],
    );
  });
});
