import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenTenants } from './token-tenants';

describe('TokenTenants', () => {
  it('names the tenant of a remembered token, and nothing for one forgotten or never seen', () => {
    const tokens = new TokenTenants();
    tokens.remember('hash-1', 'tenant-a');
    tokens.remember('hash-2', 'tenant-b');
    assert.equal(tokens.tenantOf('hash-1'), 'tenant-a');
    assert.equal(tokens.tenantOf('hash-2'), 'tenant-b');
    tokens.forget('hash-1');
    assert.equal(tokens.tenantOf('hash-1'), undefined);
    assert.equal(tokens.tenantOf('made-up'), undefined);
  });

  it('holds at most its capacity, forgetting the token used longest ago', () => {
    const tokens = new TokenTenants(2);
    tokens.remember('old', 'tenant-a');
    tokens.remember('middle', 'tenant-a');
    tokens.remember('old', 'tenant-a');
    tokens.remember('new', 'tenant-b');
    assert.equal(tokens.tenantOf('middle'), undefined, 'remembered again, "old" is newer than "middle"');
    assert.equal(tokens.tenantOf('old'), 'tenant-a');
    assert.equal(tokens.tenantOf('new'), 'tenant-b');
  });
});
