import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { controlTokenSha256, DomainError, OpenRoute, vmControlToken, vmControlUrl } from '@tenantlab/shared';
import { VmControlGuard } from './vm-control.guard';

class Routes {
  control(this: void): void {}
  @OpenRoute()
  health(this: void): void {}
}

/** A call of `handler` with this Authorization header. */
function call(authorization: string | undefined, handler: keyof Routes = 'control'): ExecutionContext {
  return {
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => ({ headers: authorization === undefined ? {} : { authorization } }) }),
  } as unknown as ExecutionContext;
}

/** The Authorization header node:http sends for a URL with user info. */
function basicOf(url: string): string {
  const { username, password } = new URL(url);
  return `Basic ${Buffer.from(`${decodeURIComponent(username)}:${decodeURIComponent(password)}`).toString('base64')}`;
}

const refusal = (guard: VmControlGuard, context: ExecutionContext): string => {
  try {
    guard.canActivate(context);
  } catch (error) {
    assert.ok(error instanceof DomainError);
    return error.code;
  }
  return 'allowed';
};

describe('VmControlGuard', () => {
  const key = 'k'.repeat(64);
  const own = vmControlToken(key, 'vm-b1');
  const guard = new VmControlGuard(new Reflector(), { vm: 'vm-b1', tokenSha256: controlTokenSha256(own) });

  it("lets through the VM's own control token, as bearer or as the control URL's basic auth", () => {
    assert.equal(refusal(guard, call(`Bearer ${own}`)), 'allowed');
    assert.equal(refusal(guard, call(basicOf(vmControlUrl('http://127.0.0.1:3101', own)))), 'allowed');
  });

  it('tells a caller without a token where the lab keeps it', () => {
    assert.throws(() => guard.canActivate(call(undefined)), /\.lab\/<profile>\/vm-control-token-vm-b1/);
  });

  it("refuses no token (401), another VM's token or a wrong user (403), and a VM started without a hash (403)", () => {
    assert.equal(refusal(guard, call(undefined)), 'UNAUTHENTICATED');
    assert.equal(refusal(guard, call(`Bearer ${vmControlToken(key, 'vm-a1')}`)), 'FORBIDDEN');
    assert.equal(refusal(guard, call(`Bearer ${vmControlToken('x'.repeat(64), 'vm-b1')}`)), 'FORBIDDEN');
    assert.equal(refusal(guard, call(`Basic ${Buffer.from(`admin:${own}`).toString('base64')}`)), 'UNAUTHENTICATED');
    // Garbage (not base64, a bad percent-escape, no colon) is a refusal, never a 500.
    for (const garbage of [
      'Basic %%%',
      `Basic ${Buffer.from('lab:%E0%A4%A').toString('base64')}`,
      'Basic bGFi',
      'Digest x',
    ]) {
      assert.match(refusal(guard, call(garbage)), /^(UNAUTHENTICATED|FORBIDDEN)$/, garbage);
    }
    const unset = new VmControlGuard(new Reflector(), { vm: 'vm-b1', tokenSha256: undefined });
    assert.equal(refusal(unset, call(`Bearer ${own}`)), 'FORBIDDEN');
  });

  it('lets an open route (health, ready, metrics) through without a token', () => {
    assert.equal(refusal(guard, call(undefined, 'health')), 'allowed');
  });
});
