import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SecretTenants } from './secret-tenants';

describe('SecretTenants', () => {
  it("names the tenant of its current secret's hash, and nothing for a made-up one", () => {
    const secrets = new SecretTenants();
    secrets.set('tenant-a', 'hash-a');
    secrets.set('tenant-b', 'hash-b');
    assert.equal(secrets.tenantOf('hash-a'), 'tenant-a');
    assert.equal(secrets.tenantOf('hash-b'), 'tenant-b');
    assert.equal(secrets.tenantOf('made-up'), undefined);
  });

  it('forgets a replaced secret, and every secret of a deleted tenant', () => {
    const secrets = new SecretTenants();
    secrets.set('tenant-a', 'old');
    secrets.set('tenant-a', 'new');
    assert.equal(secrets.tenantOf('old'), undefined, 'the lab file declared a new secret: the old one names nobody');
    assert.equal(secrets.tenantOf('new'), 'tenant-a');
    secrets.remove('tenant-a');
    assert.equal(secrets.tenantOf('new'), undefined);
  });

  it("keeps the other tenant's entry when a removed tenant had shared its hash", () => {
    const secrets = new SecretTenants();
    secrets.set('tenant-a', 'same');
    secrets.set('tenant-b', 'same');
    secrets.remove('tenant-a');
    assert.equal(secrets.tenantOf('same'), 'tenant-b', "an administrator's reused hash now names tenant-b alone");
  });
});
